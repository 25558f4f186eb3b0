/* The session table (BOARD_DTLS_SESSIONS slots, each with its own mbedTLS pool), the
 * non-blocking handshake driven by datagrams and timers, and the plaintext path the link
 * driver routes through. Every event goes to the ring; one that does not fit is kept in
 * the session and posted from dtls_on_timer (dtls_next_timeout_ms then returns 0). */
#include <string.h>

#include "credential.h"
#include "dtls_internal.h"
#include "event_ring.h"
#include "hal_rng.h"
#include "hal_timer.h"
#include "mbedtls/net_sockets.h"
#include "mbedtls/platform_util.h"

#define NO_TIMER (-1)

typedef union {
    uint8_t bytes[DTLS_POOL_BYTES];
    long double align_ld;
    uint64_t align_u64;
    void *align_ptr;
} pool_memory;

static dtls_session sessions[DTLS_SESSIONS > 0 ? DTLS_SESSIONS : 1];
static pool_memory pool_mem[DTLS_SESSIONS > 0 ? DTLS_SESSIONS : 1];
static mbedtls_ctr_drbg_context drbg;
static int drbg_ready;
static int ready;
static int wanted_suites[DTLS_MAX_SUITES + 1];
static int suites_forced;

uint8_t dtls_scratch[DTLS_PART_BYTES];

static void init_once(void)
{
    int i;
    if (ready) return;
    for (i = 0; i < DTLS_SESSIONS; i++) {
        sessions[i].state = DTLS_STATE_NONE;
        dtls_pool_init(&sessions[i].pool, pool_mem[i].bytes, sizeof pool_mem[i].bytes);
    }
    dtls_pool_install();
    ready = 1;
}

static dtls_session *session_of(int link)
{
    int i;
    if (!ready) return NULL;
    for (i = 0; i < DTLS_SESSIONS; i++) {
        if (sessions[i].state != DTLS_STATE_NONE && sessions[i].link == link) return &sessions[i];
    }
    return NULL;
}

