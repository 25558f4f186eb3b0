/* Internals shared by the files of hal/dtls. */
#ifndef DTLS_INTERNAL_H
#define DTLS_INTERNAL_H

#include "dtls.h"
#include "dtls_pool.h"

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

#if !defined(BOARD_DTLS_SESSIONS) || !defined(BOARD_LINK_MTU)
#include "board_config.h"
#endif

#define DTLS_SESSIONS BOARD_DTLS_SESSIONS

/* RAM each session's mbedTLS pool gets (board.json hal.dtls.sessionBytes). */
#ifdef BOARD_DTLS_SESSION_BYTES
#define DTLS_POOL_BYTES BOARD_DTLS_SESSION_BYTES
#else
#define DTLS_POOL_BYTES 57344
#endif

#define DTLS_RX_BYTES BOARD_LINK_MTU
#define DTLS_PART_BYTES 2048   /* largest certificate or identity we accept */
#define DTLS_SECRET_BYTES 512  /* largest PSK or private key (EC P-256 PKCS#8 is 138 bytes) */
#define DTLS_RESUME_BYTES 1024 /* one serialized session, peer certificate included */
#define DTLS_MAX_SUITES 8

typedef struct {
    int state; /* DTLS_STATE_* */
    int link;
    int credential;
    int usage; /* DTLS_USAGE_*, certificate mode only */
    int suites[DTLS_MAX_SUITES + 1];
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt anchor; /* part 2: pinned certificate or trust anchor */
    mbedtls_x509_crt own_cert;
    mbedtls_pk_context own_key;
    int64_t timer_int; /* absolute ms; -1 when mbedTLS cancelled its timer */
    int64_t timer_fin;
    int64_t give_up; /* absolute ms: the handshake fails with HAL_ETIMEDOUT then */
    uint8_t offered_id[32]; /* session id offered for resumption */
    size_t offered_id_len;
    uint8_t fingerprint[32];
    int resumed;
    uint32_t hs_sent, hs_received, sent, received;
    uint32_t hs_peak;
    uint8_t rx[DTLS_RX_BYTES]; /* one decrypted datagram waiting for hal_link_recv */
    int rx_len;
    int pending_kind[2]; /* events the full ring refused, posted from dtls_on_timer */
    int32_t pending_arg[2];
    int pending;
    dtls_pool pool;
} dtls_session;

/* dtls_setup.c: mbedTLS contexts of a session from its credential. */
int dtls_setup(dtls_session *s, mbedtls_ctr_drbg_context *drbg, const int *suites);
void dtls_teardown(dtls_session *s);

/* dtls_alert.c: alert code (>= 0) or negative HAL_E* for an mbedTLS error. */
int dtls_alert_of(int mbedtls_error, const mbedtls_ssl_context *ssl);

/* dtls_resume.c: sessions kept for resumption, keyed by credential and its fingerprint. */
void dtls_resume_offer(dtls_session *s);
void dtls_resume_save(dtls_session *s);
void dtls_resume_drop(int credential);

/* Scratch for credential parts, wiped after each use (one user at a time: no threads). */
extern uint8_t dtls_scratch[DTLS_PART_BYTES];

#endif
