/* For boards without mbedTLS: credentials are stored in clear (store_mount reports it). */
#include "store_crypto.h"

int store_crypto_init(void)
{
    return HAL_ENOTSUP;
}

int store_crypto_nonce(uint32_t seq, uint8_t nonce[STORE_NONCE_BYTES])
{
    (void) seq;
    (void) nonce;
    return HAL_ENOTSUP;
}

int store_crypto_seal_start(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len)
{
    (void) nonce;
    (void) aad;
    (void) aad_len;
    return HAL_ENOTSUP;
}

int store_crypto_seal_update(const uint8_t *in, uint8_t *out, size_t len)
{
    (void) in;
    (void) out;
    (void) len;
    return HAL_ENOTSUP;
}

int store_crypto_seal_finish(uint8_t tag[STORE_TAG_BYTES])
{
    (void) tag;
    return HAL_ENOTSUP;
}

int store_crypto_open(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len,
                      uint8_t *buf, size_t len, const uint8_t tag[STORE_TAG_BYTES])
{
    (void) nonce;
    (void) aad;
    (void) aad_len;
    (void) buf;
    (void) len;
    (void) tag;
    return HAL_ENOTSUP;
}
