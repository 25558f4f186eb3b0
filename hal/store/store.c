/* Log-structured record store on a ring of NOR flash sectors (layout and rules: README.md).
 *
 * Sector: magic, erase count, CRC of both (written right after an erase: "formatted, free"),
 *         then seq and ~seq (programmed when the sector becomes the append head), then records.
 * Record: magic u16, id u16, len u16, kind u8, flags u8, seq u32, txn u32, crc u32, payload
 *         padded to 4 bytes with 0xFF. crc = CRC-32 over the first 16 header bytes (INTACT taken
 *         as set) and the payload. Encrypted payload: nonce(12) ciphertext tag(16).
 * All multi-byte fields are little-endian so an image reads the same on every board. */
#include <string.h>
#include "flash.h"
#include "hal_store.h"
#include "store.h"
#include "sha256.h"
#include "store_crypto.h"

#if BOARD_STORE_SECTORS < 2
#error "the store needs at least two sectors"
#endif

#define SECTOR_BYTES FLASH_SECTOR_BYTES
#define SECTORS FLASH_SECTORS
#define SEC_MAGIC 0x3153574Cu /* "LWS1" */
#define SEC_HDR 20u
#define REC_MAGIC 0xA55Au
#define REC_HDR 20u
#define ALIGN 4u
#define CHUNK 128u
#define SEAL_BYTES (STORE_NONCE_BYTES + STORE_TAG_BYTES)
#define MAX_PAYLOAD (STORE_MAX_DATA + SEAL_BYTES)
#define SECTOR_ROOM (SECTOR_BYTES - SEC_HDR)
#define SEQ_LIMIT 0xFFFFFF00u

#if 20 + 20 + STORE_MAX_DATA + 28 > BOARD_STORE_SECTOR_BYTES
#error "STORE_MAX_DATA does not fit in one sector"
#endif

enum { KIND_DATA = 'D', KIND_TOMB = 'T', KIND_COMMIT = 'C' };
#define FLAG_ENC 0x01u
#define FLAG_INTACT 0x80u /* cleared (1 -> 0) when the record is zeroized */

enum { SEC_ERASE_NEEDED, SEC_FREE, SEC_USED };
enum { REC_OK, REC_BLANK, REC_END, REC_BAD, REC_ZEROED, REC_GARBAGE };
enum { CRYPTO_ON, CRYPTO_NONE, CRYPTO_FAILED };

typedef struct {
    uint16_t id, len;
    uint8_t kind, flags;
    uint32_t seq, txn, crc;
} rec_hdr;

typedef struct {
    uint32_t off, seq;
    uint16_t id, len;
    uint8_t kind, flags;
} entry;

typedef struct {
    uint32_t seq, erases, end; /* end: where appending continues; SECTOR_BYTES when it cannot */
    uint8_t state, erases_known, damaged; /* damaged: the mount skipped something in it */
} sector_info;

typedef struct {
    uint32_t off, fill;
    uint8_t buf[CHUNK];
} prog_buf;

typedef int (*rec_visitor)(uint32_t off, const rec_hdr *h, int status);

static struct {
    int mounted, broken, in_txn, crypto, pending_bad;
    uint32_t next_seq, txn, head, full_demand;
    sector_info sec[BOARD_STORE_SECTORS];
    entry index[STORE_MAX_RECORDS];
    entry staged[STORE_TXN_MAX]; /* open transaction; at mount, the transaction being read */
    uint32_t count, staged_count;
    store_stats stats;
} st;

/* ---- encoding and CRC ---- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | ((uint32_t) get16(p + 2) << 16);
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    static const uint32_t nibble[16] = {
        0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
        0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
    };
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return crc;
}

static void hdr_encode(const rec_hdr *h, uint8_t b[REC_HDR])
{
    put16(b, REC_MAGIC);
    put16(b + 2, h->id);
    put16(b + 4, h->len);
    b[6] = h->kind;
    b[7] = h->flags;
    put32(b + 8, h->seq);
    put32(b + 12, h->txn);
    put32(b + 16, h->crc);
}

static int hdr_decode(const uint8_t b[REC_HDR], rec_hdr *h)
{
    h->id = get16(b + 2);
    h->len = get16(b + 4);
    h->kind = b[6];
    h->flags = b[7];
    h->seq = get32(b + 8);
    h->txn = get32(b + 12);
    h->crc = get32(b + 16);
    return get16(b) == REC_MAGIC;
}

/* Running CRC of the header part it covers; finish with crc32_update over the payload, then ~. */
static uint32_t hdr_crc(const rec_hdr *h)
{
    uint8_t b[REC_HDR];
    rec_hdr c = *h;
    c.flags |= FLAG_INTACT;
    hdr_encode(&c, b);
    return crc32_update(0xFFFFFFFFu, b, 16);
}

static uint32_t align_up(uint32_t n)
{
    return (n + ALIGN - 1) & ~(ALIGN - 1);
}

static uint32_t rec_size(uint32_t len)
{
    return REC_HDR + align_up(len);
}

static uint32_t sec_base(uint32_t s)
{
    return s * SECTOR_BYTES;
}

