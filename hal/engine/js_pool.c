#include "js_pool.h"

#include <string.h>

/* Block layout: [size_and_used:4][prev_size:4][payload...]
 * size counts the header, is a multiple of 8 and has bit 0 set when allocated;
 * prev_size is the size of the block just below (0 for the first one).
 * A free block keeps the offsets of its free-list neighbours in its payload. */
#define HDR_BYTES 8u
#define MIN_BLOCK 16u
#define USED_BIT 1u

typedef struct {
    uint32_t size_used;
    uint32_t prev_size;
} block_hdr;

typedef struct {
    uint32_t next;
    uint32_t prev;
} free_links;

static block_hdr *hdr_at(const js_pool *p, uint32_t off) { return (block_hdr *) (void *) (p->base + off); }
static free_links *links_at(const js_pool *p, uint32_t off) { return (free_links *) (void *) (p->base + off + HDR_BYTES); }
static uint32_t block_size(const js_pool *p, uint32_t off) { return hdr_at(p, off)->size_used & ~USED_BIT; }
static int block_used(const js_pool *p, uint32_t off) { return (int) (hdr_at(p, off)->size_used & USED_BIT); }

static uint32_t next_block(const js_pool *p, uint32_t off)
{
    uint32_t next = off + block_size(p, off);
    return next < p->size ? next : JS_POOL_NIL;
}

static void set_block(js_pool *p, uint32_t off, uint32_t size, int used)
{
    uint32_t next;
    hdr_at(p, off)->size_used = size | (used ? USED_BIT : 0u);
    next = off + size;
    if (next < p->size) hdr_at(p, next)->prev_size = size;
}

/* The free list is kept in address order: first fit then packs long-lived blocks at
 * the bottom and keeps the top contiguous. (LIFO order fragmented Duktape's compiler
 * workload so badly that a 3 KB request failed with 100 KB free.) */
static void list_insert(js_pool *p, uint32_t off)
{
    free_links *l = links_at(p, off);
    uint32_t prev = JS_POOL_NIL, cur = p->free_head;
    while (cur != JS_POOL_NIL && cur < off) {
        prev = cur;
        cur = links_at(p, cur)->next;
    }
    l->prev = prev;
    l->next = cur;
    if (cur != JS_POOL_NIL) links_at(p, cur)->prev = off;
    if (prev != JS_POOL_NIL) links_at(p, prev)->next = off;
    else p->free_head = off;
}

/* Puts the free block new_off at the list position whose links were saved: no search.
 * Callers save the links first because the new block's header may overwrite them. */
static void list_relink(js_pool *p, free_links where, uint32_t new_off)
{
    free_links *n = links_at(p, new_off);
    n->prev = where.prev;
    n->next = where.next;
    if (n->prev != JS_POOL_NIL) links_at(p, n->prev)->next = new_off;
    else p->free_head = new_off;
    if (n->next != JS_POOL_NIL) links_at(p, n->next)->prev = new_off;
}

static void list_replace(js_pool *p, uint32_t old_off, uint32_t new_off) { list_relink(p, *links_at(p, old_off), new_off); }

static void list_unlink(js_pool *p, uint32_t off)
{
    free_links *l = links_at(p, off);
    if (l->prev != JS_POOL_NIL) links_at(p, l->prev)->next = l->next;
    else p->free_head = l->next;
    if (l->next != JS_POOL_NIL) links_at(p, l->next)->prev = l->prev;
}

/* Bytes of block needed for a request, or 0 when it cannot fit any pool. */
static uint32_t block_need(const js_pool *p, size_t size)
{
    uint32_t need;
    if (size > p->size) return 0;
    need = ((uint32_t) size + HDR_BYTES + 7u) & ~7u;
    return need < MIN_BLOCK ? MIN_BLOCK : need;
}

static void made_good(js_pool *p, size_t size)
{
    if (size >= p->unmet_size) p->unmet_size = 0;
}

static void account_alloc(js_pool *p, uint32_t bytes, size_t size)
{
    p->in_use += bytes;
    if (p->in_use > p->peak) p->peak = p->in_use;
    made_good(p, size);
}

static void *fail(js_pool *p, size_t size)
{
    uint32_t s = size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t) size;
    p->failures++;
    p->used_at_fail = p->in_use;
    if (s > p->unmet_size) p->unmet_size = s;
    return NULL;
}

/* Frees the tail of an allocated block beyond keep bytes when it is big enough to
 * stand alone, merging it with a free block that follows. */
static void trim_block(js_pool *p, uint32_t off, uint32_t keep)
{
    uint32_t size = block_size(p, off);
    uint32_t rest = size - keep;
    uint32_t tail = off + keep;
    uint32_t after = off + size;
    if (rest < MIN_BLOCK) return;
    set_block(p, off, keep, 1);
    if (after < p->size && !block_used(p, after)) {
        set_block(p, tail, rest + block_size(p, after), 0);
        list_replace(p, after, tail);
    } else {
        set_block(p, tail, rest, 0);
        list_insert(p, tail);
    }
}

void js_pool_init(js_pool *p, void *mem, size_t bytes)
{
    p->base = (uint8_t *) mem;
    p->size = (uint32_t) (bytes & ~(size_t) 7u);
    p->free_head = JS_POOL_NIL;
    p->in_use = 0;
    p->peak = 0;
    p->unmet_size = 0;
    p->used_at_fail = 0;
    p->failures = 0;
    if (p->size < MIN_BLOCK) return;
    hdr_at(p, 0)->prev_size = 0;
    set_block(p, 0, p->size, 0);
    list_insert(p, 0);
}

