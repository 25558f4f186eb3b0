/* Static memory pools for mbedTLS, one per DTLS session slot, so the board (board.json
 * hal.dtls.sessionBytes) controls the RAM and a session cannot starve another. mbedTLS's
 * allocations go to the pool selected with dtls_pool_select; frees find their pool by
 * address. With MBEDTLS_PLATFORM_MEMORY the pools are installed through
 * mbedtls_platform_set_calloc_free; Debian's mbedTLS lacks it, so the host links mbedTLS
 * statically with -Wl,--wrap=calloc,--wrap=free (see dtls_alloc_wrap.c). */
#ifndef DTLS_POOL_H
#define DTLS_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *base;
    uint32_t size;
    uint32_t used; /* bytes in allocated blocks, headers included */
    uint32_t peak;
    uint32_t failures;
} dtls_pool;

void dtls_pool_init(dtls_pool *pool, void *mem, uint32_t size);

/* Routes mbedTLS allocations to pool (NULL: none selected). Returns the previous one. */
dtls_pool *dtls_pool_select(dtls_pool *pool);

/* The calloc/free pair given to mbedTLS. Without a selected pool, calloc returns NULL. */
void *dtls_pool_calloc(size_t n, size_t size);
void dtls_pool_free(void *p);

/* 1 when p lies in a registered pool. */
int dtls_pool_owns(const void *p);

/* 1 when a pool is selected (allocations are the DTLS session's). */
int dtls_pool_selected(void);

/* One-time hook-up of mbedTLS to dtls_pool_calloc/free (no-op without PLATFORM_MEMORY). */
void dtls_pool_install(void);

#endif