static void make_aad(const rec_hdr *h, uint8_t aad[6])
{
    put16(aad, h->id);
    put32(aad + 2, h->seq);
}

/* ---- reports ---- */

static void report_hex(const char *what, uint32_t value)
{
    char line[80];
    size_t n = strlen(what);
    int shift;
    if (n > sizeof line - 12) n = sizeof line - 12;
    memcpy(line, what, n);
    line[n++] = ' ';
    line[n++] = '0';
    line[n++] = 'x';
    for (shift = 28; shift >= 0; shift -= 4) {
        if (shift < 16 || (value >> shift) != 0) line[n++] = "0123456789abcdef"[(value >> shift) & 15];
    }
    line[n] = 0;
    store_report(line);
}

static void report_corrupt(const char *what, uint32_t value)
{
    st.stats.corrupt++;
    report_hex(what, value);
}

/* ---- raw flash helpers ---- */

static int fail(int rc)
{
    st.broken = 1; /* state may be half-updated: refuse writes until the next mount */
    return rc;
}

static int is_blank_bytes(const uint8_t *b, uint32_t n)
{
    while (n--) {
        if (*b++ != 0xFF) return 0;
    }
    return 1;
}

static int is_blank(uint32_t off, uint32_t len)
{
    uint8_t b[CHUNK];
    while (len > 0) {
        uint32_t n = len < CHUNK ? len : CHUNK;
        if (flash_read(off, b, n) < 0) return HAL_EIO;
        if (!is_blank_bytes(b, n)) return 0;
        off += n;
        len -= n;
    }
    return 1;
}

static int crc_flash(uint32_t off, uint32_t len, uint32_t *crc)
{
    uint8_t b[CHUNK];
    while (len > 0) {
        uint32_t n = len < CHUNK ? len : CHUNK;
        if (flash_read(off, b, n) < 0) return HAL_EIO;
        *crc = crc32_update(*crc, b, n);
        off += n;
        len -= n;
    }
    return HAL_OK;
}

static int program_fill(uint32_t off, uint32_t len, uint8_t value)
{
    uint8_t b[CHUNK];
    memset(b, value, sizeof b);
    while (len > 0) {
        uint32_t n = len < CHUNK ? len : CHUNK;
        if (flash_program(off, b, n) < 0) return HAL_EIO;
        off += n;
        len -= n;
    }
    return HAL_OK;
}

/* Buffered programming: every flash_program is aligned and a whole number of words. */
static int pb_flush(prog_buf *pb)
{
    uint32_t n = align_up(pb->fill);
    if (n == 0) return HAL_OK;
    memset(pb->buf + pb->fill, 0xFF, n - pb->fill);
    if (flash_program(pb->off, pb->buf, n) < 0) return HAL_EIO;
    pb->off += n;
    pb->fill = 0;
    return HAL_OK;
}

static int pb_put(prog_buf *pb, const uint8_t *p, uint32_t n)
{
    while (n > 0) {
        uint32_t take = CHUNK - pb->fill;
        if (take > n) take = n;
        memcpy(pb->buf + pb->fill, p, take);
        pb->fill += take;
        p += take;
        n -= take;
        if (pb->fill == CHUNK && pb_flush(pb) < 0) return HAL_EIO;
    }
    return HAL_OK;
}

/* ---- records on flash ---- */

static int rec_probe(uint32_t s, uint32_t pos, rec_hdr *h)
{
    uint8_t b[REC_HDR];
    uint32_t crc;
    if (pos + REC_HDR > SECTOR_BYTES) return REC_END;
    if (flash_read(sec_base(s) + pos, b, REC_HDR) < 0) return HAL_EIO;
    if (is_blank_bytes(b, REC_HDR)) return REC_BLANK;
    if (!hdr_decode(b, h) || h->len > MAX_PAYLOAD || pos + rec_size(h->len) > SECTOR_BYTES) return REC_GARBAGE;
    if (!(h->flags & FLAG_INTACT)) return REC_ZEROED;
    crc = hdr_crc(h);
    if (crc_flash(sec_base(s) + pos + REC_HDR, h->len, &crc) < 0) return HAL_EIO;
    return ~crc == h->crc ? REC_OK : REC_BAD;
}

/* Walks sector s in write order. A clean blank tail sets the sector's append position; a dirty
 * tail or an unreadable header is passed to the visitor as REC_GARBAGE and closes the sector. */
static int scan_sector(uint32_t s, rec_visitor visit)
{
    uint32_t pos = SEC_HDR;
    for (;;) {
        rec_hdr h;
        int status = rec_probe(s, pos, &h), rc;
        if (status < 0) return status;
        if (status == REC_END) break;
        if (status == REC_BLANK) {
            rc = is_blank(sec_base(s) + pos, SECTOR_BYTES - pos);
            if (rc < 0) return rc;
            if (rc == 1) {
                st.sec[s].end = pos;
                return HAL_OK;
            }
            status = REC_GARBAGE;
        }
        rc = visit(sec_base(s) + pos, &h, status);
        if (rc < 0) return rc;
        if (status == REC_GARBAGE) break;
        pos += rec_size(h.len);
    }
    st.sec[s].end = SECTOR_BYTES;
    return HAL_OK;
}

