/* First-fit allocator over caller-provided static memory, with block coalescing. Every
 * block starts with a 16-byte header, so payloads keep 16-byte alignment. */
#include "dtls_pool.h"

#include <string.h>

#if defined(MBEDTLS_CONFIG_FILE)
#include MBEDTLS_CONFIG_FILE
#else
#include "mbedtls/config.h"
#endif
#if defined(MBEDTLS_PLATFORM_MEMORY)
#include "mbedtls/platform.h"
#endif

#define ALIGN 16u
#define HDR 16u
#define MIN_SPLIT (HDR + ALIGN)
#define MAGIC_USED 0xD71511EDu
#define MAGIC_FREE 0xD715F4EEu
#define MAX_POOLS 8

typedef struct {
    uint32_t size;      /* whole block, header included */
    uint32_t prev_size; /* 0 for the first block */
    uint32_t magic;
    uint32_t pad;
} block;

static dtls_pool *pools[MAX_POOLS];
static dtls_pool *selected;

static block *first_block(const dtls_pool *p) { return (block *) (void *) p->base; }

static block *next_block(const dtls_pool *p, block *b)
{
    uint8_t *n = (uint8_t *) b + b->size;
    return n < p->base + p->size ? (block *) (void *) n : NULL;
}

static block *prev_block(block *b)
{
    return b->prev_size == 0 ? NULL : (block *) (void *) ((uint8_t *) b - b->prev_size);
}

static void register_pool(dtls_pool *pool)
{
    int i;
    for (i = 0; i < MAX_POOLS; i++) {
        if (pools[i] == NULL || pools[i] == pool) {
            pools[i] = pool;
            return;
        }
    }
}

void dtls_pool_init(dtls_pool *pool, void *mem, uint32_t size)
{
    uintptr_t start = ((uintptr_t) mem + ALIGN - 1u) & ~(uintptr_t) (ALIGN - 1u);
    uint32_t skew = (uint32_t) (start - (uintptr_t) mem);
    block *b;
    memset(pool, 0, sizeof *pool);
    if (size < skew + MIN_SPLIT) return;
    pool->base = (uint8_t *) start;
    pool->size = (size - skew) & ~(ALIGN - 1u);
    b = first_block(pool);
    b->size = pool->size;
    b->prev_size = 0;
    b->magic = MAGIC_FREE;
    register_pool(pool);
}

dtls_pool *dtls_pool_select(dtls_pool *pool)
{
    dtls_pool *was = selected;
    selected = pool;
    return was;
}

int dtls_pool_selected(void) { return selected != NULL; }

static dtls_pool *owner(const void *p)
{
    const uint8_t *q = (const uint8_t *) p;
    int i;
    for (i = 0; i < MAX_POOLS && pools[i] != NULL; i++) {
        if (q >= pools[i]->base + HDR && q < pools[i]->base + pools[i]->size) return pools[i];
    }
    return NULL;
}

int dtls_pool_owns(const void *p) { return p != NULL && owner(p) != NULL; }

static void split(dtls_pool *p, block *b, uint32_t need)
{
    block *rest, *after;
    if (b->size - need < MIN_SPLIT) return;
    rest = (block *) (void *) ((uint8_t *) b + need);
    rest->size = b->size - need;
    rest->prev_size = need;
    rest->magic = MAGIC_FREE;
    b->size = need;
    after = next_block(p, rest);
    if (after != NULL) after->prev_size = rest->size;
}

static void *take(dtls_pool *p, uint32_t need)
{
    block *b;
    for (b = first_block(p); b != NULL; b = next_block(p, b)) {
        if (b->magic != MAGIC_FREE || b->size < need) continue;
        split(p, b, need);
        b->magic = MAGIC_USED;
        p->used += b->size;
        if (p->used > p->peak) p->peak = p->used;
        return (uint8_t *) b + HDR;
    }
    p->failures++;
    return NULL;
}

void *dtls_pool_calloc(size_t n, size_t size)
{
    size_t bytes;
    void *mem;
    if (selected == NULL || selected->base == NULL || n == 0 || size == 0) return NULL;
    if (size > (size_t) selected->size / n) return NULL;
    bytes = ((n * size + ALIGN - 1u) & ~(size_t) (ALIGN - 1u)) + HDR;
    if (bytes > selected->size) return NULL;
    mem = take(selected, (uint32_t) bytes);
    if (mem != NULL) memset(mem, 0, n * size);
    return mem;
}

/* Merges b with the free block after it. */
static void absorb_next(dtls_pool *p, block *b)
{
    block *n = next_block(p, b), *after;
    if (n == NULL || n->magic != MAGIC_FREE) return;
    b->size += n->size;
    n->magic = 0;
    after = next_block(p, b);
    if (after != NULL) after->prev_size = b->size;
}

void dtls_pool_free(void *ptr)
{
    dtls_pool *p = ptr != NULL ? owner(ptr) : NULL;
    block *b, *prev;
    if (p == NULL) return;
    b = (block *) (void *) ((uint8_t *) ptr - HDR);
    if (b->magic != MAGIC_USED) return; /* double free or stray pointer: ignore, keep the pool sane */
    memset(ptr, 0, b->size - HDR); /* whatever mbedTLS left there (keys, plaintext) goes now */
    b->magic = MAGIC_FREE;
    p->used -= b->size;
    absorb_next(p, b);
    prev = prev_block(b);
    if (prev != NULL && prev->magic == MAGIC_FREE) absorb_next(p, prev);
}

void dtls_pool_install(void)
{
#if defined(MBEDTLS_PLATFORM_MEMORY)
    (void) mbedtls_platform_set_calloc_free(dtls_pool_calloc, dtls_pool_free);
#endif
}
