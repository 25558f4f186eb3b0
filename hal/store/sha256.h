/* SHA-256 (FIPS 180-4) for credential fingerprints on every board, with or without mbedTLS. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const uint8_t *data, size_t len, uint8_t digest[32]);

#endif