/* ---- the RAM index and the staging list ---- */

static entry *find(entry *list, uint32_t n, uint32_t id)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (list[i].id == id) return &list[i];
    }
    return NULL;
}

static entry *find_at(entry *list, uint32_t n, uint32_t off)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (list[i].off == off) return &list[i];
    }
    return NULL;
}

static entry make_entry(uint32_t off, const rec_hdr *h)
{
    entry e;
    e.off = off;
    e.seq = h->seq;
    e.id = h->id;
    e.len = h->len;
    e.kind = h->kind;
    e.flags = h->flags;
    return e;
}

/* Latest sequence number wins; equal numbers are copies of one version, so either will do. */
static void apply_entry(const entry *e)
{
    entry *slot = find(st.index, st.count, e->id);
    if (slot && e->seq < slot->seq) return;
    if (e->kind == KIND_TOMB) {
        if (slot) *slot = st.index[--st.count];
    } else if (slot) {
        *slot = *e;
    } else if (st.count < STORE_MAX_RECORDS) {
        st.index[st.count++] = *e;
    } else {
        report_corrupt("index full, record dropped at", e->off);
    }
}

static int stage(const entry *e)
{
    entry *slot = find(st.staged, st.staged_count, e->id);
    if (slot) {
        if (e->seq >= slot->seq) *slot = *e;
    } else if (st.staged_count < STORE_TXN_MAX) {
        st.staged[st.staged_count++] = *e;
    } else {
        return HAL_ENOSPC;
    }
    return HAL_OK;
}

static void apply_staged(void)
{
    uint32_t i;
    for (i = 0; i < st.staged_count; i++) apply_entry(&st.staged[i]);
    st.staged_count = 0;
}

static uint32_t live_bytes(void)
{
    uint32_t i, total = 0;
    for (i = 0; i < st.count; i++) total += rec_size(st.index[i].len);
    for (i = 0; i < st.staged_count; i++) total += rec_size(st.staged[i].len);
    return total;
}

/* ---- sectors ---- */

static uint32_t free_sectors(void)
{
    uint32_t s, n = 0;
    for (s = 0; s < SECTORS; s++) n += st.sec[s].state != SEC_USED;
    return n;
}

/* The used sector with the lowest seq above after (0: the oldest), or -1. */
static int used_after(uint32_t after)
{
    uint32_t s;
    int best = -1;
    for (s = 0; s < SECTORS; s++) {
        const sector_info *si = &st.sec[s];
        if (si->state == SEC_USED && si->seq > after && (best < 0 || si->seq < st.sec[best].seq)) best = (int) s;
    }
    return best;
}

static int newest_used(void)
{
    uint32_t s;
    int best = -1;
    for (s = 0; s < SECTORS; s++) {
        if (st.sec[s].state == SEC_USED && (best < 0 || st.sec[s].seq > st.sec[best].seq)) best = (int) s;
    }
    return best;
}

static void note_seq(uint32_t seq)
{
    if (seq < SEQ_LIMIT && seq >= st.next_seq) st.next_seq = seq + 1;
}

static int take_seq(uint32_t *seq)
{
    if (st.next_seq >= SEQ_LIMIT) return HAL_ENOSPC;
    *seq = st.next_seq++;
    return HAL_OK;
}

static int read_sector_header(uint32_t s)
{
    uint8_t b[SEC_HDR];
    sector_info *si = &st.sec[s];
    uint32_t seq;
    if (flash_read(sec_base(s), b, SEC_HDR) < 0) return HAL_EIO;
    si->state = SEC_ERASE_NEEDED;
    if (get32(b) != SEC_MAGIC || get32(b + 8) != ~crc32_update(0xFFFFFFFFu, b, 8)) {
        if (!is_blank_bytes(b, SEC_HDR)) report_corrupt("unformatted sector skipped, sector", s);
        return HAL_OK;
    }
    si->erases = get32(b + 4);
    si->erases_known = 1;
    seq = get32(b + 12);
    if (is_blank_bytes(b + 12, 8)) {
        si->state = SEC_FREE;
    } else if (seq == ~get32(b + 16) && seq != 0 && seq < SEQ_LIMIT) {
        si->state = SEC_USED;
        si->seq = seq;
        note_seq(seq);
    }
    return HAL_OK;
}

/* Erases s and writes its erase count; the sector is then free. */
static int format_sector(uint32_t s)
{
    uint8_t b[12];
    sector_info *si = &st.sec[s];
    uint32_t erases = (si->erases_known ? si->erases : 0) + 1; /* unknown: never formatted */
    si->state = SEC_ERASE_NEEDED;
    if (flash_erase(s) < 0) return HAL_EIO;
    put32(b, SEC_MAGIC);
    put32(b + 4, erases);
    put32(b + 8, ~crc32_update(0xFFFFFFFFu, b, 8));
    if (flash_program(sec_base(s), b, sizeof b) < 0) return HAL_EIO;
    si->erases = erases;
    si->erases_known = 1;
    si->state = SEC_FREE;
    return HAL_OK;
}

