/* Reads credential parts through the store engine's C-only raw read (store_read_raw gives
 * the decrypted bytes; hal_store_read, the firmware's, answers the secret part with a
 * fingerprint). */
#include "credential.h"

#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

int credential_record_id(int handle, int part)
{
    if (handle < 1 || handle > CREDENTIAL_HANDLE_MAX || part < 0 || part > 15) return HAL_EINVAL;
    return STORE_CRED_ID(handle, part);
}

int credential_read(int handle, int part, uint8_t *out, size_t cap)
{
    int id = credential_record_id(handle, part);
    int n;
    if (id < 0) return id;
    n = store_read_raw(id, out, cap);
    if (n > (int) cap) n = HAL_ETOOBIG; /* a store that reports the full length of a longer record */
    if (n == HAL_ETOOBIG) mbedtls_platform_zeroize(out, cap);
    return n;
}

int credential_read_byte(int handle, int part)
{
    uint8_t b[2];
    int n = credential_read(handle, part, b, sizeof b);
    if (n < 0) return n;
    return n == 1 ? b[0] : HAL_ECORRUPT;
}

static int hash_part(mbedtls_sha256_context *sha, int handle, int part, uint8_t *scratch, size_t cap)
{
    uint8_t tag[5];
    int n = credential_read(handle, part, scratch, cap);
    if (n < 0 && n != HAL_ENOENT) return n;
    tag[0] = (uint8_t) part;
    tag[1] = (uint8_t) (n < 0 ? 0xFF : 0);
    tag[2] = (uint8_t) ((n > 0 ? n : 0) >> 16);
    tag[3] = (uint8_t) ((n > 0 ? n : 0) >> 8);
    tag[4] = (uint8_t) (n > 0 ? n : 0);
    mbedtls_sha256_update_ret(sha, tag, sizeof tag);
    if (n > 0) mbedtls_sha256_update_ret(sha, scratch, (size_t) n);
    mbedtls_platform_zeroize(scratch, cap);
    return HAL_OK;
}

int credential_fingerprint(int handle, uint8_t out[CREDENTIAL_FINGERPRINT_BYTES], uint8_t *scratch, size_t cap)
{
    mbedtls_sha256_context sha;
    int part, rc = HAL_OK;
    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts_ret(&sha, 0);
    for (part = 0; part < CREDENTIAL_PARTS && rc == HAL_OK; part++) rc = hash_part(&sha, handle, part, scratch, cap);
    if (rc == HAL_OK) mbedtls_sha256_finish_ret(&sha, out);
    mbedtls_sha256_free(&sha);
    return rc;
}