static dtls_session *free_slot(void)
{
    int i;
    for (i = 0; i < DTLS_SESSIONS; i++) {
        if (sessions[i].state == DTLS_STATE_NONE) return &sessions[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------- events */

static void post(dtls_session *s, int kind, int32_t arg)
{
    if (s->pending == 0 && event_post(kind, s->link, arg) == HAL_OK) return;
    if (s->pending >= 2) return; /* at most CONNECTED + RX or one ALERT can wait */
    s->pending_kind[s->pending] = kind;
    s->pending_arg[s->pending] = arg;
    s->pending++;
}

static void flush_pending(dtls_session *s)
{
    while (s->pending > 0 && event_post(s->pending_kind[0], s->link, s->pending_arg[0]) == HAL_OK) {
        s->pending_kind[0] = s->pending_kind[1];
        s->pending_arg[0] = s->pending_arg[1];
        s->pending--;
    }
}

/* ---------------------------------------------------------------- mbedTLS callbacks */

static void count(dtls_session *s, int n, int sending)
{
    uint32_t *total = sending ? &s->sent : &s->received;
    uint32_t *hs = sending ? &s->hs_sent : &s->hs_received;
    *total += (uint32_t) n;
    if (s->state == DTLS_STATE_HANDSHAKE) *hs += (uint32_t) n;
}

/* A datagram the link could not take now counts as lost: the handshake retransmits, and
 * CoAP above retransmits application data. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    dtls_session *s = (dtls_session *) ctx;
    int n = dtls_board_send(s->link, buf, len);
    if (n == HAL_EAGAIN) return (int) len;
    if (n < 0) return MBEDTLS_ERR_NET_SEND_FAILED;
    count(s, n, 1);
    return n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    dtls_session *s = (dtls_session *) ctx;
    int n = dtls_board_recv(s->link, buf, len);
    if (n > 0) {
        count(s, n, 0);
        return n;
    }
    /* An ICMP error is reported like on a plain link; the handshake timer decides. */
    if (n < 0 && n != HAL_EAGAIN && n != HAL_ETOOBIG) (void) event_post(HAL_EV_LINK_ERROR, s->link, n);
    return MBEDTLS_ERR_SSL_WANT_READ;
}

static void timer_set(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
    dtls_session *s = (dtls_session *) ctx;
    int64_t now = hal_timer_now();
    s->timer_int = fin_ms == 0 ? NO_TIMER : now + int_ms;
    s->timer_fin = fin_ms == 0 ? NO_TIMER : now + fin_ms;
}

static int timer_get(void *ctx)
{
    const dtls_session *s = (const dtls_session *) ctx;
    int64_t now = hal_timer_now();
    if (s->timer_fin == NO_TIMER) return -1;
    if (now >= s->timer_fin) return 2;
    return now >= s->timer_int ? 1 : 0;
}

static int drbg_entropy(void *ctx, unsigned char *out, size_t len)
{
    (void) ctx;
    return hal_rng_fill(out, len) < 0 ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

static int seed_drbg(void)
{
    static const unsigned char personal[] = "meter-dtls";
    if (drbg_ready) return HAL_OK;
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, drbg_entropy, NULL, personal, sizeof personal - 1) != 0) return HAL_EIO;
    drbg_ready = 1;
    return HAL_OK;
}

/* ---------------------------------------------------------------- state machine */

static void fail(dtls_session *s, int code)
{
    if (s->state == DTLS_STATE_HANDSHAKE) dtls_resume_drop(s->credential);
    dtls_teardown(s);
    s->state = DTLS_STATE_FAILED;
    s->rx_len = 0;
    s->timer_fin = NO_TIMER;
    post(s, HAL_EV_DTLS_ALERT, code);
}

/* Decrypts the next application datagram into s->rx and announces it. */
static void pump(dtls_session *s)
{
    int n = mbedtls_ssl_read(&s->ssl, s->rx, sizeof s->rx);
    if (n > 0) {
        s->rx_len = n;
        post(s, HAL_EV_LINK_RX, n);
    } else if (n != 0 && n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE) {
        fail(s, dtls_alert_of(n, &s->ssl));
    }
}

static int was_resumed(const dtls_session *s)
{
    const mbedtls_ssl_session *now = s->ssl.session;
    return s->offered_id_len > 0 && now != NULL && now->id_len == s->offered_id_len &&
           memcmp(now->id, s->offered_id, s->offered_id_len) == 0;
}

static void connected(dtls_session *s)
{
    s->state = DTLS_STATE_OPEN;
    s->timer_fin = NO_TIMER;
    s->hs_peak = s->pool.peak;
    s->resumed = was_resumed(s);
    dtls_resume_save(s);
    post(s, HAL_EV_DTLS_CONNECTED, s->ssl.session != NULL ? s->ssl.session->ciphersuite : 0);
    if (mbedtls_ssl_check_pending(&s->ssl)) pump(s);
}

/* A close_notify before the handshake completes is a peer that gave up on it (GnuTLS
 * discards a Finished it cannot decrypt, e.g. wrong PSK, and later sends one). */
static void step_handshake(dtls_session *s)
{
    int rc = mbedtls_ssl_handshake(&s->ssl);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return;
    if (rc == 0) connected(s);
    else if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) fail(s, DTLS_ALERT_HANDSHAKE_FAILURE);
    else fail(s, dtls_alert_of(rc, &s->ssl));
}

/* A failed session keeps its link from carrying plaintext until hal_dtls_close; what still
 * arrives is dropped so a level-triggered poll does not spin. */
static void drain(dtls_session *s)
{
    while (dtls_board_recv(s->link, s->rx, sizeof s->rx) > 0) {}
}

/* ---------------------------------------------------------------- hal_dtls.h */