static int open_sector(uint32_t s)
{
    sector_info *si = &st.sec[s];
    uint8_t b[8];
    uint32_t seq;
    int rc = si->state == SEC_FREE ? is_blank(sec_base(s) + SEC_HDR, SECTOR_ROOM) : 0;
    if (rc < 0) return rc;
    if (rc == 0 && format_sector(s) < 0) return HAL_EIO;
    if (take_seq(&seq) < 0) return HAL_ENOSPC;
    put32(b, seq);
    put32(b + 4, ~seq);
    if (flash_program(sec_base(s) + 12, b, sizeof b) < 0) return HAL_EIO;
    si->state = SEC_USED;
    si->seq = seq;
    si->end = SEC_HDR;
    return HAL_OK;
}

static uint32_t head_room(void)
{
    return SECTOR_BYTES - st.sec[st.head].end;
}

/* ---- writing records ---- */

static int verify_record(uint32_t off)
{
    rec_hdr h;
    uint32_t s = off / SECTOR_BYTES;
    int status = rec_probe(s, off - sec_base(s), &h);
    return status == REC_OK ? HAL_OK : HAL_EIO;
}

/* Moves the head on by rec_size bytes once the record at off is on flash and reads back. */
static int finish_record(uint32_t off, uint32_t len)
{
    int rc = verify_record(off);
    if (rc < 0) return rc;
    st.sec[st.head].end += rec_size(len);
    return HAL_OK;
}

static int copy_record(uint32_t src, const rec_hdr *h, uint32_t txn, uint32_t *dst)
{
    uint8_t b[CHUNK];
    uint32_t crc, done;
    prog_buf pb;
    rec_hdr c = *h;
    if (head_room() < rec_size(h->len)) return HAL_ENOSPC;
    c.txn = txn;
    crc = hdr_crc(&c);
    if (crc_flash(src + REC_HDR, c.len, &crc) < 0) return HAL_EIO;
    c.crc = ~crc;
    pb.off = *dst = sec_base(st.head) + st.sec[st.head].end;
    pb.fill = 0;
    hdr_encode(&c, b);
    if (pb_put(&pb, b, REC_HDR) < 0) return HAL_EIO;
    for (done = 0; done < c.len; done += CHUNK) {
        uint32_t n = c.len - done < CHUNK ? c.len - done : CHUNK;
        if (flash_read(src + REC_HDR + done, b, n) < 0 || pb_put(&pb, b, n) < 0) return HAL_EIO;
    }
    if (pb_flush(&pb) < 0) return HAL_EIO;
    return finish_record(*dst, c.len);
}

/* Live records keep their seq and become plain committed records (txn 0): the commit marker
 * that covered them may be compacted away later. Staged ones keep their transaction. */
static int compact_visit(uint32_t off, const rec_hdr *h, int status)
{
    entry *e;
    if (status != REC_OK) return HAL_OK;
    e = find_at(st.index, st.count, off);
    if (e) return copy_record(off, h, 0, &e->off);
    e = st.in_txn ? find_at(st.staged, st.staged_count, off) : NULL;
    if (e) return copy_record(off, h, h->txn, &e->off);
    return HAL_OK;
}

/* Copies what is still live in sector s to the head, then erases s. Never erases before every
 * copy has been read back. */
static int compact(uint32_t s)
{
    int rc = scan_sector(s, compact_visit);
    if (rc < 0) return rc;
    rc = format_sector(s);
    if (rc < 0) return rc;
    st.stats.compactions++;
    return HAL_OK;
}

static int next_free_after(uint32_t s)
{
    uint32_t i;
    for (i = 1; i <= SECTORS; i++) {
        uint32_t t = (s + i) % SECTORS;
        if (st.sec[t].state != SEC_USED) return (int) t;
    }
    return -1;
}

/* Opens the next sector of the ring; keeps one sector free by compacting the oldest into it. */
static int advance_head(void)
{
    int next = next_free_after(st.head), rc;
    if (next < 0) return HAL_EIO;
    rc = open_sector((uint32_t) next);
    if (rc < 0) return rc;
    st.head = (uint32_t) next;
    if (free_sectors() == 0) return compact((uint32_t) used_after(0));
    return HAL_OK;
}

/* A write that found no room after a full turn of the ring fails at once from then on, until
 * records are removed: retrying would only wear the flash. */
static int ensure_room(uint32_t need)
{
    uint32_t tries, demand = live_bytes() + need + (st.in_txn ? REC_HDR : 0); /* + commit marker */
    if (demand > (SECTORS - 1) * SECTOR_ROOM || (st.full_demand && demand >= st.full_demand)) return HAL_ENOSPC;
    for (tries = 0; tries <= SECTORS; tries++) {
        int rc;
        if (head_room() >= need) return HAL_OK;
        rc = advance_head();
        if (rc < 0) return fail(rc);
    }
    st.full_demand = demand;
    return HAL_ENOSPC;
}

