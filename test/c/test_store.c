/* Tests of the record store (hal/store/store.c) over a RAM NOR flash with power-cut injection.
 * Built by test/unit/store.test.ts with store_crypto.c or store_crypto_none.c (-DSTORE_CRYPTO=0)
 * and two geometries.
 * Prints one line per test ("ok name (N checks)" or "FAIL ...") and exits 1 when a check failed. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "device_key.h"
#include "flash.h"
#include "hal_rng.h"
#include "hal_store.h"
#include "store.h"

#ifndef STORE_CRYPTO
#define STORE_CRYPTO 1 /* 0 when built with store_crypto_none.c */
#endif

/* ---- RAM NOR flash ---- */

static uint8_t ram[FLASH_TOTAL_BYTES];
static uint32_t ram_erases[BOARD_STORE_SECTORS];
static long ram_ops;       /* program and erase operations since the last power-on */
static long ram_die_at;    /* the op that is torn by a power cut, 0 for none */
static jmp_buf *ram_cut;   /* where the "power cut" lands */
static int ram_bad_programs; /* programs that tried to turn a 0 bit into 1, or were misaligned */

static void ram_power_on(void)
{
    ram_ops = 0;
    ram_die_at = 0;
    ram_cut = NULL;
}

static void ram_fresh(void)
{
    memset(ram, 0xFF, sizeof ram);
    memset(ram_erases, 0, sizeof ram_erases);
    ram_bad_programs = 0;
    ram_power_on();
}

static int in_range(uint32_t off, size_t len)
{
    return off <= FLASH_TOTAL_BYTES && len <= FLASH_TOTAL_BYTES - off;
}

int flash_read(uint32_t off, uint8_t *buf, size_t len)
{
    if (!in_range(off, len)) return HAL_EINVAL;
    if (len > 0) memcpy(buf, ram + off, len);
    return HAL_OK;
}

/* 0: a cut op does its first half; 1: and random bits of the rest; 2: an erase cut leaves the
 * sector header and sets random bits of the rest */
static int ram_noisy_tear;
static uint32_t noise = 1;

static int torn_now(void)
{
    return ++ram_ops == ram_die_at;
}

static uint8_t noise_byte(void)
{
    noise = noise * 1103515245u + 12345u;
    return (uint8_t) (noise >> 16);
}

int flash_program(uint32_t off, const uint8_t *data, size_t len)
{
    size_t i;
    int torn;
    if (!in_range(off, len)) return HAL_EINVAL;
    if (off % 4 != 0 || len % 4 != 0) ram_bad_programs++;
    torn = torn_now();
    for (i = 0; i < len; i++) {
        uint8_t d = data[i];
        if (torn && i >= len / 2) d = ram_noisy_tear ? (uint8_t) (d | noise_byte()) : 0xFF;
        if (data[i] & ~ram[off + i]) ram_bad_programs++;
        ram[off + i] &= d;
    }
    if (torn) longjmp(*ram_cut, 1);
    return HAL_OK;
}

int flash_erase(uint32_t sector)
{
    uint8_t *p = ram + sector * FLASH_SECTOR_BYTES;
    uint32_t i;
    if (sector >= FLASH_SECTORS) return HAL_EINVAL;
    if (torn_now() && ram_noisy_tear == 2) {
        for (i = 32; i < FLASH_SECTOR_BYTES; i++) p[i] |= noise_byte(); /* the header survives */
        longjmp(*ram_cut, 1);
    }
    if (ram_ops == ram_die_at) {
        memset(p, 0xFF, FLASH_SECTOR_BYTES / 2);
        for (i = FLASH_SECTOR_BYTES / 2; ram_noisy_tear && i < FLASH_SECTOR_BYTES; i++) p[i] |= noise_byte();
        longjmp(*ram_cut, 1);
    }
    memset(ram + sector * FLASH_SECTOR_BYTES, 0xFF, FLASH_SECTOR_BYTES);
    ram_erases[sector]++;
    return HAL_OK;
}

/* ---- hooks the store needs ---- */

static int have_device_key = 1;
static char reports[4096];
static int report_count;

void store_report(const char *what)
{
    report_count++;
    if (strlen(reports) + strlen(what) + 2 < sizeof reports) {
        strcat(reports, what);
        strcat(reports, "\n");
    }
    if (getenv("STORE_TEST_VERBOSE")) printf("    report: %s\n", what);
}

static int reported(const char *needle)
{
    return strstr(reports, needle) != NULL;
}

static void clear_reports(void)
{
    reports[0] = 0;
    report_count = 0;
}

int device_key_get(uint8_t key[32])
{
    int i;
    if (!have_device_key) return HAL_ENOTSUP;
    for (i = 0; i < 32; i++) key[i] = (uint8_t) (0xA0 + i);
    return HAL_OK;
}

static uint32_t rng_state = 12345;

int hal_rng_fill(uint8_t *out, size_t out_cap)
{
    size_t i;
    for (i = 0; i < out_cap; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 17;
        rng_state ^= rng_state << 5;
        out[i] = (uint8_t) rng_state;
    }
    return HAL_OK;
}

/* ---- checks ---- */

static int checks, failures;

#define CHECK(cond) check((cond) != 0, #cond, __LINE__)
#define CHECK_EQ(a, b) check_eq((long) (a), (long) (b), #a " == " #b, __LINE__)

