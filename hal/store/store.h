/* Record store engine behind hal_store_* (hal_store.h). C-side API for the runtime and tests. */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>
#include "hal_codes.h"

#ifndef STORE_MAX_RECORDS
#define STORE_MAX_RECORDS 64 /* live records held in the RAM index */
#endif

#ifndef STORE_TXN_MAX
#define STORE_TXN_MAX 32 /* distinct ids one transaction may touch */
#endif

#ifndef STORE_MAX_DATA
#define STORE_MAX_DATA 2048 /* largest record value, in bytes */
#endif

#define STORE_CREDENTIAL_ID 0x8000 /* ids from here on are credentials */

/* Credential handle h (1..255) names the records 0x8000 | h << 4 | part. */
#define STORE_CRED_MODE 0       /* security mode, 1 byte (/0/x/2) */
#define STORE_CRED_MODE_PSK 0
#define STORE_CRED_IDENTITY 1   /* PSK identity or own certificate (/0/x/3) */
#define STORE_CRED_SERVER_KEY 2 /* server certificate or trust anchor (/0/x/4) */
#define STORE_CRED_SECRET 3     /* PSK or private key (/0/x/5): never returned to the firmware */
#define STORE_CRED_USAGE 4      /* certificate usage, 1 byte (/0/x/15) */
#define STORE_CRED_ID(h, part) (STORE_CREDENTIAL_ID | ((h) << 4) | (part))
#define STORE_FINGERPRINT_BYTES 8

/* The real bytes of any record, for C consumers such as the DTLS offload. hal_store_read is
 * the same except for the credential parts store_fingerprinted() names: the firmware gets
 * those only as fingerprints (secret keys, server keys, and own certificates; a PSK
 * identity is not secret and reads back as it is). */
int store_read_raw(int id, uint8_t *out, size_t out_cap);
int store_fingerprinted(int id);

/* Call once at boot before any hal_store_*: scans the flash, rebuilds the index, finishes an
 * interrupted compaction and reports what it skipped through store_report(). Returns HAL_OK,
 * or HAL_EIO when the flash cannot be read/written (hal_store_* then return HAL_ECLOSED). */
int store_mount(void);

/* Factory reset of secrets: removes every credential record (id >= 0x8000) with tombstones in
 * one transaction, then programs 0x00 over every copy still in flash (live, superseded, torn,
 * uncommitted), oldest first, and erases half-erased sectors. A power cut part-way leaves either
 * all credentials or none. HAL_EBUSY inside a transaction. Other records are kept. */
int store_wipe_credentials(void);

/* Hook: one line per problem found (corruption skipped, tag failure, no device key). Never
 * contains secret bytes. hal/store/store_report.c sends it to hal_log_write; tests replace it. */
void store_report(const char *what);

typedef struct {
    uint32_t records;      /* live records in the index */
    uint32_t corrupt;      /* records or areas skipped since mount */
    uint32_t auth_failed;  /* credential records whose tag did not verify */
    uint32_t dropped_txns; /* unclosed transactions ignored at mount */
    uint32_t compactions;  /* sectors compacted since mount */
    uint32_t live_bytes;   /* flash bytes held by live records */
    int encrypted;         /* 1 when credentials are encrypted at rest */
} store_stats;

void store_get_stats(store_stats *out);

/* For tests and diagnostics: flash offset of the record an id currently reads from; returns
 * its stored length or HAL_ENOENT. */
int store_locate(int id, uint32_t *off);

/* Erase count of each sector as recorded in the sector headers. Returns how many were filled. */
int store_erase_counts(uint32_t *counts, uint32_t n);

#endif