static int seal_pass(const uint8_t *nonce, const rec_hdr *h, const uint8_t *data, uint32_t len,
                     prog_buf *pb, uint32_t *crc, uint8_t tag[STORE_TAG_BYTES])
{
    uint8_t aad[6], out[STORE_CRYPTO_CHUNK];
    uint32_t done;
    make_aad(h, aad);
    if (store_crypto_seal_start(nonce, aad, sizeof aad) < 0) return HAL_EIO;
    for (done = 0; done < len; done += STORE_CRYPTO_CHUNK) {
        uint32_t n = len - done < STORE_CRYPTO_CHUNK ? len - done : STORE_CRYPTO_CHUNK;
        if (store_crypto_seal_update(data + done, out, n) < 0) return HAL_EIO;
        if (crc) *crc = crc32_update(*crc, out, n);
        if (pb && pb_put(pb, out, n) < 0) return HAL_EIO;
    }
    return store_crypto_seal_finish(tag) < 0 ? HAL_EIO : HAL_OK;
}

/* Two passes over the plaintext: the first yields the tag and the CRC the header needs, the
 * second programs the same ciphertext, so no record-sized buffer is needed. */
static int write_sealed(prog_buf *pb, rec_hdr *h, const uint8_t *data, uint32_t len)
{
    uint8_t b[REC_HDR], nonce[STORE_NONCE_BYTES], tag[STORE_TAG_BYTES];
    uint32_t crc;
    if (store_crypto_nonce(h->seq, nonce) < 0) return HAL_EIO;
    crc = crc32_update(hdr_crc(h), nonce, sizeof nonce);
    if (seal_pass(nonce, h, data, len, NULL, &crc, tag) < 0) return HAL_EIO;
    h->crc = ~crc32_update(crc, tag, sizeof tag);
    hdr_encode(h, b);
    if (pb_put(pb, b, REC_HDR) < 0 || pb_put(pb, nonce, sizeof nonce) < 0) return HAL_EIO;
    if (seal_pass(nonce, h, data, len, pb, NULL, tag) < 0) return HAL_EIO;
    return pb_put(pb, tag, sizeof tag);
}

static int write_plain(prog_buf *pb, rec_hdr *h, const uint8_t *data, uint32_t len)
{
    uint8_t b[REC_HDR];
    h->crc = ~crc32_update(hdr_crc(h), data, len);
    hdr_encode(h, b);
    if (pb_put(pb, b, REC_HDR) < 0) return HAL_EIO;
    return pb_put(pb, data, len);
}

static int append(rec_hdr *h, const uint8_t *data, uint32_t len, uint32_t *off)
{
    prog_buf pb;
    int rc;
    h->len = (uint16_t) (len + ((h->flags & FLAG_ENC) ? SEAL_BYTES : 0));
    rc = ensure_room(rec_size(h->len));
    if (rc < 0) return rc;
    rc = take_seq(&h->seq);
    if (rc < 0) return rc;
    pb.off = *off = sec_base(st.head) + st.sec[st.head].end;
    pb.fill = 0;
    rc = (h->flags & FLAG_ENC) ? write_sealed(&pb, h, data, len) : write_plain(&pb, h, data, len);
    if (rc == HAL_OK) rc = pb_flush(&pb);
    if (rc == HAL_OK) rc = finish_record(*off, h->len);
    return rc < 0 ? fail(rc) : HAL_OK;
}

/* ---- mount ---- */

static void drop_pending(void)
{
    if (st.staged_count > 0 || st.pending_bad) {
        st.stats.dropped_txns++;
        report_hex("unclosed transaction ignored, txn", st.txn);
    }
    st.staged_count = 0;
    st.pending_bad = 0;
}

static void mount_pending(uint32_t off, const rec_hdr *h)
{
    entry e = make_entry(off, h);
    if (h->txn != st.txn) {
        drop_pending();
        st.txn = h->txn;
    }
    if (stage(&e) < 0 && !st.pending_bad) {
        st.pending_bad = 1;
        report_corrupt("oversized transaction at", off);
    }
}

static void mount_commit(const rec_hdr *h)
{
    if (h->txn != st.txn) return;
    if (st.pending_bad) {
        drop_pending();
        return;
    }
    apply_staged();
    st.txn = 0;
}

static int clear_credential_refused(const rec_hdr *h)
{
    return h->kind == KIND_DATA && h->id >= STORE_CREDENTIAL_ID && !(h->flags & FLAG_ENC) &&
           st.crypto != CRYPTO_NONE;
}

static int mount_visit(uint32_t off, const rec_hdr *h, int status)
{
    if (status == REC_BAD) report_corrupt("bad crc, record skipped at", off);
    if (status == REC_GARBAGE) report_corrupt("unreadable data, rest of sector skipped at", off);
    if (status == REC_BAD || status == REC_GARBAGE) st.sec[off / SECTOR_BYTES].damaged = 1;
    if (status != REC_OK) return HAL_OK;
    note_seq(h->seq);
    if (h->kind == KIND_COMMIT) {
        mount_commit(h);
    } else if (h->kind != KIND_DATA && h->kind != KIND_TOMB) {
        report_corrupt("unknown record kind at", off);
    } else if (clear_credential_refused(h)) {
        report_corrupt("unencrypted credential ignored at", off);
    } else if (h->txn != 0) {
        mount_pending(off, h);
    } else {
        entry e = make_entry(off, h);
        apply_entry(&e);
    }
    return HAL_OK;
}

