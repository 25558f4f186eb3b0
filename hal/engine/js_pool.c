#include "js_pool.h"

#include <string.h>

/* Layout (see js_pool.h): granule = 4 bytes.
 *   [bitmap: 1 bit per granule of the whole region][block][block]...
 * Bit g is set when a block, allocated or free, starts at granule g; the bitmap's own
 * granules and the bits past the region stay clear. A free block keeps
 * {size, next free block} in its first granule (first two in a wide pool), both in
 * granules; next is 0 at the end of the list (granule 0 is the bitmap). The free list is
 * kept in address order: first fit then packs long-lived blocks at the bottom and keeps
 * the top contiguous for the large blocks, which come from the top (LARGE_GRANULES). (LIFO order fragmented Duktape's compiler workload so badly that a
 * 3 KB request failed with 100 KB free.) */
#define GRANULE 4u
/* A block is split only when the rest is at least this many granules; a smaller rest
 * stays with the allocation. Free slivers of 4..12 bytes are useless to Duktape (its
 * requests are mostly 17..64 bytes) and pile up at the bottom of the address-ordered
 * list, where every allocation walks past them. Measured on the app's bootstrap:
 * splitting down to 1 granule walked 167 free blocks per allocation (4.4x the CPU of the
 * whole run) for no gain in the smallest pool that runs it (within 0.1%). */
#define SPLIT_MIN 4u
/* Requests of at least this many granules (1 KB: function bytecode, value stacks, big
 * strings, the string table) are served from the top of the pool, from the end of the
 * highest free block that fits; smaller ones first-fit from the bottom. Small long-lived
 * objects then never split the region the big blocks need (measured: an overlay load that
 * found no 5 KB block with 23 KB free). */
#define LARGE_GRANULES 256u
#define NARROW_MAX_GRANULES 65536u /* 256 KB: 16-bit granule counts */

static uint32_t *bitmap(const js_pool *p) { return (uint32_t *) (void *) p->base; }
static int bm_test(const js_pool *p, uint32_t g) { return (int) ((bitmap(p)[g >> 5] >> (g & 31u)) & 1u); }
static void bm_set(js_pool *p, uint32_t g) { bitmap(p)[g >> 5] |= 1u << (g & 31u); }
static void bm_clear(js_pool *p, uint32_t g) { bitmap(p)[g >> 5] &= ~(1u << (g & 31u)); }

