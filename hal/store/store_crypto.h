/* Authenticated encryption of credential records (AES-256-GCM under a key derived from the
 * device key). store_crypto.c uses mbedTLS (link -lmbedcrypto); boards without mbedTLS link
 * store_crypto_none.c instead (build/cbuild.ts keeps exactly one of X.c and X_none.c). */
#ifndef STORE_CRYPTO_H
#define STORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "hal_codes.h"

#define STORE_NONCE_BYTES 12
#define STORE_TAG_BYTES 16
#define STORE_CRYPTO_CHUNK 64 /* seal_update lengths are multiples of 16 except the last */

/* HAL_OK when credentials can be encrypted, HAL_ENOTSUP when the board has no key or no crypto. */
int store_crypto_init(void);

/* Unique per write: the record sequence number plus 8 random bytes. */
int store_crypto_nonce(uint32_t seq, uint8_t nonce[STORE_NONCE_BYTES]);

int store_crypto_seal_start(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len);
int store_crypto_seal_update(const uint8_t *in, uint8_t *out, size_t len);
int store_crypto_seal_finish(uint8_t tag[STORE_TAG_BYTES]);

/* Decrypts buf in place. HAL_EAUTH (and buf zeroed) when the tag does not verify. */
int store_crypto_open(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len,
                      uint8_t *buf, size_t len, const uint8_t tag[STORE_TAG_BYTES]);

#endif
