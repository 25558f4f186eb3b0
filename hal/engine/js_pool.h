/* The JS heap allocator: address-ordered first fit over one fixed, contiguous region.
 * No malloc, and no per-block header: Duktape makes thousands of 17..64-byte
 * allocations, so a header cost more than a tenth of the heap.
 *
 * The region is cut into 4-byte granules. A bitmap at the start of the region (1 bit per
 * granule, 1/32 of the region) marks the first granule of every block, allocated or
 * free; a block ends where the next one starts. Free blocks are chained in address
 * order; each holds its size and the next free block in its first granule (two 16-bit
 * granule counts; two 32-bit ones in pools above 256 KB, which only host tools use, with
 * a minimum block of 2 granules there). Freeing walks the list to its insertion point,
 * which finds both free neighbours, so coalescing needs no boundary tags. A free block is
 * split only when at least 16 bytes would be left: smaller slivers stay with the
 * allocation (see SPLIT_MIN in js_pool.c).
 *
 * Every payload is 4-byte aligned and none starts at offset 0 (the bitmap is there): the
 * heap-pointer compression in duk_config.h, (ptr - pool) >> 2 with NULL = 0, relies on
 * both. Duktape is configured with DUK_USE_ALIGN_BY 4 to match. */
#ifndef JS_POOL_H
#define JS_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *base;
    uint32_t size;      /* bytes managed: the region rounded down to 4 bytes */
    uint32_t granules;  /* size / 4 */
    uint32_t first;     /* first granule after the bitmap: where blocks begin */
    uint32_t min_units; /* smallest block, in granules: 1, or 2 in a wide pool */
    uint32_t wide;      /* 1 when the pool is above 256 KB: 32-bit free-block fields */
    uint32_t free_head; /* granule of the first free block, 0 when none */
    uint32_t reserved;  /* bytes taken by the bitmap (size / 32), counted in in_use and peak */
    uint32_t in_use;    /* bytes of allocated blocks plus the bitmap: what is not free */
    uint32_t peak;
    /* Duktape answers a failed request with mark-and-sweep and retries, so one failure
     * means little; a failed request that no later request of at least its size made
     * good means Duktape gave up on it. */
    uint32_t unmet_size;   /* largest failed request not yet made good, 0 when none */
    uint32_t used_at_fail; /* in_use at the last failure */
    uint32_t failures;     /* failed requests since init */
} js_pool;

/* mem must be 4-byte aligned; bytes is rounded down to a multiple of 4. */
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

/* Walks every block, the bitmap and the free list; returns 0 when consistent (tests). */
int js_pool_check(const js_pool *p);

#endif