static int start(dtls_session *s)
{
    const int *suites = suites_forced ? wanted_suites : NULL;
    int rc = credential_fingerprint(s->credential, s->fingerprint, dtls_scratch, sizeof dtls_scratch);
    if (rc == HAL_OK) rc = dtls_setup(s, &drbg, suites);
    if (rc != HAL_OK) return rc;
    rc = mbedtls_ssl_setup(&s->ssl, &s->conf);
    if (rc != 0) return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? HAL_ENOMEM : HAL_EINVAL;
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    mbedtls_ssl_set_timer_cb(&s->ssl, s, timer_set, timer_get);
    mbedtls_ssl_set_mtu(&s->ssl, BOARD_LINK_MTU);
    dtls_resume_offer(s);
    return HAL_OK;
}

static void reset_slot(dtls_session *s, int link, int credential)
{
    dtls_pool keep = s->pool;
    memset(s, 0, sizeof *s);
    s->pool = keep;
    s->pool.peak = s->pool.used;
    s->link = link;
    s->credential = credential;
    s->timer_int = s->timer_fin = NO_TIMER;
    s->give_up = hal_timer_now() + DTLS_HS_GIVE_UP_MS;
}

int hal_dtls_open(int link, int credential)
{
    dtls_session *s;
    dtls_pool *was;
    int rc;
    init_once();
    if (link <= 0 || credential < 1 || credential > CREDENTIAL_HANDLE_MAX) return HAL_EINVAL;
    if (session_of(link) != NULL) return HAL_EBUSY;
    s = free_slot();
    if (s == NULL) return HAL_ENOSPC;
    rc = seed_drbg();
    if (rc != HAL_OK) return rc;
    reset_slot(s, link, credential);
    was = dtls_pool_select(&s->pool);
    rc = start(s);
    if (rc == HAL_OK) {
        s->state = DTLS_STATE_HANDSHAKE;
        step_handshake(s);
    } else {
        dtls_teardown(s);
    }
    (void) dtls_pool_select(was);
    return rc;
}

int hal_dtls_close(int link)
{
    dtls_session *s = session_of(link);
    dtls_pool *was;
    if (s == NULL) return HAL_ENOENT;
    was = dtls_pool_select(&s->pool);
    if (s->state == DTLS_STATE_OPEN) (void) mbedtls_ssl_close_notify(&s->ssl);
    if (s->state != DTLS_STATE_FAILED) dtls_teardown(s);
    (void) dtls_pool_select(was);
    mbedtls_platform_zeroize(s->rx, sizeof s->rx);
    s->state = DTLS_STATE_NONE;
    s->pending = 0;
    return HAL_OK;
}

/* ---------------------------------------------------------------- board hooks */

int dtls_link_active(int link) { return session_of(link) != NULL; }

int dtls_on_readable(int link)
{
    dtls_session *s = session_of(link);
    dtls_pool *was;
    if (s == NULL) return 0;
    was = dtls_pool_select(&s->pool);
    if (s->state == DTLS_STATE_HANDSHAKE) step_handshake(s);
    else if (s->state == DTLS_STATE_OPEN && s->rx_len == 0) pump(s);
    else if (s->state == DTLS_STATE_FAILED) drain(s);
    (void) dtls_pool_select(was);
    return s->state == DTLS_STATE_OPEN && s->rx_len > 0;
}

int dtls_link_recv(int link, uint8_t *out, size_t cap)
{
    dtls_session *s = session_of(link);
    dtls_pool *was;
    int n;
    if (s == NULL) return HAL_EINVAL;
    if (s->state == DTLS_STATE_FAILED) return HAL_ECLOSED;
    if (s->state != DTLS_STATE_OPEN || s->rx_len == 0) return 0;
    n = (size_t) s->rx_len > cap ? HAL_ETOOBIG : s->rx_len;
    if (n > 0) memcpy(out, s->rx, (size_t) n);
    s->rx_len = 0;
    was = dtls_pool_select(&s->pool);
    if (mbedtls_ssl_check_pending(&s->ssl)) pump(s);
    (void) dtls_pool_select(was);
    return n;
}