/* Takes need bytes from the front of free block off; the rest stays free in its place. */
static void take_front(js_pool *p, uint32_t off, uint32_t need)
{
    uint32_t size = block_size(p, off);
    if (size - need < MIN_BLOCK) {
        list_unlink(p, off);
        set_block(p, off, size, 1);
        return;
    }
    set_block(p, off + need, size - need, 0);
    list_replace(p, off, off + need);
    set_block(p, off, need, 1);
}

void *js_pool_alloc(js_pool *p, size_t size)
{
    uint32_t need = block_need(p, size);
    uint32_t off;
    if (need == 0) return fail(p, size);
    for (off = p->free_head; off != JS_POOL_NIL; off = links_at(p, off)->next) {
        if (block_size(p, off) >= need) break;
    }
    if (off == JS_POOL_NIL) return fail(p, size);
    take_front(p, off, need);
    account_alloc(p, block_size(p, off), size);
    return p->base + off + HDR_BYTES;
}

static uint32_t offset_of(const js_pool *p, const void *ptr)
{
    const uint8_t *b = (const uint8_t *) ptr;
    if (b < p->base + HDR_BYTES || b >= p->base + p->size) return JS_POOL_NIL;
    if (((uint32_t) (b - p->base) & 7u) != 0) return JS_POOL_NIL;
    return (uint32_t) (b - p->base) - HDR_BYTES;
}

void js_pool_free(js_pool *p, void *ptr)
{
    uint32_t off = offset_of(p, ptr);
    uint32_t size, next, prev;
    int next_free, prev_free;
    if (off == JS_POOL_NIL || !block_used(p, off)) return;
    size = block_size(p, off);
    p->in_use -= size;
    next = next_block(p, off);
    prev = off - hdr_at(p, off)->prev_size;
    next_free = next != JS_POOL_NIL && !block_used(p, next);
    prev_free = off > 0 && !block_used(p, prev);
    if (prev_free) {
        if (next_free) {
            list_unlink(p, next);
            size += block_size(p, next);
        }
        set_block(p, prev, block_size(p, prev) + size, 0);
    } else if (next_free) {
        set_block(p, off, size + block_size(p, next), 0);
        list_replace(p, next, off);
    } else {
        set_block(p, off, size, 0);
        list_insert(p, off);
    }
}

/* Grows the block in place by absorbing a free successor; 1 on success. */
static int grow_in_place(js_pool *p, uint32_t off, uint32_t need, size_t size)
{
    uint32_t old = block_size(p, off);
    uint32_t next = next_block(p, off);
    uint32_t next_size;
    if (next == JS_POOL_NIL || block_used(p, next)) return 0;
    next_size = block_size(p, next);
    if (old + next_size < need) return 0;
    if (old + next_size - need < MIN_BLOCK) {
        list_unlink(p, next);
        set_block(p, off, old + next_size, 1);
    } else {
        free_links where = *links_at(p, next);
        set_block(p, off + need, old + next_size - need, 0);
        list_relink(p, where, off + need);
        set_block(p, off, need, 1);
    }
    account_alloc(p, block_size(p, off) - old, size);
    return 1;
}

void *js_pool_realloc(js_pool *p, void *ptr, size_t size)
{
    uint32_t off, need, old;
    void *moved;
    if (ptr == NULL) return js_pool_alloc(p, size);
    if (size == 0) {
        js_pool_free(p, ptr);
        return NULL;
    }
    off = offset_of(p, ptr);
    need = block_need(p, size);
    if (off == JS_POOL_NIL || !block_used(p, off) || need == 0) return fail(p, size);
    old = block_size(p, off);
    if (need <= old) {
        trim_block(p, off, need);
        p->in_use -= old - block_size(p, off);
        made_good(p, size);
        return ptr;
    }
    if (grow_in_place(p, off, need, size)) return ptr;
    moved = js_pool_alloc(p, size);
    if (moved == NULL) return NULL;
    memcpy(moved, ptr, old - HDR_BYTES);
    js_pool_free(p, ptr);
    return moved;
}

size_t js_pool_largest_free(const js_pool *p)
{
    uint32_t best = 0, off;
    for (off = p->free_head; off != JS_POOL_NIL; off = links_at(p, off)->next) {
        if (block_size(p, off) > best) best = block_size(p, off);
    }
    return best > HDR_BYTES ? best - HDR_BYTES : 0;
}

int js_pool_gave_up(const js_pool *p) { return p->unmet_size != 0; }

void js_pool_clear_failures(js_pool *p) { p->unmet_size = 0; }

static uint32_t count_free_list(const js_pool *p)
{
    uint32_t n = 0, off;
    for (off = p->free_head; off != JS_POOL_NIL && n <= p->size / MIN_BLOCK; off = links_at(p, off)->next) n++;
    return n;
}

int js_pool_check(const js_pool *p)
{
    uint32_t off = 0, prev_size = 0, used = 0, free_blocks = 0;
    int prev_free = 0;
    while (off < p->size) {
        uint32_t size = block_size(p, off);
        if (size < MIN_BLOCK || (size & 7u) || off + size > p->size) return -1;
        if (hdr_at(p, off)->prev_size != prev_size) return -2;
        if (!block_used(p, off) && prev_free) return -3; /* two free neighbours: missed coalesce */
        if (block_used(p, off)) used += size;
        else free_blocks++;
        prev_free = !block_used(p, off);
        prev_size = size;
        off += size;
    }
    if (used != p->in_use) return -4;
    if (count_free_list(p) != free_blocks) return -5;
    return 0;
}
