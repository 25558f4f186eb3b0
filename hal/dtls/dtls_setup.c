/* The mbedTLS configuration of one session, built from its credential: PSK, or X.509 with
 * ECDSA P-256 and the server verified against part 2 as certificate usage (part 4) says. */
#include <string.h>

#include "credential.h"
#include "dtls_internal.h"
#include "mbedtls/platform_util.h"

static const int psk_suites[] = {
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8,
    MBEDTLS_TLS_PSK_WITH_AES_128_CBC_SHA256,
    0,
};

static const int cert_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    0,
};

/* Only what the suites need: fewer bytes in the ClientHello. */
static const mbedtls_ecp_group_id curves[] = { MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE };
static const int sig_hashes[] = { MBEDTLS_MD_SHA256, MBEDTLS_MD_NONE };

static uint8_t secret[DTLS_SECRET_BYTES];

static int contains(const int *list, int suite)
{
    for (; *list != 0; list++) {
        if (*list == suite) return 1;
    }
    return 0;
}

/* The mode's suites, narrowed to the requested ones when a list was set. */
static int pick_suites(dtls_session *s, const int *mode_suites, const int *wanted)
{
    int n = 0;
    for (; *mode_suites != 0; mode_suites++) {
        if (wanted == NULL || contains(wanted, *mode_suites)) s->suites[n++] = *mode_suites;
    }
    s->suites[n] = 0;
    return n > 0 ? HAL_OK : HAL_EINVAL;
}

static int mbed_rc(int rc) { return rc == 0 ? HAL_OK : rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? HAL_ENOMEM : HAL_EINVAL; }