static int build_index(void)
{
    uint32_t s;
    int next;
    for (s = 0; s < SECTORS; s++) {
        if (read_sector_header(s) < 0) return HAL_EIO;
    }
    for (next = used_after(0); next >= 0; next = used_after(st.sec[next].seq)) {
        if (scan_sector((uint32_t) next, mount_visit) < 0) return HAL_EIO;
    }
    drop_pending();
    st.txn = 0;
    return HAL_OK;
}

static void init_crypto(int first)
{
    static int state;
    if (first) {
        int rc = store_crypto_init();
        state = rc == HAL_OK ? CRYPTO_ON : rc == HAL_ENOTSUP ? CRYPTO_NONE : CRYPTO_FAILED;
        if (state == CRYPTO_NONE) store_report("no device key: credentials are stored in clear");
        if (state == CRYPTO_FAILED) store_report("device key unavailable: credential writes refused");
    }
    st.crypto = state;
}

/* A full ring means power was lost inside a compaction: the head holds only copies of the
 * oldest sector. A clean head can take the rest of the copies; a head with a torn copy (which
 * also wastes room the rest may need) is erased, the oldest sector being still whole then
 * since it is erased only after the last copy, and the flash is read again. */
static int recover(int *rescan)
{
    int oldest = used_after(0);
    *rescan = 0;
    if (!st.sec[st.head].damaged) return compact((uint32_t) oldest);
    *rescan = 1;
    return format_sector(st.head);
}

int store_mount(void)
{
    int pass, head, rescan = 0;
    for (pass = 0; pass < 2; pass++) {
        memset(&st, 0, sizeof st);
        st.next_seq = 1;
        init_crypto(pass == 0);
        if (build_index() < 0) return HAL_EIO;
        head = newest_used();
        if (head < 0) { /* blank or foreign flash: start the log in sector 0 */
            st.head = SECTORS - 1;
            if (advance_head() < 0) return HAL_EIO;
            break;
        }
        st.head = (uint32_t) head;
        if (free_sectors() > 0) break;
        if (recover(&rescan) < 0) return HAL_EIO;
        if (!rescan) break;
    }
    st.mounted = 1;
    return HAL_OK;
}

/* ---- hal_store_* ---- */

/* store_mount() belongs at boot; a runtime that forgot still gets one attempt here. */
static int check_ready(void)
{
    static int tried;
    if (!st.mounted && !tried) {
        tried = 1;
        store_mount();
    }
    if (!st.mounted) return HAL_ECLOSED;
    return st.broken ? HAL_EIO : HAL_OK;
}

static int check_id(int id)
{
    return id >= 0 && id <= 0xFFFF ? HAL_OK : HAL_EINVAL;
}

/* The version a read sees: the open transaction's own writes first. */
static entry *current(uint32_t id)
{
    entry *e = st.in_txn ? find(st.staged, st.staged_count, id) : NULL;
    if (e) return e->kind == KIND_DATA ? e : NULL;
    return find(st.index, st.count, id);
}

static int index_has_room(uint32_t id)
{
    uint32_t i, added = 1;
    if (find(st.index, st.count, id)) return 1;
    for (i = 0; st.in_txn && i < st.staged_count; i++) {
        const entry *e = &st.staged[i];
        added += e->kind == KIND_DATA && e->id != id && !find(st.index, st.count, e->id);
    }
    return st.count + added <= STORE_MAX_RECORDS;
}

static int put_record(uint8_t kind, uint32_t id, const uint8_t *data, uint32_t len)
{
    rec_hdr h;
    entry e;
    uint32_t off;
    int rc;
    memset(&h, 0, sizeof h);
    h.id = (uint16_t) id;
    h.kind = kind;
    h.flags = FLAG_INTACT;
    if (kind == KIND_DATA && id >= STORE_CREDENTIAL_ID && st.crypto != CRYPTO_NONE) {
        if (st.crypto == CRYPTO_FAILED) return HAL_EIO;
        h.flags |= FLAG_ENC;
    }
    h.txn = st.in_txn ? st.txn : 0;
    if (st.in_txn && !find(st.staged, st.staged_count, id) && st.staged_count == STORE_TXN_MAX) return HAL_ENOSPC;
    rc = append(&h, data, len, &off);
    if (rc < 0) return rc;
    e = make_entry(off, &h);
    if (st.in_txn) return stage(&e);
    apply_entry(&e);
    return HAL_OK;
}

static int load_plain(const rec_hdr *h, uint32_t off, uint8_t *out, size_t cap, uint32_t *crc)
{
    if (cap < h->len) return HAL_ETOOBIG;
    if (flash_read(off + REC_HDR, out, h->len) < 0) return HAL_EIO;
    *crc = crc32_update(*crc, out, h->len);
    return h->len;
}

