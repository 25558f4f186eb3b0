/* DTLS 1.2 client offload (hal_dtls.h) on mbedTLS 2.28: the board-neutral session logic.
 * Not part of the JS boundary. A session is bound to a link handle; once it is connected,
 * hal_link_send/hal_link_recv on that link carry plaintext through it.
 *
 * What a board does to host it (boards/host is the reference):
 *   1. Provide dtls_board_send/dtls_board_recv below: raw datagram I/O on the link.
 *   2. In hal_link_send/hal_link_recv/hal_link_close: when dtls_link_active(link), call
 *      dtls_link_send/dtls_link_recv/hal_dtls_close instead of the raw path.
 *   3. When a DTLS link's socket is readable, call dtls_on_readable(link) instead of
 *      announcing HAL_EV_LINK_RX; it returns 1 while decrypted data waits for hal_link_recv
 *      (do not poll that link meanwhile).
 *   4. In board_wait: sleep at most dtls_next_timeout_ms(), and call dtls_on_timer() after
 *      every wake-up (retransmissions and handshake give-up happen there). */
#ifndef DTLS_H
#define DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "hal_codes.h"
#include "hal_dtls.h"

/* ---- provided by the board ---- */

/* Sends one datagram on the link beneath the session: bytes sent or a negative HAL_E*. */
int dtls_board_send(int link, const uint8_t *data, size_t len);
/* Takes the next datagram: its length, 0 when none is pending, or a negative HAL_E*. */
int dtls_board_recv(int link, uint8_t *out, size_t cap);

/* ---- hooks the board calls ---- */

int dtls_link_active(int link);
int dtls_link_send(int link, const uint8_t *data, size_t len);
int dtls_link_recv(int link, uint8_t *out, size_t cap);
int dtls_on_readable(int link);
/* Milliseconds until dtls_on_timer has work to do, -1 when no timer runs. */
int64_t dtls_next_timeout_ms(void);
void dtls_on_timer(void);

/* ---- security modes (Security /0/x/2) and certificate usage (/0/x/15) ---- */

#define DTLS_MODE_PSK 0
#define DTLS_MODE_RPK 1
#define DTLS_MODE_CERT 2
#define DTLS_MODE_NOSEC 3

#define DTLS_USAGE_CA_CONSTRAINT 0
#define DTLS_USAGE_SERVICE_CERT 1
#define DTLS_USAGE_TRUST_ANCHOR 2
#define DTLS_USAGE_DOMAIN_ISSUED 3

/* TLS alert descriptions reported in HAL_EV_DTLS_ALERT (the LwM2M layer puts them in /1/x/11). */
#define DTLS_ALERT_CLOSE_NOTIFY 0
#define DTLS_ALERT_BAD_RECORD_MAC 20
#define DTLS_ALERT_HANDSHAKE_FAILURE 40
#define DTLS_ALERT_BAD_CERTIFICATE 42
#define DTLS_ALERT_CERTIFICATE_EXPIRED 45
#define DTLS_ALERT_DECRYPT_ERROR 51
#define DTLS_ALERT_INTERNAL_ERROR 80

/* Handshake retransmission: first timeout and the cap of the doubling. 3 s, 6, 12, 24, 48:
 * the client gives up 93 s after its first ClientHello, the same envelope as a confirmable
 * CoAP exchange (ACK_TIMEOUT 2 s x RANDOM_FACTOR 1.5, 4 retransmissions, MAX_TRANSMIT_WAIT
 * 93 s), so the LwM2M retry logic above sees one failure per attempt on a slow radio link. */
#ifndef DTLS_HS_TIMEOUT_MIN_MS
#define DTLS_HS_TIMEOUT_MIN_MS 3000
#endif
#ifndef DTLS_HS_TIMEOUT_MAX_MS
#define DTLS_HS_TIMEOUT_MAX_MS 48000
#endif
/* A peer that keeps retransmitting its own flight (OpenSSL does, when it silently drops a
 * Finished it cannot decrypt) re-arms mbedTLS's timer; this caps the whole handshake. */
#ifndef DTLS_HS_GIVE_UP_MS
#define DTLS_HS_GIVE_UP_MS 93000
#endif

/* ---- diagnostics and tests ---- */

typedef struct {
    int state;              /* DTLS_STATE_* */
    int credential;
    int suite;              /* IANA id of the negotiated suite, 0 before */
    const char *suite_name; /* mbedTLS name, "" before */
    int resumed;            /* 1 when the handshake was abbreviated */
    uint32_t hs_sent;       /* handshake bytes on air (UDP payload), retransmissions included */
    uint32_t hs_received;
    uint32_t sent;          /* all bytes on air since hal_dtls_open */
    uint32_t received;
    uint32_t pool_peak;     /* peak bytes of the session's mbedTLS pool */
    uint32_t pool_size;
} dtls_info;

#define DTLS_STATE_NONE 0
#define DTLS_STATE_HANDSHAKE 1
#define DTLS_STATE_OPEN 2
#define DTLS_STATE_FAILED 3

/* HAL_OK and *out filled, HAL_ENOENT when the link has no session. */
int dtls_get_info(int link, dtls_info *out);

/* Bytes held in all session pools now (0 when every session is closed: no leak). */
uint32_t dtls_ram_in_use(void);

/* Restricts the suites offered (IANA ids, 0-terminated, copied; NULL restores the default
 * list). Tests use it to force one suite; it applies to the next hal_dtls_open. */
int dtls_set_suites(const int *suites);

/* Forgets the saved session of a credential (or of all with 0): call after its records
 * change. Resumption also checks a fingerprint of the credential, so this is hygiene. */
void dtls_forget_session(int credential);

#endif
