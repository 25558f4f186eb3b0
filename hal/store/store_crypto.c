/* Credential encryption with mbedTLS: AES-256-GCM, key = HMAC-SHA256(device key, label). */
#include "store_crypto.h"
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>
#include "device_key.h"
#include "hal_rng.h"

static const char KEY_LABEL[] = "lwm2m-store-credentials-v1";

static mbedtls_gcm_context gcm;
static int ready;

static int derive_key(uint8_t key[32])
{
    uint8_t device_key[32];
    int rc = device_key_get(device_key);
    if (rc == HAL_OK) {
        const mbedtls_md_info_t *sha256 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        rc = mbedtls_md_hmac(sha256, device_key, sizeof device_key, (const uint8_t *) KEY_LABEL,
                             sizeof KEY_LABEL - 1, key) == 0 ? HAL_OK : HAL_EIO;
    }
    mbedtls_platform_zeroize(device_key, sizeof device_key);
    return rc;
}

int store_crypto_init(void)
{
    uint8_t key[32];
    int rc;
    if (ready) {
        mbedtls_gcm_free(&gcm);
        ready = 0;
    }
    rc = derive_key(key);
    if (rc == HAL_OK) {
        mbedtls_gcm_init(&gcm);
        rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256) == 0 ? HAL_OK : HAL_EIO;
        ready = rc == HAL_OK;
    }
    mbedtls_platform_zeroize(key, sizeof key);
    return rc;
}

int store_crypto_nonce(uint32_t seq, uint8_t nonce[STORE_NONCE_BYTES])
{
    nonce[0] = (uint8_t) seq;
    nonce[1] = (uint8_t) (seq >> 8);
    nonce[2] = (uint8_t) (seq >> 16);
    nonce[3] = (uint8_t) (seq >> 24);
    return hal_rng_fill(nonce + 4, STORE_NONCE_BYTES - 4) < 0 ? HAL_EIO : HAL_OK;
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
/* mbedTLS 3.x moved the additional data out of starts() and gave update() an output size. */
int store_crypto_seal_start(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len)
{
    if (!ready) return HAL_ENOTSUP;
    if (mbedtls_gcm_starts(&gcm, MBEDTLS_GCM_ENCRYPT, nonce, STORE_NONCE_BYTES) != 0) return HAL_EIO;
    return mbedtls_gcm_update_ad(&gcm, aad, aad_len) == 0 ? HAL_OK : HAL_EIO;
}

int store_crypto_seal_update(const uint8_t *in, uint8_t *out, size_t len)
{
    size_t written = 0;
    return mbedtls_gcm_update(&gcm, in, len, out, len, &written) == 0 && written == len ? HAL_OK : HAL_EIO;
}

int store_crypto_seal_finish(uint8_t tag[STORE_TAG_BYTES])
{
    size_t written = 0;
    return mbedtls_gcm_finish(&gcm, NULL, 0, &written, tag, STORE_TAG_BYTES) == 0 ? HAL_OK : HAL_EIO;
}
#else
int store_crypto_seal_start(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len)
{
    if (!ready) return HAL_ENOTSUP;
    return mbedtls_gcm_starts(&gcm, MBEDTLS_GCM_ENCRYPT, nonce, STORE_NONCE_BYTES, aad, aad_len) == 0
               ? HAL_OK : HAL_EIO;
}

int store_crypto_seal_update(const uint8_t *in, uint8_t *out, size_t len)
{
    return mbedtls_gcm_update(&gcm, len, in, out) == 0 ? HAL_OK : HAL_EIO;
}

int store_crypto_seal_finish(uint8_t tag[STORE_TAG_BYTES])
{
    return mbedtls_gcm_finish(&gcm, tag, STORE_TAG_BYTES) == 0 ? HAL_OK : HAL_EIO;
}
#endif

int store_crypto_open(const uint8_t nonce[STORE_NONCE_BYTES], const uint8_t *aad, size_t aad_len,
                      uint8_t *buf, size_t len, const uint8_t tag[STORE_TAG_BYTES])
{
    int rc;
    if (!ready) return HAL_ENOTSUP;
    rc = mbedtls_gcm_auth_decrypt(&gcm, len, nonce, STORE_NONCE_BYTES, aad, aad_len, tag,
                                  STORE_TAG_BYTES, buf, buf);
    if (rc == 0) return HAL_OK;
    mbedtls_platform_zeroize(buf, len);
    return rc == MBEDTLS_ERR_GCM_AUTH_FAILED ? HAL_EAUTH : HAL_EIO;
}