static int load_sealed(const rec_hdr *h, uint32_t off, uint8_t *out, size_t cap, uint32_t *crc)
{
    uint8_t nonce[STORE_NONCE_BYTES], tag[STORE_TAG_BYTES], aad[6];
    uint32_t len = h->len - SEAL_BYTES;
    int rc;
    if (st.crypto != CRYPTO_ON) return HAL_EAUTH;
    if (cap < len) return HAL_ETOOBIG;
    off += REC_HDR;
    if (flash_read(off, nonce, sizeof nonce) < 0 || flash_read(off + sizeof nonce, out, len) < 0 ||
        flash_read(off + sizeof nonce + len, tag, sizeof tag) < 0) {
        return HAL_EIO;
    }
    *crc = crc32_update(crc32_update(crc32_update(*crc, nonce, sizeof nonce), out, len), tag, sizeof tag);
    if (~*crc != h->crc) return (int) len; /* the caller reports the CRC failure */
    make_aad(h, aad);
    rc = store_crypto_open(nonce, aad, sizeof aad, out, len, tag);
    return rc < 0 ? rc : (int) len;
}

static int load(const entry *e, uint8_t *out, size_t cap)
{
    uint8_t b[REC_HDR];
    rec_hdr h;
    uint32_t crc;
    int rc;
    if (flash_read(e->off, b, REC_HDR) < 0) return HAL_EIO;
    if (!hdr_decode(b, &h) || h.id != e->id || h.seq != e->seq || h.len != e->len) return HAL_ECORRUPT;
    if ((h.flags & FLAG_ENC) && h.len < SEAL_BYTES) return HAL_ECORRUPT;
    crc = hdr_crc(&h);
    rc = (h.flags & FLAG_ENC) ? load_sealed(&h, e->off, out, cap, &crc) : load_plain(&h, e->off, out, cap, &crc);
    if (rc >= 0 && ~crc != h.crc) {
        if (rc > 0) memset(out, 0, (size_t) rc);
        return HAL_ECORRUPT;
    }
    return rc;
}

int store_read_raw(int id, uint8_t *out, size_t out_cap)
{
    entry *e;
    int rc = check_ready();
    if (rc == HAL_OK) rc = check_id(id);
    if (rc < 0) return rc;
    e = current((uint32_t) id);
    if (!e) return HAL_ENOENT;
    if (out == NULL && out_cap > 0) return HAL_EINVAL;
    rc = load(e, out, out_cap);
    if (rc == HAL_ECORRUPT || (rc == HAL_EAUTH && st.crypto == CRYPTO_ON)) {
        report_corrupt(rc == HAL_EAUTH ? "authentication failed, record treated as absent, id"
                                       : "crc error, record treated as absent, id", (uint32_t) id);
        st.stats.auth_failed += rc == HAL_EAUTH;
        if (find(st.index, st.count, (uint32_t) id) == e) *e = st.index[--st.count];
    } else if (rc == HAL_EAUTH) {
        report_hex("no device key to decrypt credential, id", (uint32_t) id);
    }
    return rc;
}

int store_fingerprinted(int id)
{
    uint8_t mode = STORE_CRED_MODE_PSK;
    int part = id & 0xF;
    if (id < STORE_CREDENTIAL_ID) return 0;
    if (part == STORE_CRED_SECRET || part == STORE_CRED_SERVER_KEY) return 1;
    if (part != STORE_CRED_IDENTITY) return 0;
    (void) store_read_raw((id & ~0xF) | STORE_CRED_MODE, &mode, 1);
    return mode != STORE_CRED_MODE_PSK;
}

/* Secrets stay in C: the firmware reading a fingerprinted part gets the first
 * STORE_FINGERPRINT_BYTES of its SHA-256, never the bytes. */
int hal_store_read(int id, uint8_t *out, size_t out_cap)
{
    static uint8_t secret[STORE_MAX_DATA];
    uint8_t digest[32];
    int rc;
    if (!store_fingerprinted(id)) return store_read_raw(id, out, out_cap);
    if (out_cap < STORE_FINGERPRINT_BYTES) return HAL_ETOOBIG;
    rc = store_read_raw(id, secret, sizeof secret);
    if (rc >= 0) {
        sha256(secret, (size_t) rc, digest);
        memcpy(out, digest, STORE_FINGERPRINT_BYTES);
        rc = STORE_FINGERPRINT_BYTES;
    }
    memset(secret, 0, sizeof secret);
    memset(digest, 0, sizeof digest);
    return rc;
}

int hal_store_write(int id, const uint8_t *data, size_t data_len)
{
    int rc = check_ready();
    if (rc == HAL_OK) rc = check_id(id);
    if (rc < 0) return rc;
    if (data_len > STORE_MAX_DATA) return HAL_ETOOBIG;
    if (data == NULL && data_len > 0) return HAL_EINVAL;
    if (!index_has_room((uint32_t) id)) return HAL_ENOSPC;
    return put_record(KIND_DATA, (uint32_t) id, data, (uint32_t) data_len);
}

int hal_store_remove(int id)
{
    int rc = check_ready();
    if (rc == HAL_OK) rc = check_id(id);
    if (rc < 0) return rc;
    if (!current((uint32_t) id)) return HAL_ENOENT;
    return put_record(KIND_TOMB, (uint32_t) id, NULL, 0);
}

