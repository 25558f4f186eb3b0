/* DTLS test client: the session code of hal/dtls over one UDP socket, with its credential
 * written into the real store engine exactly as the firmware would (records 0x8000|h<<4|part).
 * It runs the handshake like the host board's loop (poll, dtls_on_readable, dtls_on_timer,
 * events from the ring), then one exchange: a CoAP GET or a line of text. Prints the suite,
 * the handshake bytes on air and the pool peak; never prints key material.
 *
 *   test_dtls_client --port P [--host 127.0.0.1] --mode psk|cert
 *     [--identity TEXT] [--psk-ascii TEXT | --psk-hex HEX]
 *     [--server-cert DER] [--own-cert DER --own-key DER] [--usage N]
 *     [--suite psk-ccm8|psk-cbc|ecdsa-ccm8|ecdsa-cbc]
 *     [--coap-get PATH | --send TEXT [--expect-reply TEXT]]
 *     [--expect connect|alert] [--again]   (--again: close, reconnect, report resumption)
 * Exit 0 when the expectation holds.
 *
 * Built with -DTEST_VIA_HOST_LINK it goes through the host board's own link driver instead
 * (boards/host/host_link.c with its DTLS hooks, and boards/host/dtls_host.c): hal_link_open,
 * hal_link_send/recv and host_link_poll_fds/host_link_on_poll, as the firmware would. */
#define _GNU_SOURCE 1
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "dtls.h"
#include "event_ring.h"
#include "hal_store.h"
#include "hal_timer.h"
#include "mbedtls/ssl_ciphersuites.h"
#include "test_dtls_support.h"


#define CRED 1
#define MAX_FILE 4096
#define RUN_LIMIT_MS 200000 /* a hang guard above the 93 s handshake give-up */

typedef struct {
    const char *host, *mode, *identity, *psk_ascii, *psk_hex;
    const char *server_cert, *own_cert, *own_key, *suite;
    const char *coap_get, *send, *expect_reply, *expect;
    int port, usage, again;
} options;

static options opt;

/* ---------------------------------------------------------------- the link */
#ifdef TEST_VIA_HOST_LINK
#include "board_config.h"
#include "hal_link.h"
#include "host.h"

static int link_handle;

static int link_open(void)
{
    if (link_handle > 0) (void) hal_link_close(link_handle);
    link_handle = hal_link_open(opt.host, opt.port);
    return link_handle;
}

static void link_poll(int timeout_ms)
{
    struct pollfd fds[BOARD_LINK_HANDLES];
    int n = host_link_poll_fds(fds, BOARD_LINK_HANDLES);
    if (poll(fds, (nfds_t) n, timeout_ms) > 0) host_link_on_poll(fds, n);
}

static int link_send(const uint8_t *data, size_t len) { return hal_link_send(link_handle, data, len); }
static int link_recv(uint8_t *out, size_t cap) { return hal_link_recv(link_handle, out, cap); }
static int link_close_dtls(void) { return hal_link_close(link_handle); }
#else
static int rx_waiting;
static int link_handle = TEST_LINK;

static int link_open(void) { return test_link_open(opt.host, opt.port); }

static void link_poll(int timeout_ms)
{
    struct pollfd p;
    p.fd = rx_waiting ? -1 : test_link_fd();
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, timeout_ms) > 0) rx_waiting = dtls_on_readable(TEST_LINK);
}

static int link_send(const uint8_t *data, size_t len) { return dtls_link_send(TEST_LINK, data, len); }

static int link_recv(uint8_t *out, size_t cap)
{
    rx_waiting = 0;
    return dtls_link_recv(TEST_LINK, out, cap);
}

static int link_close_dtls(void) { return hal_dtls_close(TEST_LINK); }
#endif

/* ---------------------------------------------------------------- arguments */

static const char **string_option(const char *name)
{
    static const struct { const char *name; size_t off; } table[] = {
        { "--host", offsetof(options, host) },          { "--mode", offsetof(options, mode) },
        { "--identity", offsetof(options, identity) },  { "--psk-ascii", offsetof(options, psk_ascii) },
        { "--psk-hex", offsetof(options, psk_hex) },    { "--server-cert", offsetof(options, server_cert) },
        { "--own-cert", offsetof(options, own_cert) },  { "--own-key", offsetof(options, own_key) },
        { "--suite", offsetof(options, suite) },        { "--coap-get", offsetof(options, coap_get) },
        { "--send", offsetof(options, send) },          { "--expect-reply", offsetof(options, expect_reply) },
        { "--expect", offsetof(options, expect) },
    };
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) return (const char **) (void *) ((char *) &opt + table[i].off);
    }
    return NULL;
}