static void check(int ok, const char *what, int line)
{
    checks++;
    if (ok) return;
    failures++;
    if (failures < 40) printf("    check failed at line %d: %s\n", line, what);
}

static void check_eq(long a, long b, const char *what, int line)
{
    checks++;
    if (a == b) return;
    failures++;
    if (failures < 40) printf("    check failed at line %d: %s (%ld != %ld)\n", line, what, a, b);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 0x9E3779B9u;
    size_t i;
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t) (x >> 8);
    }
}

/* 1 when id reads back exactly len bytes made by fill(seed). */
static int holds(int id, size_t len, unsigned seed)
{
    uint8_t got[STORE_MAX_DATA], want[STORE_MAX_DATA];
    int n = store_read_raw(id, got, sizeof got);
    fill(want, len, seed);
    return n == (int) len && memcmp(got, want, len) == 0;
}

static int put(int id, size_t len, unsigned seed)
{
    uint8_t buf[STORE_MAX_DATA];
    fill(buf, len, seed);
    return hal_store_write(id, buf, len);
}

static int find_bytes(const uint8_t *needle, size_t len)
{
    size_t i;
    for (i = 0; i + len <= sizeof ram; i++) {
        if (memcmp(ram + i, needle, len) == 0) return 1;
    }
    return 0;
}

static int remount(void)
{
    ram_power_on();
    clear_reports();
    return store_mount();
}

/* ---- tests ---- */

static void t_empty_and_garbage(void)
{
    uint8_t buf[8];
    unsigned i;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(hal_store_read(1, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(report_count, STORE_CRYPTO ? 0 : 1);
    for (i = 0; i < sizeof ram; i++) ram[i] = (uint8_t) (i * 2654435761u >> 13);
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(hal_store_read(1, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(put(1, 5, 1), HAL_OK);
    CHECK(holds(1, 5, 1));
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(1, 5, 1));
}

static void t_round_trip(void)
{
    static const size_t sizes[] = { 0, 1, 3, 4, 100, STORE_MAX_DATA / 2 + 1, STORE_MAX_DATA };
    uint8_t small[2];
    unsigned i;
    CHECK_EQ(remount(), HAL_OK);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) CHECK_EQ(put((int) i + 10, sizes[i], i), HAL_OK);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) CHECK(holds((int) i + 10, sizes[i], i));
    CHECK_EQ(hal_store_read(14, small, sizeof small), HAL_ETOOBIG);
    CHECK_EQ(hal_store_read(14, NULL, 0), HAL_ETOOBIG);
    CHECK_EQ(hal_store_read(10, NULL, 0), 0);
    CHECK_EQ(put(11, 7, 99), HAL_OK);
    CHECK_EQ(hal_store_remove(12), HAL_OK);
    CHECK_EQ(hal_store_remove(12), HAL_ENOENT);
    CHECK_EQ(hal_store_read(12, small, sizeof small), HAL_ENOENT);
    CHECK_EQ(put(-1, 1, 0), HAL_EINVAL);
    CHECK_EQ(put(0x10000, 1, 0), HAL_EINVAL);
    CHECK_EQ(hal_store_write(1, small, STORE_MAX_DATA + 1), HAL_ETOOBIG);
    CHECK_EQ(hal_store_commit(), HAL_EINVAL);
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(report_count, STORE_CRYPTO ? 0 : 1);
    CHECK(holds(10, 0, 0));
    CHECK(holds(11, 7, 99));
    CHECK_EQ(hal_store_read(12, small, sizeof small), HAL_ENOENT);
    CHECK(holds(16, STORE_MAX_DATA, 6));
    CHECK(holds(0xFFFF, 0, 0) == 0);
    CHECK_EQ(ram_bad_programs, 0);
}

static void t_credentials_at_rest(void)
{
    uint8_t secret[48];
    uint32_t off1 = 0, off2 = 0;
    store_stats stats;
    CHECK_EQ(remount(), HAL_OK);
    fill(secret, sizeof secret, 77);
    CHECK_EQ(hal_store_write(0x8001, secret, sizeof secret), HAL_OK);
    CHECK(store_locate(0x8001, &off1) >= 0);
    CHECK_EQ(hal_store_write(0x8001, secret, sizeof secret), HAL_OK);
    CHECK(store_locate(0x8001, &off2) >= 0);
    CHECK(holds(0x8001, sizeof secret, 77));
    CHECK_EQ(find_bytes(secret, 16), !STORE_CRYPTO);
    /* same plaintext twice: different nonce, different ciphertext */
    CHECK(!STORE_CRYPTO || memcmp(ram + off1 + 20, ram + off2 + 20, 40) != 0);
    store_get_stats(&stats);
    CHECK_EQ(stats.encrypted, STORE_CRYPTO);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(0x8001, sizeof secret, 77));
}