int hal_store_begin(void)
{
    int rc = check_ready();
    if (rc < 0) return rc;
    if (st.in_txn) return HAL_EBUSY;
    rc = take_seq(&st.txn);
    if (rc < 0) return rc;
    st.in_txn = 1;
    st.staged_count = 0;
    return HAL_OK;
}

static void end_txn(void)
{
    st.in_txn = 0;
    st.staged_count = 0;
    st.txn = 0;
}

int hal_store_commit(void)
{
    rec_hdr h;
    uint32_t off;
    int rc = check_ready();
    if (rc < 0) return rc;
    if (!st.in_txn) return HAL_EINVAL;
    if (st.staged_count > 0) {
        memset(&h, 0, sizeof h);
        h.kind = KIND_COMMIT;
        h.flags = FLAG_INTACT;
        h.txn = st.txn;
        rc = append(&h, NULL, 0, &off);
        if (rc == HAL_OK) apply_staged();
    }
    end_txn();
    return rc;
}

int hal_store_abort(void)
{
    int rc = check_ready();
    if (rc < 0) return rc;
    if (!st.in_txn) return HAL_EINVAL;
    end_txn();
    return HAL_OK;
}

/* ---- factory reset of credentials ---- */

static int zeroize_record(uint32_t off, const rec_hdr *h)
{
    uint8_t b[4];
    if (program_fill(off + REC_HDR, align_up(h->len), 0x00) < 0) return HAL_EIO;
    /* only after the payload is gone: a zeroized record is skipped silently at mount */
    put16(b, h->len);
    b[2] = h->kind;
    b[3] = (uint8_t) (h->flags & ~FLAG_INTACT);
    return flash_program(off + 4, b, sizeof b) < 0 ? HAL_EIO : HAL_OK;
}

/* Every copy of a credential record except the live one. Torn or corrupt records and
 * unreadable areas may hold parts of secrets: they go as well. */
static int wipe_visit(uint32_t off, const rec_hdr *h, int status)
{
    if (status == REC_GARBAGE) return program_fill(off, SECTOR_BYTES - off % SECTOR_BYTES, 0x00);
    if (status == REC_OK && h->kind == KIND_DATA && h->id >= STORE_CREDENTIAL_ID) {
        const entry *live = current(h->id);
        if (live && live->off == off) return HAL_OK;
    }
    if (status == REC_BAD || (status == REC_OK && h->kind == KIND_DATA && h->id >= STORE_CREDENTIAL_ID)) {
        return zeroize_record(off, h);
    }
    return HAL_OK;
}

/* Oldest first: a cut part-way leaves the newer versions whole, so nothing older comes back. */
static int wipe_flash(void)
{
    uint32_t s;
    int next;
    for (next = used_after(0); next >= 0; next = used_after(st.sec[next].seq)) {
        int rc = scan_sector((uint32_t) next, wipe_visit);
        if (rc < 0) return rc;
    }
    for (s = 0; s < SECTORS; s++) {
        if (st.sec[s].state == SEC_ERASE_NEEDED && format_sector(s) < 0) return HAL_EIO;
    }
    return HAL_OK;
}

/* Tombstones for every credential, in one transaction (batches when there are more than a
 * transaction holds), so the secrets are gone logically before any byte is zeroized. */
static int remove_credentials(void)
{
    uint32_t i;
    int rc = hal_store_begin();
    for (i = 0; rc == HAL_OK && i < st.count; i++) {
        if (st.index[i].id < STORE_CREDENTIAL_ID) continue;
        if (st.staged_count == STORE_TXN_MAX) {
            rc = hal_store_commit();
            if (rc == HAL_OK) rc = hal_store_begin();
            i = (uint32_t) -1; /* the index changed: start over */
            continue;
        }
        rc = hal_store_remove(st.index[i].id);
    }
    if (rc == HAL_OK) return hal_store_commit();
    hal_store_abort();
    return rc;
}

int store_wipe_credentials(void)
{
    int rc = check_ready();
    if (rc < 0) return rc;
    if (st.in_txn) return HAL_EBUSY;
    rc = remove_credentials();
    if (rc < 0) return rc;
    rc = wipe_flash();
    return rc < 0 ? fail(rc) : HAL_OK;
}

int hal_store_scrub(void)
{
    int rc = check_ready();
    if (rc < 0) return rc;
    if (st.in_txn) return HAL_EBUSY;
    rc = wipe_flash();
    return rc < 0 ? fail(rc) : HAL_OK;
}

/* ---- diagnostics ---- */

void store_get_stats(store_stats *out)
{
    *out = st.stats;
    out->records = st.count;
    out->live_bytes = live_bytes();
    out->encrypted = st.crypto == CRYPTO_ON;
}

int store_locate(int id, uint32_t *off)
{
    entry *e = check_ready() == HAL_OK && check_id(id) == HAL_OK ? current((uint32_t) id) : NULL;
    if (!e) return HAL_ENOENT;
    *off = e->off;
    return e->len;
}

int store_erase_counts(uint32_t *counts, uint32_t n)
{
    uint32_t s;
    for (s = 0; s < n && s < SECTORS; s++) counts[s] = st.sec[s].erases;
    return (int) s;
}