int dtls_link_send(int link, const uint8_t *data, size_t len)
{
    dtls_session *s = session_of(link);
    dtls_pool *was;
    int rc;
    if (s == NULL) return HAL_EINVAL;
    if (s->state == DTLS_STATE_FAILED) return HAL_ECLOSED;
    if (s->state != DTLS_STATE_OPEN) return HAL_EAGAIN;
    if (len > (size_t) mbedtls_ssl_get_max_out_record_payload(&s->ssl)) return HAL_ETOOBIG;
    was = dtls_pool_select(&s->pool);
    rc = mbedtls_ssl_write(&s->ssl, data, len);
    (void) dtls_pool_select(was);
    if (rc >= 0) return rc;
    return rc == MBEDTLS_ERR_SSL_WANT_WRITE ? HAL_EAGAIN : HAL_EIO;
}

int64_t dtls_next_timeout_ms(void)
{
    int64_t best = NO_TIMER, now = hal_timer_now();
    int i;
    for (i = 0; ready && i < DTLS_SESSIONS; i++) {
        const dtls_session *s = &sessions[i];
        if (s->state == DTLS_STATE_NONE) continue;
        if (s->pending > 0) return 0;
        if (s->state != DTLS_STATE_HANDSHAKE) continue;
        if (best == NO_TIMER || s->give_up - now < best) best = s->give_up - now;
        if (s->timer_fin != NO_TIMER && s->timer_fin - now < best) best = s->timer_fin - now;
    }
    return best != NO_TIMER && best < 0 ? 0 : best;
}

void dtls_on_timer(void)
{
    int64_t now = hal_timer_now();
    int i;
    for (i = 0; ready && i < DTLS_SESSIONS; i++) {
        dtls_session *s = &sessions[i];
        dtls_pool *was;
        if (s->state == DTLS_STATE_NONE) continue;
        flush_pending(s);
        if (s->state != DTLS_STATE_HANDSHAKE) continue;
        if (now < s->give_up && (s->timer_fin == NO_TIMER || now < s->timer_fin)) continue;
        was = dtls_pool_select(&s->pool);
        if (now >= s->give_up) fail(s, HAL_ETIMEDOUT);
        else step_handshake(s);
        (void) dtls_pool_select(was);
    }
}

/* ---------------------------------------------------------------- diagnostics */

int dtls_get_info(int link, dtls_info *out)
{
    const dtls_session *s = session_of(link);
    const mbedtls_ssl_session *now;
    if (s == NULL) return HAL_ENOENT;
    memset(out, 0, sizeof *out);
    now = s->state == DTLS_STATE_OPEN ? s->ssl.session : NULL;
    out->state = s->state;
    out->credential = s->credential;
    out->suite = now != NULL ? now->ciphersuite : 0;
    out->suite_name = now != NULL ? mbedtls_ssl_get_ciphersuite(&s->ssl) : "";
    out->resumed = s->resumed;
    out->hs_sent = s->hs_sent;
    out->hs_received = s->hs_received;
    out->sent = s->sent;
    out->received = s->received;
    out->pool_peak = s->state == DTLS_STATE_OPEN ? s->hs_peak : s->pool.peak;
    out->pool_size = s->pool.size;
    return HAL_OK;
}

uint32_t dtls_ram_in_use(void)
{
    uint32_t total = 0;
    int i;
    for (i = 0; ready && i < DTLS_SESSIONS; i++) total += sessions[i].pool.used;
    return total;
}

int dtls_set_suites(const int *suites)
{
    int n = 0;
    suites_forced = suites != NULL;
    while (suites != NULL && suites[n] != 0 && n < DTLS_MAX_SUITES) {
        wanted_suites[n] = suites[n];
        n++;
    }
    wanted_suites[n] = 0;
    return suites != NULL && suites[n] != 0 ? HAL_ETOOBIG : HAL_OK;
}

void dtls_forget_session(int credential) { dtls_resume_drop(credential); }
