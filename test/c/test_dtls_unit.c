/* Unit checks of hal/dtls without a peer: the pool allocator, the alert mapping and the
 * error paths of hal_dtls_open/close and the link hooks. The link is a UDP socket to a port
 * nobody reads (argv[1]); nothing here waits for a handshake. Prints "ok" lines; exit 0. */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "dtls.h"
#include "dtls_internal.h"
#include "dtls_pool.h"
#include "event_ring.h"
#include "hal_store.h"
#include "mbedtls/net_sockets.h"
#include "mbedtls/x509.h"
#include "test_dtls_support.h"

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
            failures++;                                               \
        }                                                             \
    } while (0)

static union { uint8_t b[4096]; long double a; } mem;

static void test_pool(void)
{
    dtls_pool pool;
    void *a, *b, *c, *d;
    dtls_pool_init(&pool, mem.b + 3, sizeof mem.b - 3); /* misaligned on purpose */
    CHECK(dtls_pool_calloc(1, 16) == NULL);             /* nothing selected */
    (void) dtls_pool_select(&pool);
    a = dtls_pool_calloc(10, 10);
    b = dtls_pool_calloc(1, 1000);
    c = dtls_pool_calloc(1, 1);
    CHECK(a && b && c && ((uintptr_t) a % 16) == 0 && ((uintptr_t) b % 16) == 0);
    CHECK(((uint8_t *) a)[99] == 0 && dtls_pool_owns(b) && !dtls_pool_owns(&pool));
    CHECK(dtls_pool_calloc(1, 3000) == NULL && pool.failures == 1); /* does not fit any more */
    CHECK(dtls_pool_calloc(1, 8000) == NULL);                          /* bigger than the pool */
    CHECK(dtls_pool_calloc((size_t) -1, 16) == NULL); /* n * size overflows */
    dtls_pool_free(b);
    d = dtls_pool_calloc(1, 900); /* reuses the hole */
    CHECK(d == b);
    dtls_pool_free(a);
    dtls_pool_free(a); /* double free is ignored */
    dtls_pool_free(c);
    dtls_pool_free(d);
    CHECK(pool.used == 0 && pool.peak > 1100);
    a = dtls_pool_calloc(1, pool.size - 64); /* everything coalesced back into one block */
    CHECK(a != NULL);
    dtls_pool_free(a);
    (void) dtls_pool_select(NULL);
    printf("ok pool\n");
}

static void test_alerts(void)
{
    mbedtls_ssl_context ssl;
    uint8_t msg[2] = { 2, 20 };
    memset(&ssl, 0, sizeof ssl);
    ssl.in_msg = msg;
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, &ssl) == 20);
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_TIMEOUT, &ssl) == HAL_ETIMEDOUT);
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_BAD_HS_FINISHED, &ssl) == DTLS_ALERT_DECRYPT_ERROR);
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE, &ssl) == DTLS_ALERT_BAD_CERTIFICATE);
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE, &ssl) == DTLS_ALERT_HANDSHAKE_FAILURE);
    CHECK(dtls_alert_of(MBEDTLS_ERR_SSL_ALLOC_FAILED, &ssl) == HAL_ENOMEM);
    CHECK(dtls_alert_of(MBEDTLS_ERR_NET_SEND_FAILED, &ssl) == HAL_EIO);
    printf("ok alerts\n");
}

static void put_byte(int cred, int part, uint8_t v)
{
    CHECK(hal_store_write(credential_record_id(cred, part), &v, 1) == HAL_OK);
}

static void put_text(int cred, int part, const char *t)
{
    CHECK(hal_store_write(credential_record_id(cred, part), (const uint8_t *) t, strlen(t)) == HAL_OK);
}

