/* Host UICC emulation (hal_card.h) over a card image file: the ISO 7816-4 / ETSI TS 102 221
 * subset a meter needs to read EF LwM2M_Bootstrap (LwM2M 1.1 appendix G).
 *
 * Commands: MANAGE CHANNEL (70, channels 0-3), SELECT (A4: P1 04 by AID, 00/02 by FID,
 * 08 path from MF, 09 path from the current DF; P2 04 FCP or 0C none), READ BINARY (B0,
 * 15-bit offset) and GET RESPONSE (C0). As on T=0, a SELECT that returns an FCP answers
 * 61xx and the FCP comes with GET RESPONSE. Status words: 9000, 61xx, 6Cxx, 6282 (end of file
 * before Le bytes), 6700, 6881, 6985, 6986, 6A81, 6A82, 6A86, 6B00, 6D00, 6E00.
 * In a path, 3F00 is the MF and 7FFF the application selected on the channel. */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_ring.h"
#include "hal_card.h"
#include "hal_codes.h"
#include "host_card.h"
#include "host_options.h"

#define IMAGE_MAX (40 * 1024)
#define FILES_MAX 16
#define AID_MAX 16
#define CHANNELS 4
#define APDU_MAX 261     /* short APDU: header, Lc, 255 data bytes, Le */
#define RESPONSE_MAX 258 /* 256 data bytes, SW1 SW2 */
#define CHECK_INTERVAL_MS 1000

#define DIR_MF 0
#define DIR_ADF 1
#define NO_EF (-1)

#define SW_OK 0x9000
#define SW_EOF 0x6282
#define SW_WRONG_LENGTH 0x6700
#define SW_NO_CHANNEL 0x6881
#define SW_NO_DATA 0x6985
#define SW_NO_EF 0x6986
#define SW_NO_FUNCTION 0x6A81
#define SW_NOT_FOUND 0x6A82
#define SW_BAD_P1P2 0x6A86
#define SW_BAD_OFFSET 0x6B00
#define SW_BAD_INS 0x6D00
#define SW_BAD_CLASS 0x6E00

typedef struct {
    uint8_t dir;
    uint16_t fid;
    const uint8_t *data;
    uint16_t size;
} card_file;

typedef struct {
    uint8_t open;
    uint8_t app; /* the application was selected on this channel */
    uint8_t dir;
    int ef;
} card_channel;

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    int le; /* -1 when absent, else 1..256 */
} apdu_cmd;

typedef struct {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
} file_id;

static struct {
    int looked;
    int present;
    int rejected; /* the file at `id` is not a valid image: wait until it changes */
    int unannounced; /* 0, or 1 + the CHANGED argument a full event ring refused */
    int64_t last_look;
    file_id id;
    uint8_t image[IMAGE_MAX];
    uint8_t aid[AID_MAX];
    size_t aid_len;
    card_file files[FILES_MAX];
    int file_count;
    card_channel ch[CHANNELS];
    uint8_t answer[RESPONSE_MAX]; /* response to the last APDU, until hal_card_receive */
    size_t answer_len;
    uint8_t t0[RESPONSE_MAX]; /* data waiting for GET RESPONSE */
    size_t t0_len;
} card;

static void say(const char *what, const char *path)
{
    char line[300];
    int n = snprintf(line, sizeof line, "host: card image %s: %s\n", path, what);
    if (n > 0) host_write_stdout(line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1);
}

/* ---------------------------------------------------------------- the image file */

static unsigned be16(const uint8_t *p) { return (unsigned) p[0] << 8 | p[1]; }

/* Image: "UICC" 01 aidLen aid[aidLen] fileCount { dir fid(2) size(2) data[size] }* */
static const char *parse_image(size_t len)
{
    const uint8_t *b = card.image;
    size_t pos;
    int i;
    if (len < 7 || memcmp(b, "UICC", 4) != 0) return "not a card image (no UICC magic)";
    if (b[4] != 1) return "unknown image version";
    card.aid_len = b[5];
    if (card.aid_len > AID_MAX || 7 + card.aid_len > len) return "bad AID length";
    memcpy(card.aid, b + 6, card.aid_len);
    pos = 6 + card.aid_len;
    card.file_count = b[pos++];
    if (card.file_count > FILES_MAX) return "too many files";
    for (i = 0; i < card.file_count; i++) {
        card_file *f = &card.files[i];
        if (pos + 5 > len) return "truncated file header";
        f->dir = b[pos];
        f->fid = (uint16_t) be16(b + pos + 1);
        f->size = (uint16_t) be16(b + pos + 3);
        pos += 5;
        if (f->dir > DIR_ADF || (f->dir == DIR_ADF && card.aid_len == 0)) return "bad directory";
        if (f->fid == 0x3F00 || f->fid == 0x7FFF || f->fid == 0xFFFF) return "reserved file id";
        if (pos + f->size > len) return "file data past the end";
        f->data = b + pos;
        pos += f->size;
    }
    return pos == len ? NULL : "bytes after the last file";
}

