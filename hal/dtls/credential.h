/* Credential records in the store (hal/store/store.h): handle h (1..255) names the records
 * 0x8000 | (h << 4) | part. Read here with store_read_raw, the C-only read of real bytes. */
#ifndef DTLS_CREDENTIAL_H
#define DTLS_CREDENTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "hal_codes.h"
#include "store.h"

#define CREDENTIAL_PART_MODE STORE_CRED_MODE             /* 1 byte: 0 PSK, 1 RPK, 2 certificate, 3 NoSec */
#define CREDENTIAL_PART_IDENTITY STORE_CRED_IDENTITY     /* PSK identity, or own certificate (DER) */
#define CREDENTIAL_PART_SERVER_KEY STORE_CRED_SERVER_KEY /* server certificate or trust anchor (DER) */
#define CREDENTIAL_PART_SECRET STORE_CRED_SECRET         /* PSK, or private key (DER, PKCS#8 or SEC1) */
#define CREDENTIAL_PART_USAGE STORE_CRED_USAGE           /* 1 byte, optional: usage, default 3 */
#define CREDENTIAL_PARTS 5

#define CREDENTIAL_HANDLE_MAX 255
#define CREDENTIAL_FINGERPRINT_BYTES 32

/* Store id of a part, or HAL_EINVAL for a bad handle/part. */
int credential_record_id(int handle, int part);

/* Real bytes of a part into out: its length, HAL_ENOENT when absent, HAL_ETOOBIG when it
 * does not fit (out is then wiped). The caller wipes secrets with mbedtls_platform_zeroize. */
int credential_read(int handle, int part, uint8_t *out, size_t cap);

/* One byte part (mode, usage): its value, or a negative HAL_E*. */
int credential_read_byte(int handle, int part);

/* SHA-256 over every part (absent parts count as absent), to tie a saved session to the
 * exact credential it was made with. scratch holds one part at a time and is wiped. Never
 * print it: it is a function of the secret. */
int credential_fingerprint(int handle, uint8_t out[CREDENTIAL_FINGERPRINT_BYTES], uint8_t *scratch, size_t cap);

#endif