static int parse_args(int argc, char **argv)
{
    int i;
    opt.host = "127.0.0.1";
    opt.expect = "connect";
    opt.usage = -1;
    for (i = 1; i < argc; i++) {
        const char **s = string_option(argv[i]);
        if (strcmp(argv[i], "--again") == 0) opt.again = 1;
        else if (i + 1 >= argc) return -1;
        else if (strcmp(argv[i], "--port") == 0) opt.port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--usage") == 0) opt.usage = atoi(argv[++i]);
        else if (s != NULL) *s = argv[++i];
        else return -1;
    }
    return opt.port > 0 && opt.mode != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------- credential records */

static int read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) return -1;
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n == cap ? -1 : (int) n;
}

static int hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2, i;
    if (strlen(hex) % 2 != 0 || n > cap) return -1;
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t) v;
    }
    return (int) n;
}

static int put(int part, const uint8_t *data, int len)
{
    int rc = len < 0 ? HAL_EINVAL : hal_store_write(credential_record_id(CRED, part), data, (size_t) len);
    if (rc < 0) fprintf(stderr, "client: cannot store part %d (%d)\n", part, rc);
    return rc;
}

static int put_file(int part, const char *path)
{
    static uint8_t buf[MAX_FILE];
    return path == NULL ? 0 : put(part, buf, read_file(path, buf, sizeof buf));
}

static int write_psk(void)
{
    uint8_t key[64];
    int n = opt.psk_hex != NULL ? hex_decode(opt.psk_hex, key, sizeof key)
                                : opt.psk_ascii != NULL && strlen(opt.psk_ascii) <= sizeof key ? (int) strlen(opt.psk_ascii) : -1;
    int rc;
    if (opt.psk_hex == NULL && n > 0) memcpy(key, opt.psk_ascii, (size_t) n);
    rc = put(CREDENTIAL_PART_IDENTITY, (const uint8_t *) opt.identity, opt.identity ? (int) strlen(opt.identity) : -1);
    if (rc == 0) rc = put(CREDENTIAL_PART_SECRET, key, n);
    memset(key, 0, sizeof key);
    return rc;
}

static int write_cert(void)
{
    int rc = put_file(CREDENTIAL_PART_SERVER_KEY, opt.server_cert);
    uint8_t usage = (uint8_t) opt.usage;
    if (rc == 0) rc = put_file(CREDENTIAL_PART_IDENTITY, opt.own_cert);
    if (rc == 0) rc = put_file(CREDENTIAL_PART_SECRET, opt.own_key);
    if (rc == 0 && opt.usage >= 0) rc = put(CREDENTIAL_PART_USAGE, &usage, 1);
    return rc;
}

static int provision(void)
{
    uint8_t mode = strcmp(opt.mode, "psk") == 0 ? DTLS_MODE_PSK : DTLS_MODE_CERT;
    int rc = test_store_start();
    if (rc == 0) rc = hal_store_begin();
    if (rc == 0) rc = put(CREDENTIAL_PART_MODE, &mode, 1);
    if (rc == 0) rc = mode == DTLS_MODE_PSK ? write_psk() : write_cert();
    if (rc == 0) rc = hal_store_commit();
    return rc;
}

static int force_suite(void)
{
    static const struct { const char *name; int id; } table[] = {
        { "psk-ccm8", MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8 },
        { "psk-cbc", MBEDTLS_TLS_PSK_WITH_AES_128_CBC_SHA256 },
        { "ecdsa-ccm8", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 },
        { "ecdsa-cbc", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 },
    };
    size_t i;
    int list[2] = { 0, 0 };
    if (opt.suite == NULL) return 0;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(opt.suite, table[i].name) == 0) list[0] = table[i].id;
    }
    return list[0] != 0 ? dtls_set_suites(list) : -1;
}

/* ---------------------------------------------------------------- the loop */

/* Runs the board loop until an event of `kind` (or an alert) for the link is taken. */
static int wait_event(int kind, hal_event *got)
{
    int64_t give_up = hal_timer_now() + RUN_LIMIT_MS;
    while (hal_timer_now() < give_up) {
        int64_t t = dtls_next_timeout_ms();
        hal_event ev;
        while (event_take(&ev)) {
            if (ev.kind == HAL_EV_LINK_ERROR) printf("link error %d\n", (int) ev.arg);
            if (ev.handle == link_handle && (ev.kind == kind || ev.kind == HAL_EV_DTLS_ALERT)) {
                *got = ev;
                return 0;
            }
        }
        link_poll(t < 0 || t > 1000 ? 1000 : (int) t);
        dtls_on_timer();
    }
    return -1;
}