static int same_file(const file_id *a, const file_id *b) { return a->dev == b->dev && a->ino == b->ino; }

static int same_content(const file_id *a, const file_id *b)
{
    return same_file(a, b) && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void identify(const struct stat *st, file_id *id)
{
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->mtime = st->st_mtim;
    id->size = st->st_size;
}

/* Reads and checks the image; 1 when it is a valid card. card.id names what was read. */
static int load_image(const char *path)
{
    struct stat st;
    const char *why = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    if (fstat(fileno(f), &st) != 0) why = "cannot stat";
    else {
        identify(&st, &card.id);
        len = fread(card.image, 1, sizeof card.image, f);
        if (ferror(f)) why = "read error";
        else if (len == sizeof card.image && fgetc(f) != EOF) why = "larger than 40 KB";
        else why = parse_image(len);
    }
    fclose(f);
    card.rejected = why != NULL;
    if (why != NULL) say(why, path);
    return why == NULL;
}

/* ---------------------------------------------------------------- insertion */

static void power_up(void)
{
    memset(card.ch, 0, sizeof card.ch);
    card.ch[0].open = 1;
    card.ch[0].ef = NO_EF;
    card.answer_len = 0;
    card.t0_len = 0;
}

static void announce(int inserted)
{
    card.unannounced = event_post(HAL_EV_CARD_CHANGED, 0, inserted) == HAL_OK ? 0 : 1 + inserted;
}

static void set_present(int present)
{
    if (card.present == present) return;
    card.present = present;
    power_up();
    if (card.looked) announce(present);
}

/* `card insert FILE` names the image instead of --card; `card remove` keeps the card out
 * whatever its file does, until `card insert`. A reset (re-exec) keeps this state, as it
 * keeps a real card where it is: it travels in the environment. */
#define CONSOLE_STATE_ENV "METER_HOST_CARD" /* "in:<path>" or "out:<path>" */
static char inserted_path[256];
static int pulled;

static void restore_console_state(void)
{
    static int restored;
    const char *v = getenv(CONSOLE_STATE_ENV);
    if (restored) return;
    restored = 1;
    if (v == NULL || strlen(v) >= sizeof inserted_path) return;
    if (strncmp(v, "in:", 3) == 0) strcpy(inserted_path, v + 3);
    else if (strncmp(v, "out:", 4) == 0) {
        strcpy(inserted_path, v + 4);
        pulled = 1;
    }
}

static void save_console_state(void)
{
    char v[sizeof inserted_path + 4];
    snprintf(v, sizeof v, "%s:%s", pulled ? "out" : "in", inserted_path);
    setenv(CONSOLE_STATE_ENV, v, 1);
}

static const char *image_path(void)
{
    restore_console_state();
    return inserted_path[0] ? inserted_path : host_option("card");
}

static void look(const char *path)
{
    struct stat st;
    file_id now;
    if (pulled || stat(path, &st) != 0 || access(path, R_OK) != 0) {
        card.rejected = 0;
        set_present(0);
        return;
    }
    identify(&st, &now);
    if (card.present && same_content(&now, &card.id)) return;
    if (card.rejected && same_content(&now, &card.id)) return;
    if (card.present && same_file(&now, &card.id)) {
        /* Same card, new content (an over-the-air update of the card): no event. */
        if (!load_image(path)) set_present(0);
        return;
    }
    set_present(0); /* another file: the old card was taken out first */
    if (load_image(path)) set_present(1);
}

/* Looks at the card now (a console command), as the periodic check would. */
static void look_now(const char *path)
{
    card.last_look = host_clock_real_uptime();
    look(path);
    card.looked = 1;
}

int host_card_command(const char *line, size_t len)
{
    static const char ok[] = "OK\n";
    const char *path;
    char reply[320];
    int n;
    if (len < 4 || memcmp(line, "card", 4) != 0 || (len > 4 && line[4] != ' ')) return 0;
    if (len == 11 && memcmp(line, "card remove", 11) == 0) {
        pulled = 1;
        save_console_state();
        if (image_path() != NULL) look_now(image_path());
        host_write_stdout(ok, sizeof ok - 1);
        return 1;
    }
    if (len >= 11 && memcmp(line, "card insert", 11) == 0 && (len == 11 || line[11] == ' ')) {
        restore_console_state();
        if (len > 12) {
            if (len - 12 >= sizeof inserted_path) {
                n = snprintf(reply, sizeof reply, "ERROR: card image path longer than %u bytes\n", (unsigned) sizeof inserted_path - 1);
                host_write_stdout(reply, (size_t) n);
                return 1;
            }
            memcpy(inserted_path, line + 12, len - 12);
            inserted_path[len - 12] = 0;
        }
        pulled = 0;
        save_console_state();
        path = image_path();
        if (path == NULL) n = snprintf(reply, sizeof reply, "ERROR: no card image (card insert FILE)\n");
        else {
            look_now(path);
            n = card.present ? snprintf(reply, sizeof reply, "OK\n")
                             : snprintf(reply, sizeof reply, "ERROR: no valid card image at %.256s\n", path);
        }
        host_write_stdout(reply, (size_t) n < sizeof reply ? (size_t) n : sizeof reply - 1);
        return 1;
    }
    path = image_path();
    if (len == 4 || (len == 11 && memcmp(line, "card status", 11) == 0)) {
        n = snprintf(reply, sizeof reply, "card: %s (%.256s)\nOK\n", card.present ? "inserted" : "absent",
                     path ? path : "no image");
    } else n = snprintf(reply, sizeof reply, "ERROR: want card insert [FILE], card remove or card status\n");
    host_write_stdout(reply, (size_t) n < sizeof reply ? (size_t) n : sizeof reply - 1);
    return 1;
}

void host_card_check(void)
{
    const char *path = image_path();
    int64_t now = host_clock_real_uptime();
    /* No card image at power-up: a `card insert` later is an insertion. */
    if (path == NULL) {
        card.looked = 1;
        return;
    }
    if (card.unannounced) announce(card.unannounced - 1);
    if (card.looked && now - card.last_look < CHECK_INTERVAL_MS) return;
    card.last_look = now;
    look(path);
    card.looked = 1;
}

int host_card_poll_timeout(int timeout_ms)
{
    int64_t wait;
    if (image_path() == NULL) return timeout_ms;
    wait = card.looked ? card.last_look + CHECK_INTERVAL_MS - host_clock_real_uptime() : 0;
    if (wait < 0) wait = 0;
    return timeout_ms >= 0 && timeout_ms < wait ? timeout_ms : (int) wait;
}

/* ---------------------------------------------------------------- commands */

static size_t status(uint8_t *r, size_t n, unsigned sw)
{
    r[n] = (uint8_t) (sw >> 8);
    r[n + 1] = (uint8_t) sw;
    return n + 2;
}

/* Short APDU cases 1-4; 0 when the length matches none of them. */
static int parse_apdu(const uint8_t *a, size_t len, apdu_cmd *c)
{
    c->cla = a[0];
    c->ins = a[1];
    c->p1 = a[2];
    c->p2 = a[3];
    c->data = a + 5;
    c->lc = 0;
    c->le = -1;
    if (len == 4) return 1;
    if (len == 5) {
        c->le = a[4] ? a[4] : 256;
        return 1;
    }
    c->lc = a[4];
    if (c->lc == 0) return 0; /* extended length: not supported */
    if (len == 6 + c->lc) c->le = a[5 + c->lc] ? a[5 + c->lc] : 256;
    return len == 5 + c->lc || len == 6 + c->lc;
}

static int find_file(int dir, unsigned fid)
{
    int i;
    for (i = 0; i < card.file_count; i++) {
        if (card.files[i].dir == dir && card.files[i].fid == fid) return i;
    }
    return NO_EF;
}

/* Walks the file ids of a path from `dir`; SW_OK and the new position in *out. */
static unsigned resolve(const card_channel *c, const uint8_t *fids, size_t n, int dir, card_channel *out)
{
    int ef = NO_EF;
    size_t i;
    if (n == 0 || n % 2 != 0) return SW_WRONG_LENGTH;
    for (i = 0; i < n; i += 2) {
        unsigned fid = be16(fids + i);
        if (ef != NO_EF) return SW_NOT_FOUND; /* an EF has no children */
        if (fid == 0x3F00) dir = DIR_MF;
        else if (fid == 0x7FFF) {
            if (!c->app) return SW_NOT_FOUND;
            dir = DIR_ADF;
        } else if ((ef = find_file(dir, fid)) == NO_EF) return SW_NOT_FOUND;
    }
    *out = *c;
    out->dir = (uint8_t) dir;
    out->ef = ef;
    return SW_OK;
}

static size_t put_tlv(uint8_t *p, size_t n, uint8_t tag, const uint8_t *v, size_t len)
{
    p[n] = tag;
    p[n + 1] = (uint8_t) len;
    memcpy(p + n + 2, v, len);
    return n + 2 + len;
}

/* FCP template of the selected file (TS 102 221 11.1.1.3) into the GET RESPONSE buffer. */
static void make_fcp(const card_channel *c)
{
    static const uint8_t working_ef[] = { 0x41, 0x21 }, df[] = { 0x78, 0x21 }, operational[] = { 0x05 };
    uint8_t body[64], fid[2], size[2];
    size_t n = 0;
    if (c->ef != NO_EF) {
        const card_file *f = &card.files[c->ef];
        fid[0] = (uint8_t) (f->fid >> 8);
        fid[1] = (uint8_t) f->fid;
        size[0] = (uint8_t) (f->size >> 8);
        size[1] = (uint8_t) f->size;
        n = put_tlv(body, n, 0x82, working_ef, 2);
        n = put_tlv(body, n, 0x83, fid, 2);
        n = put_tlv(body, n, 0x80, size, 2);
    } else {
        fid[0] = c->dir == DIR_ADF ? 0x7F : 0x3F;
        fid[1] = c->dir == DIR_ADF ? 0xFF : 0x00;
        n = put_tlv(body, n, 0x82, df, 2);
        n = put_tlv(body, n, 0x83, fid, 2);
        if (c->dir == DIR_ADF) n = put_tlv(body, n, 0x84, card.aid, card.aid_len);
    }
    n = put_tlv(body, n, 0x8A, operational, 1);
    card.t0_len = put_tlv(card.t0, 0, 0x62, body, n);
}

static unsigned select_aid(const card_channel *c, const apdu_cmd *cmd, card_channel *out)
{
    if (card.aid_len == 0 || cmd->lc > card.aid_len || memcmp(cmd->data, card.aid, cmd->lc) != 0) return SW_NOT_FOUND;
    *out = *c;
    out->app = 1;
    out->dir = DIR_ADF;
    out->ef = NO_EF;
    return SW_OK;
}

static size_t do_select(card_channel *c, const apdu_cmd *cmd, uint8_t *r)
{
    card_channel next;
    unsigned sw;
    if (cmd->p2 != 0x04 && cmd->p2 != 0x0C && cmd->p2 != 0x00) return status(r, 0, SW_BAD_P1P2);
    if (cmd->lc == 0) return status(r, 0, SW_WRONG_LENGTH);
    switch (cmd->p1) {
    case 0x04: sw = select_aid(c, cmd, &next); break;
    case 0x00:
    case 0x02: sw = cmd->lc == 2 ? resolve(c, cmd->data, 2, c->dir, &next) : SW_WRONG_LENGTH; break;
    case 0x08: sw = resolve(c, cmd->data, cmd->lc, DIR_MF, &next); break;
    case 0x09: sw = resolve(c, cmd->data, cmd->lc, c->dir, &next); break;
    default: sw = SW_BAD_P1P2; break;
    }
    if (sw != SW_OK) return status(r, 0, sw);
    *c = next;
    if (cmd->p2 == 0x0C) return status(r, 0, SW_OK);
    make_fcp(c);
    return status(r, 0, 0x6100 | (unsigned) card.t0_len);
}

static size_t do_read_binary(const card_channel *c, const apdu_cmd *cmd, uint8_t *r)
{
    const card_file *f;
    unsigned off;
    size_t n;
    if (cmd->lc != 0 || cmd->le < 0) return status(r, 0, SW_WRONG_LENGTH);
    if (cmd->p1 & 0x80) return status(r, 0, SW_BAD_P1P2); /* short file id: not supported */
    if (c->ef == NO_EF) return status(r, 0, SW_NO_EF);
    f = &card.files[c->ef];
    off = (unsigned) (cmd->p1 << 8 | cmd->p2);
    if (off >= f->size) return status(r, 0, SW_BAD_OFFSET);
    n = f->size - off < (unsigned) cmd->le ? f->size - off : (size_t) cmd->le;
    memcpy(r, f->data + off, n);
    return status(r, n, n < (size_t) cmd->le ? SW_EOF : SW_OK);
}

static size_t do_get_response(const apdu_cmd *cmd, uint8_t *r)
{
    size_t n = (size_t) cmd->le;
    if (cmd->p1 != 0 || cmd->p2 != 0) return status(r, 0, SW_BAD_P1P2);
    if (cmd->lc != 0 || cmd->le < 0) return status(r, 0, SW_WRONG_LENGTH);
    if (card.t0_len == 0) return status(r, 0, SW_NO_DATA);
    if (n > card.t0_len) return status(r, 0, 0x6C00 | (unsigned) card.t0_len);
    memcpy(r, card.t0, n);
    card.t0_len -= n;
    memmove(card.t0, card.t0 + n, card.t0_len);
    return status(r, n, card.t0_len ? 0x6100 | (unsigned) card.t0_len : SW_OK);
}

static size_t do_manage_channel(const apdu_cmd *cmd, uint8_t *r)
{
    int i;
    if (cmd->lc != 0) return status(r, 0, SW_WRONG_LENGTH);
    if (cmd->p1 == 0x80) { /* close */
        if (cmd->p2 == 0 || cmd->p2 >= CHANNELS) return status(r, 0, SW_BAD_P1P2);
        if (!card.ch[cmd->p2].open) return status(r, 0, SW_NO_CHANNEL);
        card.ch[cmd->p2].open = 0;
        return status(r, 0, SW_OK);
    }
    if (cmd->p1 != 0x00 || cmd->p2 != 0x00) return status(r, 0, SW_BAD_P1P2);
    if (cmd->le != 1) return status(r, 0, SW_WRONG_LENGTH);
    for (i = 1; i < CHANNELS && card.ch[i].open; i++) {}
    if (i == CHANNELS) return status(r, 0, SW_NO_FUNCTION);
    memset(&card.ch[i], 0, sizeof card.ch[i]);
    card.ch[i].open = 1; /* the MF is selected on a new channel */
    card.ch[i].ef = NO_EF;
    r[0] = (uint8_t) i;
    return status(r, 1, SW_OK);
}

static size_t run_apdu(const uint8_t *a, size_t len, uint8_t *r)
{
    apdu_cmd cmd;
    card_channel *c;
    if (!parse_apdu(a, len, &cmd)) return status(r, 0, SW_WRONG_LENGTH);
    if (cmd.ins != 0xC0) card.t0_len = 0; /* data for GET RESPONSE lasts one command */
    if ((cmd.cla & 0xFC) != 0x00) return status(r, 0, SW_BAD_CLASS);
    c = &card.ch[cmd.cla & 3];
    if (!c->open) return status(r, 0, SW_NO_CHANNEL);
    switch (cmd.ins) {
    case 0x70: return do_manage_channel(&cmd, r);
    case 0xA4: return do_select(c, &cmd, r);
    case 0xB0: return do_read_binary(c, &cmd, r);
    case 0xC0: return do_get_response(&cmd, r);
    default: return status(r, 0, SW_BAD_INS);
    }
}

/* ---------------------------------------------------------------- hal_card.h */

int hal_card_transmit(const uint8_t *apdu, size_t apdu_len)
{
    size_t n;
    int rc;
    host_card_check();
    if (!card.present) return HAL_ENOENT;
    if (apdu == NULL || apdu_len < 4 || apdu_len > APDU_MAX) return HAL_EINVAL;
    n = run_apdu(apdu, apdu_len, card.answer);
    rc = event_post(HAL_EV_CARD_RESPONSE, 0, (int32_t) n);
    card.answer_len = rc == HAL_OK ? n : 0;
    return rc;
}

int hal_card_receive(uint8_t *out, size_t out_cap)
{
    size_t n = card.answer_len;
    if (!card.present) return HAL_ENOENT;
    if (n == 0) return HAL_EAGAIN;
    if (out == NULL || out_cap < n) return HAL_ETOOBIG;
    memcpy(out, card.answer, n);
    card.answer_len = 0;
    return (int) n;
}