static uint32_t lowest_bit(uint32_t x)
{
#if defined(__GNUC__)
    return (uint32_t) __builtin_ctz(x);
#else
    uint32_t n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* The granule where the block starting at g ends: the next set bit, or the region's end. */
static uint32_t block_end(const js_pool *p, uint32_t g)
{
    const uint32_t *bm = bitmap(p);
    uint32_t from = g + 1, w, bits, words = (p->granules + 31u) >> 5, end;
    if (from >= p->granules) return p->granules;
    w = from >> 5;
    bits = bm[w] & (~0u << (from & 31u));
    while (bits == 0) {
        if (++w >= words) return p->granules;
        bits = bm[w];
    }
    end = (w << 5) + lowest_bit(bits);
    return end < p->granules ? end : p->granules;
}

/* Free-block fields, read and written with memcpy: the bytes were Duktape's objects. */
static uint32_t fr_size(const js_pool *p, uint32_t g)
{
    const uint8_t *a = p->base + g * GRANULE;
    if (p->wide) {
        uint32_t v;
        memcpy(&v, a, 4);
        return v;
    } else {
        uint16_t v;
        memcpy(&v, a, 2);
        return v;
    }
}

static uint32_t fr_next(const js_pool *p, uint32_t g)
{
    const uint8_t *a = p->base + g * GRANULE;
    if (p->wide) {
        uint32_t v;
        memcpy(&v, a + 4, 4);
        return v;
    } else {
        uint16_t v;
        memcpy(&v, a + 2, 2);
        return v;
    }
}

static void fr_set_next(js_pool *p, uint32_t g, uint32_t next)
{
    uint8_t *a = p->base + g * GRANULE;
    if (p->wide) {
        memcpy(a + 4, &next, 4);
    } else {
        uint16_t v = (uint16_t) next;
        memcpy(a + 2, &v, 2);
    }
}

static void fr_set(js_pool *p, uint32_t g, uint32_t size, uint32_t next)
{
    uint8_t *a = p->base + g * GRANULE;
    if (p->wide) {
        memcpy(a, &size, 4);
    } else {
        uint16_t v = (uint16_t) size;
        memcpy(a, &v, 2);
    }
    fr_set_next(p, g, next);
}

/* Makes the free list go from prev (0: the head) to g. */
static void link_after(js_pool *p, uint32_t prev, uint32_t g)
{
    if (prev == 0) p->free_head = g;
    else fr_set_next(p, prev, g);
}

/* The first free block at or above g (0 when none); *prev gets the free block before it
 * (0 when none) and *pprev the one before that, for unlinking *prev. */
static uint32_t find_free(const js_pool *p, uint32_t g, uint32_t *prev, uint32_t *pprev)
{
    uint32_t pp = 0, pr = 0, cur = p->free_head;
    while (cur != 0 && cur < g) {
        pp = pr;
        pr = cur;
        cur = fr_next(p, cur);
    }
    *prev = pr;
    if (pprev != NULL) *pprev = pp;
    return cur;
}

/* Granules of block needed for a request, or 0 when it cannot fit any pool. */
static uint32_t units_for(const js_pool *p, size_t size)
{
    uint32_t n;
    if (size > p->size) return 0;
    n = (uint32_t) ((size + GRANULE - 1u) / GRANULE);
    return n < p->min_units ? p->min_units : n;
}

/* Granule of an allocated block's payload, or 0 when ptr is not a block start. */
static uint32_t granule_of(const js_pool *p, const void *ptr)
{
    const uint8_t *b = (const uint8_t *) ptr;
    uint32_t off, g;
    if (b < p->base || b >= p->base + p->size) return 0;
    off = (uint32_t) (b - p->base);
    if (off & (GRANULE - 1u)) return 0;
    g = off / GRANULE;
    if (g < p->first || !bm_test(p, g)) return 0;
    return g;
}

static void made_good(js_pool *p, size_t size)
{
    if (size >= p->unmet_size) p->unmet_size = 0;
}

/* Counts units newly allocated for a request that found made_good bytes in one piece. */
static void account_alloc(js_pool *p, uint32_t units, size_t made_good_bytes)
{
    p->in_use += units * GRANULE;
    if (p->in_use > p->peak) p->peak = p->in_use;
    made_good(p, made_good_bytes);
}

static void *fail(js_pool *p, size_t size)
{
    uint32_t s = size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t) size;
    p->failures++;
    p->used_at_fail = p->in_use;
    if (s > p->unmet_size) p->unmet_size = s;
    return NULL;
}

void js_pool_init(js_pool *p, void *mem, size_t bytes)
{
    uint32_t words;
    if (bytes > 0xFFFFFFF0u) bytes = 0xFFFFFFF0u;
    p->base = (uint8_t *) mem;
    p->size = (uint32_t) (bytes & ~(size_t) (GRANULE - 1u));
    p->granules = p->size / GRANULE;
    p->wide = p->granules > NARROW_MAX_GRANULES;
    p->min_units = p->wide ? 2u : 1u;
    words = (p->granules + 31u) >> 5;
    p->first = words; /* one 32-bit bitmap word is one granule */
    p->reserved = p->first * GRANULE;
    p->free_head = 0;
    p->in_use = p->reserved;
    p->peak = p->in_use;
    p->unmet_size = 0;
    p->used_at_fail = 0;
    p->failures = 0;
    if (words == 0) return;
    memset(p->base, 0, p->reserved);
    if (p->first + p->min_units > p->granules) return; /* too small for any block */
    bm_set(p, p->first);
    fr_set(p, p->first, p->granules - p->first, 0);
    p->free_head = p->first;
}