static void test_open_errors(int port)
{
    uint8_t buf[16];
    CHECK(test_link_open("127.0.0.1", port) == TEST_LINK);
    CHECK(hal_dtls_open(TEST_LINK, 0) == HAL_EINVAL);
    CHECK(hal_dtls_open(TEST_LINK, 256) == HAL_EINVAL);
    CHECK(hal_dtls_open(0, 1) == HAL_EINVAL);
    CHECK(hal_dtls_open(TEST_LINK, 7) == HAL_ENOENT); /* no records */
    put_byte(2, CREDENTIAL_PART_MODE, DTLS_MODE_RPK);
    CHECK(hal_dtls_open(TEST_LINK, 2) == HAL_ENOTSUP);
    put_byte(3, CREDENTIAL_PART_MODE, DTLS_MODE_NOSEC);
    CHECK(hal_dtls_open(TEST_LINK, 3) == HAL_EINVAL);
    put_byte(4, CREDENTIAL_PART_MODE, DTLS_MODE_PSK); /* identity and key missing */
    CHECK(hal_dtls_open(TEST_LINK, 4) == HAL_ENOENT);
    put_byte(5, CREDENTIAL_PART_MODE, DTLS_MODE_CERT); /* no server certificate */
    CHECK(hal_dtls_open(TEST_LINK, 5) == HAL_ENOENT);
    put_byte(6, CREDENTIAL_PART_MODE, DTLS_MODE_CERT);
    put_text(6, CREDENTIAL_PART_SERVER_KEY, "not DER");
    CHECK(hal_dtls_open(TEST_LINK, 6) == HAL_EINVAL);
    CHECK(hal_dtls_close(TEST_LINK) == HAL_ENOENT);
    CHECK(dtls_ram_in_use() == 0);
    CHECK(!dtls_link_active(TEST_LINK));
    (void) buf;
    printf("ok open errors\n");
}

/* The alert posted for a link, or 1 when there was none. */
static int alert_of(int link)
{
    hal_event ev;
    int found = 1;
    while (event_take(&ev)) {
        if (ev.kind == HAL_EV_DTLS_ALERT && ev.handle == link) found = ev.arg;
    }
    return found;
}

static void test_session_states(void)
{
    uint8_t buf[16];
    dtls_info info;
    put_byte(1, CREDENTIAL_PART_MODE, DTLS_MODE_PSK);
    put_text(1, CREDENTIAL_PART_IDENTITY, "meter");
    put_text(1, CREDENTIAL_PART_SECRET, "0123456789abcdef");
    CHECK(hal_dtls_open(TEST_LINK, 1) == HAL_OK);
    CHECK(dtls_link_active(TEST_LINK));
    CHECK(hal_dtls_open(TEST_LINK, 1) == HAL_EBUSY);
    CHECK(dtls_get_info(TEST_LINK, &info) == HAL_OK && info.state == DTLS_STATE_HANDSHAKE);
    CHECK(info.hs_sent > 60 && info.hs_sent < 200); /* the ClientHello went out */
    CHECK(dtls_link_send(TEST_LINK, (const uint8_t *) "x", 1) == HAL_EAGAIN);
    CHECK(dtls_link_recv(TEST_LINK, buf, sizeof buf) == 0);
    CHECK(dtls_next_timeout_ms() > 0 && dtls_next_timeout_ms() <= DTLS_HS_TIMEOUT_MIN_MS);
    /* links 2 and 3 have no socket here: their first send fails and they end FAILED */
    CHECK(hal_dtls_open(2, 1) == HAL_OK && hal_dtls_open(3, 1) == HAL_OK);
    CHECK(hal_dtls_open(4, 1) == HAL_ENOSPC);
    CHECK(dtls_get_info(2, &info) == HAL_OK && info.state == DTLS_STATE_FAILED);
    CHECK(dtls_link_send(2, (const uint8_t *) "x", 1) == HAL_ECLOSED); /* never in clear */
    CHECK(dtls_link_recv(2, buf, sizeof buf) == HAL_ECLOSED);
    CHECK(alert_of(2) == HAL_EIO);
    CHECK(hal_dtls_close(2) == HAL_OK && hal_dtls_close(3) == HAL_OK && hal_dtls_close(TEST_LINK) == HAL_OK);
    CHECK(dtls_ram_in_use() == 0 && dtls_next_timeout_ms() == -1);
    printf("ok session states\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    test_pool();
    test_alerts();
    CHECK(test_store_start() == HAL_OK);
    test_open_errors(atoi(argv[1]));
    test_session_states();
    printf(failures == 0 ? "all ok\n" : "%d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
