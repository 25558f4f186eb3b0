/* Sessions kept for resumption (abbreviated handshake, no tickets): one serialized
 * mbedtls_ssl_session per credential, in static RAM, tied to the credential's fingerprint so
 * a re-bootstrapped credential never resumes a session made with the old one. */
#include <string.h>

#include "credential.h"
#include "dtls_internal.h"
#include "mbedtls/platform_util.h"

typedef struct {
    int credential; /* 0: empty */
    uint32_t age;
    uint8_t fingerprint[CREDENTIAL_FINGERPRINT_BYTES];
    size_t len;
    uint8_t data[DTLS_RESUME_BYTES];
} saved_session;

static saved_session saved[DTLS_SESSIONS];
static uint32_t clock_ticks;

static saved_session *find(int credential)
{
    int i;
    for (i = 0; i < DTLS_SESSIONS; i++) {
        if (saved[i].credential == credential) return &saved[i];
    }
    return NULL;
}

static saved_session *slot_for(int credential)
{
    saved_session *e = find(credential);
    int i;
    if (e == NULL) e = find(0);
    for (i = 0; e == NULL && i < DTLS_SESSIONS; i++) {
        if (i == 0 || saved[i].age < e->age) e = &saved[i];
    }
    return e;
}

static void wipe(saved_session *e) { mbedtls_platform_zeroize(e, sizeof *e); }

void dtls_resume_drop(int credential)
{
    int i;
    for (i = 0; i < DTLS_SESSIONS; i++) {
        if (saved[i].credential != 0 && (credential == 0 || saved[i].credential == credential)) wipe(&saved[i]);
    }
}

void dtls_resume_offer(dtls_session *s)
{
    saved_session *e = find(s->credential);
    mbedtls_ssl_session session;
    if (e == NULL) return;
    if (memcmp(e->fingerprint, s->fingerprint, sizeof e->fingerprint) != 0) {
        wipe(e);
        return;
    }
    mbedtls_ssl_session_init(&session);
    if (mbedtls_ssl_session_load(&session, e->data, e->len) == 0 && mbedtls_ssl_set_session(&s->ssl, &session) == 0) {
        memcpy(s->offered_id, session.id, session.id_len);
        s->offered_id_len = session.id_len;
    }
    mbedtls_ssl_session_free(&session);
}

void dtls_resume_save(dtls_session *s)
{
    mbedtls_ssl_session session;
    saved_session *e;
    mbedtls_ssl_session_init(&session);
    if (mbedtls_ssl_get_session(&s->ssl, &session) == 0 && session.id_len > 0) {
        e = slot_for(s->credential);
        wipe(e);
        if (mbedtls_ssl_session_save(&session, e->data, sizeof e->data, &e->len) == 0) {
            e->credential = s->credential;
            e->age = ++clock_ticks;
            memcpy(e->fingerprint, s->fingerprint, sizeof e->fingerprint);
        } else {
            wipe(e);
        }
    } else {
        dtls_resume_drop(s->credential); /* the server does not resume: stop offering */
    }
    mbedtls_ssl_session_free(&session);
}