/* Takes need granules from the front of free block g (list predecessor prev); the rest
 * stays free in its place unless it is under SPLIT_MIN. Returns the granules taken.
 * Leaves the start bit of g set. */
static uint32_t take_front(js_pool *p, uint32_t prev, uint32_t g, uint32_t need)
{
    uint32_t size = fr_size(p, g), next = fr_next(p, g);
    if (size - need >= SPLIT_MIN) {
        fr_set(p, g + need, size - need, next);
        bm_set(p, g + need);
        link_after(p, prev, g + need);
        return need;
    }
    link_after(p, prev, next);
    return size;
}

/* Takes need granules from the back of free block g (list predecessor prev); the front
 * stays free in its place unless the rest is under SPLIT_MIN. Returns the granule where the
 * allocation starts; *got gets the granules taken. */
static uint32_t take_back(js_pool *p, uint32_t prev, uint32_t g, uint32_t need, uint32_t *got)
{
    uint32_t size = fr_size(p, g);
    if (size - need >= SPLIT_MIN) {
        fr_set(p, g, size - need, fr_next(p, g));
        bm_set(p, g + size - need);
        *got = need;
        return g + size - need;
    }
    link_after(p, prev, fr_next(p, g));
    *got = size;
    return g;
}

void *js_pool_alloc(js_pool *p, size_t size)
{
    uint32_t need = units_for(p, size), prev = 0, g, top = 0, top_prev = 0, got;
    if (need == 0) return fail(p, size);
    if (need >= LARGE_GRANULES) {
        for (g = p->free_head; g != 0; prev = g, g = fr_next(p, g)) {
            if (fr_size(p, g) >= need) {
                top = g;
                top_prev = prev;
            }
        }
        if (top == 0) return fail(p, size);
        g = take_back(p, top_prev, top, need, &got);
        account_alloc(p, got, size);
        return p->base + g * GRANULE;
    }
    for (g = p->free_head; g != 0; prev = g, g = fr_next(p, g)) {
        if (fr_size(p, g) >= need) break;
    }
    if (g == 0) return fail(p, size);
    account_alloc(p, take_front(p, prev, g, need), size);
    return p->base + g * GRANULE;
}

/* Makes the n granules at g, whose start bit is set and which are in no list, a free
 * block, merging it with free neighbours. prev/cur: the list position, from find_free. */
static void release(js_pool *p, uint32_t g, uint32_t n, uint32_t prev, uint32_t cur)
{
    if (cur != 0 && g + n == cur) {
        n += fr_size(p, cur);
        bm_clear(p, cur);
        cur = fr_next(p, cur);
    }
    if (prev != 0 && prev + fr_size(p, prev) == g) {
        fr_set(p, prev, fr_size(p, prev) + n, cur);
        bm_clear(p, g);
    } else {
        fr_set(p, g, n, cur);
        link_after(p, prev, g);
    }
}

void js_pool_free(js_pool *p, void *ptr)
{
    uint32_t g = ptr == NULL ? 0 : granule_of(p, ptr);
    uint32_t prev, cur, n;
    if (g == 0) return;
    cur = find_free(p, g, &prev, NULL);
    if (cur == g) return; /* already free */
    n = block_end(p, g) - g;
    p->in_use -= n * GRANULE;
    release(p, g, n, prev, cur);
}

