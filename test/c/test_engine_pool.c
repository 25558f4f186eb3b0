/* Allocator (hal/engine/js_pool.c) and event ring (hal/src/event_ring.c) tests.
 * Built and run by test/unit/engine.test.ts; prints "ok <n> checks" and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_ring.h"
#include "hal_codes.h"
#include "js_pool.h"

static int checks, failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define POOL_BYTES 65536
static unsigned char pool_mem[POOL_BYTES] __attribute__((aligned(8)));

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_alloc_free_coalesce(void)
{
    js_pool p;
    void *a, *b, *c;
    js_pool_init(&p, pool_mem, POOL_BYTES);
    CHECK(js_pool_check(&p) == 0);
    CHECK(p.in_use == 0);
    a = js_pool_alloc(&p, 100);
    b = js_pool_alloc(&p, 200);
    c = js_pool_alloc(&p, 300);
    CHECK(a != NULL && b != NULL && c != NULL);
    CHECK(((uintptr_t) a & 7u) == 0 && ((uintptr_t) b & 7u) == 0 && ((uintptr_t) c & 7u) == 0);
    CHECK((unsigned char *) a - pool_mem >= 8); /* never offset 0: NULL encodes as 0 */
    CHECK(p.in_use == (104 + 8) + (200 + 8) + (304 + 8));
    CHECK(js_pool_check(&p) == 0);
    js_pool_free(&p, b);
    CHECK(js_pool_check(&p) == 0);
    js_pool_free(&p, a);
    CHECK(js_pool_check(&p) == 0);
    js_pool_free(&p, c);
    CHECK(js_pool_check(&p) == 0);
    CHECK(p.in_use == 0);
    CHECK(js_pool_largest_free(&p) == POOL_BYTES - 8); /* everything merged back */
    CHECK(p.peak == (104 + 8) + (200 + 8) + (304 + 8));
}

static void test_exhaustion_and_unmet(void)
{
    js_pool p;
    void *big, *small;
    js_pool_init(&p, pool_mem, POOL_BYTES);
    CHECK(js_pool_alloc(&p, POOL_BYTES) == NULL);
    CHECK(js_pool_gave_up(&p));
    small = js_pool_alloc(&p, 16);
    CHECK(small != NULL);
    CHECK(js_pool_gave_up(&p)); /* a smaller success does not make good a big failure */
    js_pool_free(&p, small);
    js_pool_clear_failures(&p);
    big = js_pool_alloc(&p, 40000);
    CHECK(js_pool_alloc(&p, 40000) == NULL); /* no room beside big */
    CHECK(js_pool_gave_up(&p));
    js_pool_free(&p, big);
    big = js_pool_alloc(&p, 40000); /* the same request now succeeds: made good */
    CHECK(big != NULL);
    CHECK(!js_pool_gave_up(&p));
    js_pool_free(&p, big);
    big = js_pool_alloc(&p, POOL_BYTES - 8);
    CHECK(big != NULL);
    CHECK(js_pool_alloc(&p, 1) == NULL);
    js_pool_clear_failures(&p);
    CHECK(!js_pool_gave_up(&p));
    js_pool_free(&p, big);
    CHECK(p.in_use == 0 && js_pool_check(&p) == 0);
}

static void test_realloc(void)
{
    js_pool p;
    unsigned char *a, *b, *g;
    int i;
    js_pool_init(&p, pool_mem, POOL_BYTES);
    a = js_pool_alloc(&p, 64);
    for (i = 0; i < 64; i++) a[i] = (unsigned char) i;
    a = js_pool_realloc(&p, a, 1000); /* grows in place into the free tail */
    CHECK(a != NULL && a[63] == 63);
    b = js_pool_alloc(&p, 32);        /* blocks the way */
    g = js_pool_realloc(&p, a, 5000); /* must move */
    CHECK(g != NULL && g != a && g[0] == 0 && g[63] == 63);
    CHECK(js_pool_check(&p) == 0);
    g = js_pool_realloc(&p, g, 16); /* shrink */
    CHECK(g != NULL && g[15] == 15 && js_pool_check(&p) == 0);
    CHECK(js_pool_realloc(&p, g, 0) == NULL); /* frees */
    CHECK(js_pool_realloc(&p, NULL, 24) != NULL);
    CHECK(js_pool_realloc(&p, b, POOL_BYTES * 2) == NULL); /* fails, b untouched */
    CHECK(js_pool_check(&p) == 0);
}