static void print_handshake(const char *what)
{
    dtls_info info;
    if (dtls_get_info(link_handle, &info) != HAL_OK) return;
    printf("%s suite=%s id=0x%04X resumed=%d\n", what, info.suite_name, info.suite, info.resumed);
    printf("handshake bytes on air: sent=%u received=%u total=%u\n", (unsigned) info.hs_sent,
           (unsigned) info.hs_received, (unsigned) (info.hs_sent + info.hs_received));
    printf("pool peak=%u of %u bytes\n", (unsigned) info.pool_peak, (unsigned) info.pool_size);
}

static int handshake(void)
{
    hal_event ev;
    int rc;
    if (link_open() <= 0) return -1;
    rc = hal_dtls_open(link_handle, CRED);
    if (rc != HAL_OK) {
        printf("open failed %d\n", rc);
        return -1;
    }
    if (wait_event(HAL_EV_DTLS_CONNECTED, &ev) != 0) {
        printf("hang: no handshake result\n");
        return -1;
    }
    if (ev.kind == HAL_EV_DTLS_ALERT) {
        dtls_info info;
        if (dtls_get_info(link_handle, &info) == HAL_OK) {
            printf("handshake bytes on air: sent=%u received=%u\n", (unsigned) info.hs_sent, (unsigned) info.hs_received);
        }
        printf("alert %d\n", (int) ev.arg);
        return 1;
    }
    print_handshake("connected");
    return 0;
}

/* ---------------------------------------------------------------- one exchange */

static int build_get(const char *path, uint8_t *out, size_t cap)
{
    size_t n = 0, prev = 0;
    const char *seg = path[0] == '/' ? path + 1 : path;
    out[n++] = 0x42; /* CoAP version 1, confirmable, token length 2 */
    out[n++] = 0x01; /* GET */
    out[n++] = 0x12;
    out[n++] = 0x34; /* message id */
    out[n++] = 0xAB;
    out[n++] = 0xCD; /* token */
    while (*seg != '\0') {
        const char *end = strchr(seg, '/');
        size_t len = end != NULL ? (size_t) (end - seg) : strlen(seg);
        size_t delta = 11 - prev; /* Uri-Path */
        if (len > 12 || n + 1 + len > cap) return -1;
        out[n++] = (uint8_t) ((delta << 4) | len);
        memcpy(out + n, seg, len);
        n += len;
        prev = 11;
        seg += len + (end != NULL ? 1 : 0);
    }
    return (int) n;
}

static int receive(uint8_t *buf, size_t cap)
{
    hal_event ev;
    int n;
    if (wait_event(HAL_EV_LINK_RX, &ev) != 0 || ev.kind != HAL_EV_LINK_RX) {
        printf("no data received\n");
        return -1;
    }
    n = link_recv(buf, cap);
    return n;
}

static int coap_exchange(void)
{
    uint8_t req[128], resp[1280];
    int n = build_get(opt.coap_get, req, sizeof req);
    if (n < 0 || link_send(req, (size_t) n) != n) {
        printf("coap send failed\n");
        return -1;
    }
    n = receive(resp, sizeof resp);
    if (n < 4) return -1;
    printf("coap response %d.%02d mid=0x%02X%02X length=%d\n", resp[1] >> 5, resp[1] & 31, resp[2], resp[3], n);
    return (resp[1] >> 5) == 2 && resp[2] == 0x12 && resp[3] == 0x34 ? 0 : -1;
}

static int text_exchange(void)
{
    uint8_t buf[1280];
    int n = (int) strlen(opt.send);
    if (link_send((const uint8_t *) opt.send, (size_t) n) != n) {
        printf("send failed\n");
        return -1;
    }
    printf("sent %d bytes of text\n", n);
    if (opt.expect_reply == NULL) return 0;
    n = receive(buf, sizeof buf - 1);
    if (n < 0) return -1;
    buf[n] = '\0';
    printf("reply: %s\n", (const char *) buf);
    return strstr((const char *) buf, opt.expect_reply) != NULL ? 0 : -1;
}

static int session(void)
{
    int rc = handshake();
    if (rc == 0 && opt.coap_get != NULL) rc = coap_exchange();
    else if (rc == 0 && opt.send != NULL) rc = text_exchange();
    (void) link_close_dtls();
    printf("pool bytes in use after close: %u\n", (unsigned) dtls_ram_in_use());
    if (dtls_ram_in_use() != 0) return -1;
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv) != 0) {
        fprintf(stderr, "usage: see the comment at the top of test_dtls_client.c\n");
        return 2;
    }
    if (provision() != 0 || force_suite() != 0) return 2;
    rc = session();
    if (rc == 0 && opt.again) rc = session();
    if (strcmp(opt.expect, "alert") == 0) return rc == 1 ? 0 : 1;
    return rc == 0 ? 0 : 1;
}