void *js_pool_realloc(js_pool *p, void *ptr, size_t size)
{
    uint32_t g, need, end, old, prev, pprev, cur, got;
    void *moved;
    if (ptr == NULL) return js_pool_alloc(p, size);
    if (size == 0) {
        js_pool_free(p, ptr);
        return NULL;
    }
    g = granule_of(p, ptr);
    need = units_for(p, size);
    if (g == 0 || need == 0) return fail(p, size);
    cur = find_free(p, g, &prev, &pprev);
    if (cur == g) return fail(p, size); /* not allocated */
    end = block_end(p, g);
    old = end - g;

    if (need <= old) { /* shrink in place, freeing the tail when it can stand alone or join a free block */
        if (old - need >= SPLIT_MIN || (old > need && cur == end)) {
            bm_set(p, g + need);
            release(p, g + need, old - need, prev, cur);
            p->in_use -= (old - need) * GRANULE;
        }
        return ptr; /* not a success that makes good a failed request: nothing was found */
    }

    /* grow in place into a free block just above */
    if (cur == end && old + fr_size(p, cur) >= need) {
        got = take_front(p, prev, cur, need - old);
        bm_clear(p, cur);
        account_alloc(p, got, got * GRANULE); /* only the growth was found free */
        return ptr;
    }

    /* grow downwards into a free block just below (and the one above, if free) */
    if (prev != 0 && prev + fr_size(p, prev) == g) {
        uint32_t above = cur == end ? fr_size(p, cur) : 0;
        uint32_t total = fr_size(p, prev) + old + above;
        if (total >= need) {
            uint32_t next = above ? fr_next(p, cur) : cur;
            if (above) bm_clear(p, cur);
            bm_clear(p, g);
            memmove(p->base + prev * GRANULE, ptr, old * GRANULE);
            if (total - need >= SPLIT_MIN) {
                bm_set(p, prev + need);
                fr_set(p, prev + need, total - need, next);
                link_after(p, pprev, prev + need);
            } else {
                need = total;
                link_after(p, pprev, next);
            }
            account_alloc(p, need - old, (need - old) * GRANULE);
            return p->base + prev * GRANULE;
        }
    }

    moved = js_pool_alloc(p, size);
    if (moved == NULL) return NULL;
    memcpy(moved, ptr, old * GRANULE);
    js_pool_free(p, ptr);
    return moved;
}

size_t js_pool_largest_free(const js_pool *p)
{
    uint32_t best = 0, g;
    for (g = p->free_head; g != 0; g = fr_next(p, g)) {
        if (fr_size(p, g) > best) best = fr_size(p, g);
    }
    return (size_t) best * GRANULE;
}

int js_pool_gave_up(const js_pool *p) { return p->unmet_size != 0; }

void js_pool_clear_failures(js_pool *p) { p->unmet_size = 0; }

int js_pool_check(const js_pool *p)
{
    uint32_t g, words = (p->granules + 31u) >> 5, free_units = 0, last_end = 0, n = 0;
    if (p->size == 0) return p->free_head == 0 ? 0 : -1;
    if (p->first == 0 || p->first != words || p->reserved != p->first * GRANULE) return -1;
    for (g = 0; g < p->first; g++) {
        if (bm_test(p, g)) return -1; /* the bitmap is no block */
    }
    for (g = p->granules; g < words * 32u; g++) {
        if (bm_test(p, g)) return -1; /* past the region */
    }
    if (p->first + p->min_units <= p->granules && !bm_test(p, p->first)) return -1;
    for (g = p->first; g < p->granules; g = block_end(p, g)) {
        if (block_end(p, g) - g < p->min_units) return -1; /* a block too small to be one */
        n++;
    }
    for (g = p->free_head; g != 0; g = fr_next(p, g)) {
        uint32_t size = fr_size(p, g);
        if (n-- == 0) return -5; /* more free blocks than blocks: a cycle */
        if (g < p->first || g >= p->granules || !bm_test(p, g)) return -2;
        if (g < last_end) return -2;       /* out of address order */
        if (g == last_end) return -3;      /* two free neighbours: missed coalesce */
        if (size < p->min_units || g + size != block_end(p, g)) return -2;
        free_units += size;
        last_end = g + size;
    }
    if (p->in_use != p->reserved + (p->granules - p->first - free_units) * GRANULE) return -4;
    if (p->peak < p->in_use) return -4;
    return 0;
}