/* Random alloc/realloc/free against a shadow table; contents must survive. */
static void test_random_workload(void)
{
    enum { SLOTS = 256, ROUNDS = 200000 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    js_pool p;
    int r, i, corrupt = 0, consistent = 1;
    size_t total = 0;
    memset(ptr, 0, sizeof ptr);
    js_pool_init(&p, pool_mem, POOL_BYTES);
    for (r = 0; r < ROUNDS; r++) {
        int s = (int) (rnd() % SLOTS);
        size_t want = (rnd() % 8 == 0) ? rnd() % 4000 : rnd() % 200;
        if (ptr[s] != NULL && ptr[s][0] != (unsigned char) s) corrupt++;
        if (ptr[s] != NULL && len[s] > 1 && ptr[s][len[s] - 1] != (unsigned char) (s ^ 0x5a)) corrupt++;
        if (ptr[s] == NULL) {
            ptr[s] = js_pool_alloc(&p, want + 2);
            len[s] = want + 2;
        } else if (rnd() % 2) {
            unsigned char *n = js_pool_realloc(&p, ptr[s], want + 2);
            if (n != NULL) {
                ptr[s] = n;
                len[s] = want + 2;
            }
        } else {
            js_pool_free(&p, ptr[s]);
            ptr[s] = NULL;
        }
        if (ptr[s] != NULL) {
            ptr[s][0] = (unsigned char) s;
            ptr[s][len[s] - 1] = (unsigned char) (s ^ 0x5a);
        }
        if (r % 997 == 0 && js_pool_check(&p) != 0) consistent = 0;
    }
    CHECK(corrupt == 0);
    CHECK(consistent);
    for (i = 0; i < SLOTS; i++) {
        if (ptr[i] != NULL) total++;
        js_pool_free(&p, ptr[i]);
    }
    CHECK(p.in_use == 0);
    CHECK(js_pool_check(&p) == 0);
    CHECK(js_pool_largest_free(&p) == POOL_BYTES - 8);
    CHECK(p.peak <= POOL_BYTES && p.peak > 0);
    (void) total;
}

static void test_ring(void)
{
    hal_event ev;
    int i, posted = 0;
    CHECK(event_take(&ev) == 0);
    for (i = 0; i < TEST_RING + 5; i++) {
        if (event_post(HAL_EV_TIMER, i, i * 10) == HAL_OK) posted++;
    }
    CHECK(posted == TEST_RING);
    CHECK(event_dropped() == 5);
    for (i = 0; i < TEST_RING; i++) {
        CHECK(event_take(&ev) == 1);
        CHECK(ev.kind == HAL_EV_TIMER && ev.handle == i && ev.arg == i * 10);
    }
    CHECK(event_take(&ev) == 0);
    /* wrap around many times */
    for (i = 0; i < 1000; i++) {
        CHECK(event_post(HAL_EV_LINK_RX, 1, i) == HAL_OK);
        CHECK(event_post(HAL_EV_CONSOLE_LINE, 0, -i) == HAL_OK);
        CHECK(event_take(&ev) == 1 && ev.kind == HAL_EV_LINK_RX && ev.arg == i);
        CHECK(event_take(&ev) == 1 && ev.kind == HAL_EV_CONSOLE_LINE && ev.arg == -i);
    }
    CHECK(event_take(&ev) == 0);
}

int main(void)
{
    test_alloc_free_coalesce();
    test_exhaustion_and_unmet();
    test_realloc();
    test_random_workload();
    test_ring();
    if (failures) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("ok %d checks\n", checks);
    return 0;
}