static void t_transactions(void)
{
    uint8_t buf[16];
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(1, 10, 1), HAL_OK);
    CHECK_EQ(put(2, 10, 2), HAL_OK);
    CHECK_EQ(put(3, 10, 3), HAL_OK);
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(hal_store_begin(), HAL_EBUSY);
    CHECK_EQ(put(1, 11, 11), HAL_OK);
    CHECK_EQ(put(1, 12, 12), HAL_OK);
    CHECK_EQ(hal_store_remove(2), HAL_OK);
    CHECK_EQ(put(4, 14, 14), HAL_OK);
    CHECK_EQ(put(0x8004, 14, 15), HAL_OK);
    CHECK(holds(1, 12, 12)); /* the transaction reads its own writes */
    CHECK_EQ(hal_store_read(2, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(hal_store_commit(), HAL_OK);
    CHECK(holds(1, 12, 12) && holds(3, 10, 3) && holds(4, 14, 14) && holds(0x8004, 14, 15));
    CHECK_EQ(hal_store_read(2, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(1, 12, 12) && holds(3, 10, 3) && holds(4, 14, 14) && holds(0x8004, 14, 15));
    CHECK_EQ(hal_store_read(2, buf, sizeof buf), HAL_ENOENT);

    /* abort */
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(put(1, 5, 50), HAL_OK);
    CHECK_EQ(hal_store_remove(3), HAL_OK);
    CHECK_EQ(hal_store_abort(), HAL_OK);
    CHECK(holds(1, 12, 12) && holds(3, 10, 3));
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(1, 12, 12) && holds(3, 10, 3));

    /* unclosed at "power off" */
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(put(1, 6, 60), HAL_OK);
    CHECK_EQ(put(9, 6, 61), HAL_OK);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(reported("unclosed transaction"));
    CHECK(holds(1, 12, 12));
    CHECK_EQ(hal_store_read(9, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(put(9, 7, 70), HAL_OK);
    CHECK_EQ(hal_store_commit(), HAL_OK);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(9, 7, 70) && holds(1, 12, 12));
    /* empty transaction */
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(hal_store_commit(), HAL_OK);
    CHECK_EQ(ram_bad_programs, 0);
}

/* Many rewrites of a small working set through a small ring: compaction, wear and remounts. */
static void t_compaction_and_wear(void)
{
    enum { IDS = 12 };
    static unsigned seed_of[IDS];
    static size_t len_of[IDS];
    uint32_t i, lo = 0xFFFFFFFFu, hi = 0, counts[BOARD_STORE_SECTORS];
    int writes = 0, bad = 0;
    size_t max_len = FLASH_SECTOR_BYTES / 16;
    store_stats stats;
    CHECK_EQ(remount(), HAL_OK);
    for (i = 0; i < 20000; i++) {
        uint32_t id = (i * 7) % IDS, r = i * 2654435761u;
        size_t len = (r >> 8) % max_len;
        if (put((int) id + (id % 3 == 0 ? 0x8000 : 0), len, i) == HAL_OK) {
            seed_of[id] = i;
            len_of[id] = len;
            writes++;
        }
        if (i % 2500 == 2499) {
            CHECK_EQ(remount(), HAL_OK);
            CHECK_EQ(report_count, STORE_CRYPTO ? 0 : 1);
        }
    }
    CHECK_EQ(writes, 20000);
    for (i = 0; i < IDS; i++) bad += !holds((int) i + (i % 3 == 0 ? 0x8000 : 0), len_of[i], seed_of[i]);
    CHECK_EQ(bad, 0);
    store_get_stats(&stats);
    CHECK_EQ(stats.records, IDS);
    for (i = 0; i < FLASH_SECTORS; i++) {
        if (ram_erases[i] < lo) lo = ram_erases[i];
        if (ram_erases[i] > hi) hi = ram_erases[i];
    }
    CHECK(lo > 10);
    CHECK(hi - lo <= 2);
    store_erase_counts(counts, FLASH_SECTORS);
    for (i = 0; i < FLASH_SECTORS; i++) CHECK(counts[i] + 1 >= ram_erases[i] && counts[i] <= ram_erases[i] + 1);
    printf("    %d writes, sector erases %u..%u\n", writes, (unsigned) lo, (unsigned) hi);
    CHECK_EQ(ram_bad_programs, 0);
}

static void t_full(void)
{
    int id, stored = 0, rc = HAL_OK;
    size_t big = STORE_MAX_DATA;
    CHECK_EQ(remount(), HAL_OK);
    for (id = 0; id < STORE_MAX_RECORDS && rc == HAL_OK; id++) {
        rc = put(id, big, (unsigned) id);
        stored += rc == HAL_OK;
    }
    CHECK_EQ(rc, HAL_ENOSPC);
    CHECK(stored > 0);
    for (id = 0; id < stored; id++) CHECK(holds(id, big, (unsigned) id));
    CHECK_EQ(remount(), HAL_OK);
    for (id = 0; id < stored; id++) CHECK(holds(id, big, (unsigned) id));
    CHECK_EQ(hal_store_remove(0), HAL_OK);
    CHECK_EQ(put(1000, 16, 5), HAL_OK);
    CHECK_EQ(hal_store_remove(1), HAL_OK);
    CHECK_EQ(put(1, big, 9), HAL_OK);
    CHECK(holds(1, big, 9));
    for (id = 2; id < stored; id++) CHECK(holds(id, big, (unsigned) id));

    /* the index limit */
    ram_fresh();
    CHECK_EQ(remount(), HAL_OK);
    for (id = 0; id < STORE_MAX_RECORDS; id++) CHECK_EQ(put(id, 4, (unsigned) id), HAL_OK);
    CHECK_EQ(put(STORE_MAX_RECORDS, 4, 0), HAL_ENOSPC);
    CHECK_EQ(put(3, 8, 33), HAL_OK);
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(hal_store_remove(4), HAL_OK);
    CHECK_EQ(put(STORE_MAX_RECORDS, 4, 1), HAL_ENOSPC); /* the remove is not committed yet */
    CHECK_EQ(hal_store_commit(), HAL_OK);
    CHECK_EQ(put(STORE_MAX_RECORDS, 4, 1), HAL_OK);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(3, 8, 33) && holds(STORE_MAX_RECORDS, 4, 1));
    CHECK_EQ(ram_bad_programs, 0);
}

static void t_corrupted_crc(void)
{
    uint8_t buf[64];
    uint32_t off;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(1, 40, 1), HAL_OK);
    CHECK_EQ(put(2, 40, 2), HAL_OK);
    CHECK_EQ(put(3, 40, 3), HAL_OK);
    CHECK(store_locate(2, &off) == 40);
    ram[off + 20 + 5] ^= 0x10; /* a bit flips at rest */
    CHECK_EQ(remount(), HAL_OK);
    CHECK(reported("bad crc"));
    CHECK_EQ(hal_store_read(2, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(1, 40, 1) && holds(3, 40, 3));
    /* a flip after mount: the read reports it and the record is treated as absent */
    CHECK(store_locate(3, &off) == 40);
    ram[off + 20] ^= 1;
    CHECK_EQ(hal_store_read(3, buf, sizeof buf), HAL_ECORRUPT);
    CHECK(reported("crc error"));
    CHECK_EQ(hal_store_read(3, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(put(2, 8, 22), HAL_OK);
    CHECK_EQ(put(3, 8, 33), HAL_OK);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(1, 40, 1) && holds(2, 8, 22) && holds(3, 8, 33));
    /* an unreadable header: the rest of its sector is skipped (there is no resync inside a
     * sector: a record's payload could imitate a header), the store goes on in a new sector */
    CHECK_EQ(put(4, 8, 44), HAL_OK);
    CHECK(store_locate(4, &off) == 8);
    ram[off] = 0x00;
    CHECK_EQ(remount(), HAL_OK);
    CHECK(reported("unreadable"));
    CHECK_EQ(hal_store_read(4, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(1, 40, 1) && holds(2, 8, 22) && holds(3, 8, 33));
    CHECK_EQ(put(5, 8, 55), HAL_OK);
    CHECK(store_locate(5, &off) == 8 && off >= FLASH_SECTOR_BYTES);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(1, 40, 1) && holds(2, 8, 22) && holds(3, 8, 33) && holds(5, 8, 55));
    CHECK_EQ(ram_bad_programs, 0);
}

/* Recomputes the CRC of the record at off, as an attacker with flash access would. */
static void fix_crc(uint32_t off)
{
    uint8_t hdr[16];
    uint32_t crc = 0xFFFFFFFFu, len = (uint32_t) (ram[off + 4] | ram[off + 5] << 8), i, k;
    memcpy(hdr, ram + off, 16);
    hdr[7] |= 0x80;
    for (i = 0; i < 16 + len; i++) {
        crc ^= i < 16 ? hdr[i] : ram[off + 20 + i - 16];
        for (k = 0; k < 8; k++) crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    crc = ~crc;
    for (i = 0; i < 4; i++) ram[off + 16 + i] = (uint8_t) (crc >> (8 * i));
}

static void t_tampered_credential(void)
{
    uint8_t buf[64];
    uint32_t off;
    if (!STORE_CRYPTO) return;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(0x8002, 32, 2), HAL_OK);
    CHECK_EQ(put(0x8003, 32, 3), HAL_OK);
    CHECK_EQ(put(5, 32, 5), HAL_OK);
    CHECK(store_locate(0x8002, &off) == 32 + 28);
    ram[off + 20 + 12 + 3] ^= 0x01; /* ciphertext byte */
    fix_crc(off);
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(report_count, 0); /* the CRC is right: only the tag can tell */
    CHECK_EQ(hal_store_read(0x8002, buf, sizeof buf), HAL_EAUTH);
    CHECK(reported("authentication failed"));
    CHECK_EQ(hal_store_read(0x8002, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(0x8003, 32, 3) && holds(5, 32, 5));
    /* a ciphertext moved to another id does not verify either */
    CHECK(store_locate(0x8003, &off) >= 0);
    ram[off + 2] = 0x00; /* id 0x8003 -> 0x8000 */
    ram[off + 3] = 0x80;
    fix_crc(off);
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(hal_store_read(0x8000, buf, sizeof buf), HAL_EAUTH);
    /* a credential planted in clear is refused when the board encrypts */
    CHECK_EQ(put(7, 16, 7), HAL_OK);
    CHECK(store_locate(7, &off) == 16);
    ram[off + 2] = 0x07; /* id 0x0007 -> 0x8007 */
    ram[off + 3] = 0x80;
    fix_crc(off);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(reported("unencrypted credential"));
    CHECK_EQ(hal_store_read(0x8007, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(5, 32, 5));
    CHECK_EQ(put(0x8002, 32, 22), HAL_OK);
    CHECK(holds(0x8002, 32, 22));
}

/* A board whose key cannot be read: encrypted records stay, unreadable, until it is back. */
static void t_missing_key(void)
{
    uint8_t buf[64];
    if (!STORE_CRYPTO) return;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(0x8001, 32, 1), HAL_OK);
    CHECK_EQ(put(1, 32, 2), HAL_OK);
    have_device_key = 0;
    CHECK_EQ(remount(), HAL_OK);
    CHECK(reported("no device key"));
    CHECK_EQ(hal_store_read(0x8001, buf, sizeof buf), HAL_EAUTH);
    CHECK(holds(1, 32, 2));
    have_device_key = 1;
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(0x8001, 32, 1));
}

/* A write cut by a power loss at its first flash operation. */
static void torn_put(int id, size_t len, unsigned seed)
{
    jmp_buf cut;
    ram_die_at = ram_ops + 1;
    ram_cut = &cut;
    if (setjmp(cut) == 0) put(id, len, seed);
}

static void t_wipe_credentials(void)
{
    enum { SECRET = 40 };
    uint8_t secret[SECRET], copies[8][24], buf[64];
    int ncopies = 0, i, round;
    uint32_t off;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(1, 30, 1), HAL_OK);
    /* versions of a secret, some moved by compaction, one in an unclosed transaction */
    for (round = 0; round < 3; round++) {
        CHECK_EQ(put(0x8001, SECRET, 100 + round), HAL_OK);
        CHECK(store_locate(0x8001, &off) >= 0);
        memcpy(copies[ncopies++], ram + off + 20 + (STORE_CRYPTO ? 12 : 0), sizeof copies[0]);
        for (i = 0; i < 40; i++) CHECK_EQ(put(2, FLASH_SECTOR_BYTES / 8, (unsigned) i), HAL_OK);
    }
    CHECK_EQ(put(0x9000, SECRET, 200), HAL_OK);
    CHECK(store_locate(0x9000, &off) >= 0);
    memcpy(copies[ncopies++], ram + off + 20 + (STORE_CRYPTO ? 12 : 0), sizeof copies[0]);
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(put(0x8001, SECRET, 300), HAL_OK);
    CHECK(store_locate(0x8001, &off) >= 0);
    memcpy(copies[ncopies++], ram + off + 20 + (STORE_CRYPTO ? 12 : 0), sizeof copies[0]);
    torn_put(0x8005, SECRET, 400); /* a torn credential write at the very end */
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(0x8001, SECRET, 102) && holds(0x9000, SECRET, 200));
    for (i = 2; i < ncopies; i++) CHECK_EQ(find_bytes(copies[i], sizeof copies[0]), 1);
    fill(secret, SECRET, 400);
    CHECK_EQ(find_bytes(secret, 8), !STORE_CRYPTO);

    CHECK_EQ(store_wipe_credentials(), HAL_OK);
    for (i = 0; i < ncopies; i++) CHECK_EQ(find_bytes(copies[i], sizeof copies[0]), 0);
    for (round = 0; round < 4; round++) {
        fill(secret, SECRET, round == 3 ? 400 : 100 + round);
        CHECK_EQ(find_bytes(secret, 8), 0);
    }
    CHECK_EQ(hal_store_read(0x8001, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(hal_store_read(0x9000, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(1, 30, 1) && holds(2, FLASH_SECTOR_BYTES / 8, 39));
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(report_count, STORE_CRYPTO ? 0 : 1); /* zeroized records are skipped quietly */
    CHECK_EQ(hal_store_read(0x8001, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(hal_store_read(0x9000, buf, sizeof buf), HAL_ENOENT);
    CHECK(holds(1, 30, 1) && holds(2, FLASH_SECTOR_BYTES / 8, 39));
    CHECK_EQ(put(0x8001, SECRET, 500), HAL_OK);
    CHECK(holds(0x8001, SECRET, 500));
    CHECK_EQ(ram_bad_programs, 0);
}

/* Replaced secrets: scrub zeroizes every older copy and keeps the live ones readable. */
static void t_scrub(void)
{
    enum { SECRET = 40 };
    uint8_t copies[4][24], buf[64];
    int ncopies = 0, i, round;
    uint32_t off;
    CHECK_EQ(remount(), HAL_OK);
    CHECK_EQ(put(1, 30, 1), HAL_OK);
    for (round = 0; round < 4; round++) {
        CHECK_EQ(put(0x8011, SECRET, 100 + round), HAL_OK);
        CHECK(store_locate(0x8011, &off) >= 0);
        memcpy(copies[ncopies++], ram + off + 20 + (STORE_CRYPTO ? 12 : 0), sizeof copies[0]);
        for (i = 0; i < 20; i++) CHECK_EQ(put(2, FLASH_SECTOR_BYTES / 8, (unsigned) i), HAL_OK);
    }
    CHECK_EQ(put(0x8022, SECRET, 7), HAL_OK);
    CHECK_EQ(hal_store_remove(0x8022), HAL_OK);
    CHECK_EQ(hal_store_begin(), HAL_OK);
    CHECK_EQ(hal_store_scrub(), HAL_EBUSY);
    CHECK_EQ(hal_store_abort(), HAL_OK);
    CHECK_EQ(hal_store_scrub(), HAL_OK);
    for (i = 0; i < ncopies - 1; i++) CHECK_EQ(find_bytes(copies[i], sizeof copies[0]), 0);
    CHECK_EQ(find_bytes(copies[ncopies - 1], sizeof copies[0]), 1);
    CHECK(holds(0x8011, SECRET, 103) && holds(1, 30, 1));
    CHECK_EQ(hal_store_read(0x8022, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(remount(), HAL_OK);
    CHECK(holds(0x8011, SECRET, 103) && holds(1, 30, 1) && holds(2, FLASH_SECTOR_BYTES / 8, 19));
    CHECK_EQ(hal_store_read(0x8022, buf, sizeof buf), HAL_ENOENT);
    CHECK_EQ(put(0x8011, SECRET, 200), HAL_OK);
    CHECK(holds(0x8011, SECRET, 200));
    CHECK_EQ(ram_bad_programs, 0);
}

/* ---- power-cut sweeps ---- */

typedef struct {
    int id;
    size_t len; /* 0 with seed 0: absent */
    unsigned seed;
} expect;

#define CONFIG_IDS 7
static const expect old_config[CONFIG_IDS] = {
    { 1, 40, 1 }, { 2, 300, 2 }, { 3, 12, 3 }, { 4, 64, 4 }, { 5, 0, 0 }, { 0x8001, 32, 6 }, { 0x8002, 16, 7 },
};
static const expect new_config[CONFIG_IDS] = {
    { 1, 44, 11 }, { 2, 0, 0 }, { 3, 12, 3 }, { 4, 200, 14 }, { 5, 20, 15 }, { 0x8001, 32, 16 }, { 0x8002, 0, 0 },
};

static int matches(const expect *cfg)
{
    uint8_t buf[8];
    int i;
    for (i = 0; i < CONFIG_IDS; i++) {
        const expect *e = &cfg[i];
        if (e->seed == 0 ? hal_store_read(e->id, buf, sizeof buf) != HAL_ENOENT : !holds(e->id, e->len, e->seed)) return 0;
    }
    return 1;
}

/* Applies cfg as one transaction over whatever the store holds. */
static int write_config(const expect *cfg)
{
    int i, rc = hal_store_begin();
    for (i = 0; rc == HAL_OK && i < CONFIG_IDS; i++) {
        const expect *e = &cfg[i];
        if (e->seed != 0) {
            rc = put(e->id, e->len, e->seed);
        } else {
            rc = hal_store_remove(e->id);
            if (rc == HAL_ENOENT) rc = HAL_OK;
        }
    }
    return rc == HAL_OK ? hal_store_commit() : rc;
}

/* Old config, rewrites until the ring has turned (so the update has to compact), then start
 * small records that move the head along a sector: the update meets a sector end everywhere. */
static void prepare(int start)
{
    int i;
    uint32_t s, erases = 0;
    ram_fresh();
    store_mount();
    write_config(old_config);
    for (i = 0; erases < FLASH_SECTORS + 2; i++) {
        put(100 + i % 5, FLASH_SECTOR_BYTES / 10, (unsigned) i + 1000);
        for (erases = 0, s = 0; s < FLASH_SECTORS; s++) erases += ram_erases[s];
    }
    for (i = 0; i < start; i++) put(105, 28, (unsigned) i + 2000);
}

/* Runs the update with a cut at op n; returns 1 when it finished without reaching n. */
static int update_with_cut(long n)
{
    jmp_buf cut;
    ram_power_on();
    clear_reports();
    store_mount();
    ram_die_at = ram_ops + n;
    ram_cut = &cut;
    if (setjmp(cut) != 0) return 0;
    CHECK_EQ(write_config(new_config), HAL_OK);
    return 1;
}

static void sweep_one_start(int start, long *cuts, long *olds, long *news, long *compacting)
{
    static uint8_t before[FLASH_TOTAL_BYTES];
    long n;
    int done = 0;
    prepare(start);
    memcpy(before, ram, sizeof ram);
    for (n = 1; !done; n++) {
        int is_old, is_new;
        store_stats stats;
        memcpy(ram, before, sizeof ram);
        done = update_with_cut(n);
        store_get_stats(&stats);
        *compacting += done && stats.compactions > 0;
        CHECK_EQ(remount(), HAL_OK);
        is_old = matches(old_config);
        is_new = matches(new_config);
        if (!(is_old || is_new)) printf("    mixed state after a cut at op %ld (start %d)\n", n, start);
        CHECK(is_old || is_new);
        CHECK(!done || is_new);
        *olds += is_old;
        *news += is_new;
        *cuts += !done;
        /* and the store takes the next transaction */
        CHECK_EQ(hal_store_begin(), HAL_OK);
        CHECK_EQ(put(3, 9, 900), HAL_OK);
        CHECK_EQ(put(100, 9, 901), HAL_OK);
        CHECK_EQ(hal_store_commit(), HAL_OK);
        CHECK_EQ(remount(), HAL_OK);
        CHECK(holds(3, 9, 900) && holds(100, 9, 901));
    }
}

static void t_power_cut_sweep(void)
{
    long cuts = 0, olds = 0, news = 0, ops, compacting = 0;
    int start;
    store_stats stats;
    prepare(0);
    remount();
    ram_power_on();
    write_config(new_config);
    ops = ram_ops;
    for (start = 0; start < (int) (FLASH_SECTOR_BYTES / 48) + 2; start++) {
        ram_noisy_tear = start % 3;
        sweep_one_start(start, &cuts, &olds, &news, &compacting);
    }
    ram_noisy_tear = 0;
    store_get_stats(&stats);
    printf("    transaction of %d records: %ld flash ops; %ld cuts swept (%ld old, %ld new), %ld of %d runs compacted\n",
           CONFIG_IDS, ops, cuts, olds, news, compacting, start);
    CHECK(olds > 0 && news > 0);
    CHECK(compacting >= 3);
    CHECK_EQ(ram_bad_programs, 0);
}

static int wipe_with_cut(long n)
{
    jmp_buf cut;
    ram_power_on();
    store_mount();
    ram_die_at = ram_ops + n;
    ram_cut = &cut;
    if (setjmp(cut) != 0) return 0;
    CHECK_EQ(store_wipe_credentials(), HAL_OK);
    return 1;
}

/* One transaction that rewrites a record until the ring turns twice: compaction then moves
 * records of the open transaction itself. Cut at every op, it still lands on old or new. */
#define LONG_TXN_WRITES ((int) (FLASH_TOTAL_BYTES * 2 / 170))

static int long_txn_state(void)
{
    uint8_t buf[8];
    if (holds(1, 40, 1) && holds(4, 64, 4) && hal_store_read(60, buf, sizeof buf) == HAL_ENOENT) return 1;
    if (holds(1, 30, 31) && holds(4, 64, 4) && holds(60, 150, LONG_TXN_WRITES - 1)) return 2;
    return 0;
}

static int long_txn(long n)
{
    jmp_buf cut;
    int i, rc;
    ram_power_on();
    store_mount();
    ram_die_at = n;
    ram_cut = &cut;
    if (setjmp(cut) != 0) return 0;
    rc = hal_store_begin();
    rc = rc ? rc : put(1, 30, 31);
    for (i = 0; rc == HAL_OK && i < LONG_TXN_WRITES; i++) rc = put(60, 150, (unsigned) i);
    CHECK_EQ(rc, HAL_OK);
    CHECK_EQ(hal_store_commit(), HAL_OK);
    return 1;
}

static void t_long_transaction_sweep(void)
{
    static uint8_t before[FLASH_TOTAL_BYTES];
    long n, cuts = 0;
    int done = 0, olds = 0, news = 0;
    store_stats stats;
    prepare(5);
    memcpy(before, ram, sizeof ram);
    CHECK_EQ(long_txn(0), 1);
    store_get_stats(&stats);
    CHECK(stats.compactions >= 2 * FLASH_SECTORS);
    printf("    %d writes in one transaction, %ld flash ops, %u compactions\n", LONG_TXN_WRITES + 1, ram_ops,
           (unsigned) stats.compactions);
    for (n = 1; !done; n++) {
        int state;
        memcpy(ram, before, sizeof ram);
        ram_noisy_tear = (int) (n % 3);
        done = long_txn(n);
        ram_noisy_tear = 0;
        CHECK_EQ(remount(), HAL_OK);
        state = long_txn_state();
        if (state == 0) printf("    bad state after a cut at op %ld\n%s", n, reports);
        CHECK(state != 0);
        CHECK(!done || state == 2);
        olds += state == 1;
        news += state == 2;
        cuts += !done;
    }
    printf("    %ld cuts swept (%d old, %d new)\n", cuts, olds, news);
    CHECK_EQ(ram_bad_programs, 0);
}

/* Cuts during a factory reset: credentials all there or all gone, other records untouched. */
static void t_wipe_power_cut_sweep(void)
{
    static uint8_t before[FLASH_TOTAL_BYTES];
    long n, cuts = 0;
    int done = 0;
    prepare(23);
    CHECK_EQ(put(0x8003, 20, 33), HAL_OK);
    memcpy(before, ram, sizeof ram);
    for (n = 1; !done; n++) {
        uint8_t buf[8];
        int present, gone;
        memcpy(ram, before, sizeof ram);
        ram_noisy_tear = (int) (n % 3);
        done = wipe_with_cut(n);
        ram_noisy_tear = 0;
        CHECK_EQ(remount(), HAL_OK);
        present = holds(0x8001, 32, 6) && holds(0x8002, 16, 7) && holds(0x8003, 20, 33);
        gone = hal_store_read(0x8001, buf, sizeof buf) == HAL_ENOENT && hal_store_read(0x8002, buf, sizeof buf) == HAL_ENOENT &&
               hal_store_read(0x8003, buf, sizeof buf) == HAL_ENOENT;
        CHECK(present || gone);
        CHECK(!done || gone);
        CHECK(holds(1, 40, 1) && holds(2, 300, 2) && holds(4, 64, 4));
        cuts += !done;
    }
    printf("    %ld cuts swept\n", cuts);
    CHECK_EQ(ram_bad_programs, 0);
}

static int scrub_with_cut(long n)
{
    jmp_buf cut;
    ram_power_on();
    store_mount();
    ram_die_at = ram_ops + n;
    ram_cut = &cut;
    if (setjmp(cut) != 0) return 0;
    CHECK_EQ(hal_store_scrub(), HAL_OK);
    return 1;
}

/* Cuts during a scrub: every live record (credentials included) stays as it was. */
static void t_scrub_power_cut_sweep(void)
{
    static uint8_t before[FLASH_TOTAL_BYTES];
    long n, cuts = 0;
    int done = 0;
    prepare(29);
    CHECK_EQ(put(0x8001, 32, 60), HAL_OK);
    CHECK_EQ(put(0x8003, 20, 33), HAL_OK);
    memcpy(before, ram, sizeof ram);
    for (n = 1; !done; n++) {
        memcpy(ram, before, sizeof ram);
        ram_noisy_tear = (int) (n % 3);
        done = scrub_with_cut(n);
        ram_noisy_tear = 0;
        CHECK_EQ(remount(), HAL_OK);
        CHECK(holds(0x8001, 32, 60) && holds(0x8002, 16, 7) && holds(0x8003, 20, 33));
        CHECK(holds(1, 40, 1) && holds(2, 300, 2) && holds(4, 64, 4));
        cuts += !done;
    }
    printf("    %ld cuts swept\n", cuts);
    CHECK(cuts > 0);
    CHECK_EQ(ram_bad_programs, 0);
}

/* Random damage to a used image: mount and reads never crash and what is readable is right. */
static void t_fuzz(void)
{
    static uint8_t good[FLASH_TOTAL_BYTES];
    uint32_t round, i;
    prepare(17);
    memcpy(good, ram, sizeof ram);
    for (round = 0; round < 300; round++) {
        uint8_t buf[STORE_MAX_DATA];
        uint32_t r = round * 2654435761u + 1;
        memcpy(ram, good, sizeof ram);
        for (i = 0; i < 1 + round % 20; i++) {
            r = r * 1103515245u + 12345u;
            ram[(r >> 4) % sizeof ram] ^= (uint8_t) (1u << (r % 8));
        }
        if (round % 10 == 0) memset(ram + (r % FLASH_SECTORS) * FLASH_SECTOR_BYTES + (r >> 8) % 512, 0xFF, 300);
        CHECK_EQ(remount(), HAL_OK);
        for (i = 0; i < CONFIG_IDS; i++) {
            const expect *e = &old_config[i];
            int n = hal_store_read(e->id, buf, sizeof buf);
            CHECK(n < 0 || e->seed == 0 || holds(e->id, e->len, e->seed) || n == HAL_ENOENT);
        }
        CHECK_EQ(put(1, 10, round), HAL_OK);
        CHECK(holds(1, 10, round));
    }
}

/* The firmware never reads a secret back: it gets the first 8 bytes of its SHA-256. */
static void t_secret_fingerprint(void)
{
    static const uint8_t abc_digest[8] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
    uint8_t got[64];
    int id = STORE_CRED_ID(1, STORE_CRED_SECRET);
    CHECK_EQ(hal_store_write(id, (const uint8_t *) "abc", 3), HAL_OK);
    CHECK_EQ(hal_store_read(id, got, sizeof got), STORE_FINGERPRINT_BYTES);
    CHECK(memcmp(got, abc_digest, sizeof abc_digest) == 0);
    CHECK_EQ(hal_store_read(id, got, 4), HAL_ETOOBIG);
    CHECK_EQ(store_read_raw(id, got, sizeof got), 3);
    CHECK(memcmp(got, "abc", 3) == 0);
    CHECK_EQ(hal_store_write(STORE_CRED_ID(1, STORE_CRED_IDENTITY), (const uint8_t *) "meter-1", 7), HAL_OK);
    CHECK_EQ(hal_store_read(STORE_CRED_ID(1, STORE_CRED_IDENTITY), got, sizeof got), 7); /* PSK identity: clear */
    CHECK_EQ(hal_store_write(STORE_CRED_ID(1, STORE_CRED_SERVER_KEY), (const uint8_t *) "abc", 3), HAL_OK);
    CHECK_EQ(hal_store_read(STORE_CRED_ID(1, STORE_CRED_SERVER_KEY), got, sizeof got), STORE_FINGERPRINT_BYTES);
    CHECK(memcmp(got, abc_digest, sizeof abc_digest) == 0);
    CHECK_EQ(hal_store_write(STORE_CRED_ID(1, STORE_CRED_MODE), (const uint8_t *) "\x02", 1), HAL_OK);
    CHECK_EQ(hal_store_write(STORE_CRED_ID(1, STORE_CRED_IDENTITY), (const uint8_t *) "abc", 3), HAL_OK);
    CHECK_EQ(hal_store_read(STORE_CRED_ID(1, STORE_CRED_IDENTITY), got, sizeof got), STORE_FINGERPRINT_BYTES); /* own certificate */
    CHECK(memcmp(got, abc_digest, sizeof abc_digest) == 0);
}

static void run(const char *name, void (*fn)(void))
{
    int f0 = failures, c0 = checks;
    ram_fresh();
    clear_reports();
    fn();
    printf("%s %s (%d checks)\n", failures == f0 ? "ok" : "FAIL", name, checks - c0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    (void) argc;
    (void) argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("store tests: %u sectors of %u bytes, %s\n", (unsigned) FLASH_SECTORS, (unsigned) FLASH_SECTOR_BYTES,
           STORE_CRYPTO ? "AES-256-GCM credentials" : "no crypto");
    run("empty and garbage flash", t_empty_and_garbage);
    run("round trips", t_round_trip);
    run("credentials at rest", t_credentials_at_rest);
    run("secret parts read back as fingerprints", t_secret_fingerprint);
    run("transactions: commit, abort, unclosed", t_transactions);
    run("compaction and wear spread", t_compaction_and_wear);
    run("full store", t_full);
    run("corrupted crc", t_corrupted_crc);
    run("tampered credential", t_tampered_credential);
    run("missing device key", t_missing_key);
    run("credential zeroization", t_wipe_credentials);
    run("scrub of replaced secrets", t_scrub);
    run("power-cut sweep of a config transaction", t_power_cut_sweep);
    run("power-cut sweep of a transaction larger than the ring", t_long_transaction_sweep);
    run("power-cut sweep of a factory reset", t_wipe_power_cut_sweep);
    run("power-cut sweep of a scrub", t_scrub_power_cut_sweep);
    run("fuzzed flash", t_fuzz);
    printf("store tests: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
