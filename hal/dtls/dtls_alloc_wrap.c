/* Allocator glue for an mbedTLS built without MBEDTLS_PLATFORM_MEMORY (Debian's): link it
 * statically with -Wl,--wrap=calloc -Wl,--wrap=free so its calloc/free land here. While a
 * DTLS session is being served its pool is selected and serves mbedTLS; other mbedTLS users
 * (the store's AES-GCM context) keep the C library allocator. Frees go to whichever owns the
 * pointer. Our own code never calls calloc/free. */
#if defined(MBEDTLS_CONFIG_FILE)
#include MBEDTLS_CONFIG_FILE
#else
#include "mbedtls/config.h"
#endif

#if !defined(MBEDTLS_PLATFORM_MEMORY)
#include <stddef.h>

#include "dtls_pool.h"

void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

void *__wrap_calloc(size_t n, size_t size)
{
    return dtls_pool_selected() ? dtls_pool_calloc(n, size) : __real_calloc(n, size);
}

void __wrap_free(void *p)
{
    if (dtls_pool_owns(p)) dtls_pool_free(p);
    else __real_free(p);
}
#else
typedef int dtls_alloc_wrap_unused; /* ISO C wants a non-empty unit */
#endif