static int base_config(dtls_session *s, mbedtls_ctr_drbg_context *drbg)
{
    mbedtls_ssl_config *c = &s->conf;
    int rc = mbedtls_ssl_config_defaults(c, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) return mbed_rc(rc);
    mbedtls_ssl_conf_rng(c, mbedtls_ctr_drbg_random, drbg);
    mbedtls_ssl_conf_min_version(c, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(c, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(c, s->suites);
    mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    mbedtls_ssl_conf_handshake_timeout(c, DTLS_HS_TIMEOUT_MIN_MS, DTLS_HS_TIMEOUT_MAX_MS);
    mbedtls_ssl_conf_curves(c, curves);
    mbedtls_ssl_conf_sig_hashes(c, sig_hashes);
    return HAL_OK;
}

static int setup_psk(dtls_session *s)
{
    int id_len = credential_read(s->credential, CREDENTIAL_PART_IDENTITY, dtls_scratch, sizeof dtls_scratch);
    int key_len = credential_read(s->credential, CREDENTIAL_PART_SECRET, secret, sizeof secret);
    int rc = id_len < 0 ? id_len : key_len < 0 ? key_len : HAL_OK;
    if (rc == HAL_OK && (id_len == 0 || key_len == 0)) rc = HAL_EINVAL;
    if (rc == HAL_OK) {
        rc = mbed_rc(mbedtls_ssl_conf_psk(&s->conf, secret, (size_t) key_len, dtls_scratch, (size_t) id_len));
    }
    mbedtls_platform_zeroize(secret, sizeof secret);
    mbedtls_platform_zeroize(dtls_scratch, sizeof dtls_scratch);
    return rc;
}

static int same_der(const mbedtls_x509_crt *a, const mbedtls_x509_crt *b)
{
    return a->raw.len == b->raw.len && memcmp(a->raw.p, b->raw.p, a->raw.len) == 0;
}

/* Called by mbedTLS for each certificate of the chain it built, root first. Usage 0 and 2
 * keep mbedTLS's path validation with part 2 as the only trust anchor (with no other store on
 * the meter, "CA constraint" reduces to that). Usage 3 pins the server's own certificate:
 * an exact match is trusted whatever its issuer and dates, anything else is refused. Usage 1
 * pins it too but keeps the date checks. */
static int verify_peer(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const dtls_session *s = (const dtls_session *) ctx;
    if (s->usage != DTLS_USAGE_DOMAIN_ISSUED && s->usage != DTLS_USAGE_SERVICE_CERT) return 0;
    if (depth > 0) {
        *flags = 0;
        return 0;
    }
    if (!same_der(crt, &s->anchor)) *flags = MBEDTLS_X509_BADCERT_NOT_TRUSTED;
    else if (s->usage == DTLS_USAGE_DOMAIN_ISSUED) *flags = 0;
    else *flags &= MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE;
    return 0;
}

static int load_anchor(dtls_session *s)
{
    int n = credential_read(s->credential, CREDENTIAL_PART_SERVER_KEY, dtls_scratch, sizeof dtls_scratch);
    int rc = n < 0 ? n : mbedtls_x509_crt_parse_der(&s->anchor, dtls_scratch, (size_t) n) == 0 ? HAL_OK : HAL_EINVAL;
    mbedtls_platform_zeroize(dtls_scratch, sizeof dtls_scratch);
    return rc;
}

/* Own certificate and key; a credential without them still verifies the server. */
static int load_own(dtls_session *s)
{
    int n = credential_read(s->credential, CREDENTIAL_PART_IDENTITY, dtls_scratch, sizeof dtls_scratch);
    int k, rc = HAL_OK;
    if (n == HAL_ENOENT || n == 0) return HAL_OK;
    if (n < 0) return n;
    if (mbedtls_x509_crt_parse_der(&s->own_cert, dtls_scratch, (size_t) n) != 0) rc = HAL_EINVAL;
    mbedtls_platform_zeroize(dtls_scratch, sizeof dtls_scratch);
    k = credential_read(s->credential, CREDENTIAL_PART_SECRET, secret, sizeof secret);
    if (rc == HAL_OK && k < 0) rc = k;
    if (rc == HAL_OK && mbedtls_pk_parse_key(&s->own_key, secret, (size_t) k, NULL, 0) != 0) rc = HAL_EINVAL;
    mbedtls_platform_zeroize(secret, sizeof secret);
    if (rc == HAL_OK) rc = mbed_rc(mbedtls_ssl_conf_own_cert(&s->conf, &s->own_cert, &s->own_key));
    return rc;
}

static int setup_cert(dtls_session *s)
{
    int usage = credential_read_byte(s->credential, CREDENTIAL_PART_USAGE);
    int rc;
    if (usage == HAL_ENOENT) usage = DTLS_USAGE_DOMAIN_ISSUED;
    if (usage < 0) return usage;
    if (usage > DTLS_USAGE_DOMAIN_ISSUED) return HAL_ENOTSUP;
    s->usage = usage;
    rc = load_anchor(s);
    if (rc == HAL_OK) rc = load_own(s);
    if (rc != HAL_OK) return rc;
    mbedtls_ssl_conf_ca_chain(&s->conf, &s->anchor, NULL);
    mbedtls_ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_verify(&s->conf, verify_peer, s);
    return HAL_OK;
}

int dtls_setup(dtls_session *s, mbedtls_ctr_drbg_context *drbg, const int *suites)
{
    int mode = credential_read_byte(s->credential, CREDENTIAL_PART_MODE);
    int rc;
    mbedtls_ssl_init(&s->ssl);
    mbedtls_ssl_config_init(&s->conf);
    mbedtls_x509_crt_init(&s->anchor);
    mbedtls_x509_crt_init(&s->own_cert);
    mbedtls_pk_init(&s->own_key);
    if (mode < 0) return mode;
    if (mode == DTLS_MODE_NOSEC) return HAL_EINVAL;
    if (mode != DTLS_MODE_PSK && mode != DTLS_MODE_CERT) return HAL_ENOTSUP; /* RPK: mbedTLS 2.28 has no RFC 7250 */
    rc = pick_suites(s, mode == DTLS_MODE_PSK ? psk_suites : cert_suites, suites);
    if (rc == HAL_OK) rc = base_config(s, drbg);
    if (rc == HAL_OK) rc = mode == DTLS_MODE_PSK ? setup_psk(s) : setup_cert(s);
    return rc;
}

void dtls_teardown(dtls_session *s)
{
    mbedtls_ssl_free(&s->ssl);
    mbedtls_ssl_config_free(&s->conf);
    mbedtls_x509_crt_free(&s->anchor);
    mbedtls_x509_crt_free(&s->own_cert);
    mbedtls_pk_free(&s->own_key);
}
