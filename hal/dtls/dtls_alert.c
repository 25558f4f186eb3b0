/* What a failed handshake or session reports in HAL_EV_DTLS_ALERT: the TLS alert the peer
 * sent, or the one that describes our own refusal, or a negative HAL_E* for no-TLS causes. */
#include "dtls_internal.h"

#include "mbedtls/net_sockets.h"
#include "mbedtls/x509.h"

static int certificate_alert(const mbedtls_ssl_context *ssl)
{
    uint32_t flags = mbedtls_ssl_get_verify_result(ssl);
    if (flags != (uint32_t) -1 && (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) &&
        !(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)) {
        return DTLS_ALERT_CERTIFICATE_EXPIRED;
    }
    return DTLS_ALERT_BAD_CERTIFICATE;
}

static int local_failure(int err)
{
    switch (err) {
    case MBEDTLS_ERR_SSL_TIMEOUT: return HAL_ETIMEDOUT;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
    case MBEDTLS_ERR_X509_ALLOC_FAILED: return HAL_ENOMEM;
    case MBEDTLS_ERR_NET_SEND_FAILED:
    case MBEDTLS_ERR_NET_RECV_FAILED: return HAL_EIO;
    case MBEDTLS_ERR_SSL_BAD_INPUT_DATA: return HAL_EINVAL;
    default: return 0;
    }
}

int dtls_alert_of(int err, const mbedtls_ssl_context *ssl)
{
    int local = local_failure(err);
    if (local != 0) return local;
    switch (err) {
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
        return ssl->in_msg != NULL ? ssl->in_msg[1] : DTLS_ALERT_HANDSHAKE_FAILURE;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: return DTLS_ALERT_CLOSE_NOTIFY;
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: return certificate_alert(ssl);
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE: return DTLS_ALERT_BAD_CERTIFICATE;
    case MBEDTLS_ERR_SSL_BAD_HS_FINISHED: return DTLS_ALERT_DECRYPT_ERROR;
    case MBEDTLS_ERR_SSL_INVALID_MAC: return DTLS_ALERT_BAD_RECORD_MAC;
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE:
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_REQUEST:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO_DONE:
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION: return DTLS_ALERT_HANDSHAKE_FAILURE;
    default: return DTLS_ALERT_INTERNAL_ERROR;
    }
}
