/* The JS heap allocator: first fit over one fixed, contiguous region, with boundary
 * tags so that free() coalesces with both neighbours in O(1). No malloc.
 * Every block is 8-byte aligned and preceded by an 8-byte header, so no payload sits
 * at offset 0: the heap-pointer compression in duk_config.h relies on this. */
#ifndef JS_POOL_H
#define JS_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *base;
    uint32_t size;
    uint32_t free_head; /* offset of the first free block, JS_POOL_NIL when none */
    uint32_t in_use;    /* bytes of allocated blocks, headers included */
    uint32_t peak;
    /* Duktape answers a failed request with mark-and-sweep and retries, so one failure
     * means little; a failed request that no later request of at least its size made
     * good means Duktape gave up on it. */
    uint32_t unmet_size;   /* largest failed request not yet made good, 0 when none */
    uint32_t used_at_fail; /* in_use at the last failure */
    uint32_t failures;     /* failed requests since init */
} js_pool;

#define JS_POOL_NIL 0xFFFFFFFFu

/* mem must be 8-byte aligned; bytes is rounded down to a multiple of 8. */
void js_pool_init(js_pool *p, void *mem, size_t bytes);
void *js_pool_alloc(js_pool *p, size_t size);
void *js_pool_realloc(js_pool *p, void *ptr, size_t size);
void js_pool_free(js_pool *p, void *ptr);

/* Largest request that would succeed right now. */
size_t js_pool_largest_free(const js_pool *p);

/* 1 when a request failed since the last js_pool_clear_failures and no later request
 * of at least its size succeeded: the heap is exhausted for what the engine needed. */
int js_pool_gave_up(const js_pool *p);
void js_pool_clear_failures(js_pool *p);

/* Walks every block and checks the tags; returns 0 when consistent (tests). */
int js_pool_check(const js_pool *p);

#endif
