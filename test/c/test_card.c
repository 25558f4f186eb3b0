/* The host UICC emulation (boards/host/host_card.c) without the rest of the board:
 *   test_card check DIR             self-test; writes its card images into DIR
 *   test_card apdu IMAGE HEX...     inserts IMAGE, sends each APDU, prints each answer in hex
 * (the second form lets test/unit/smartcard.test.ts run the firmware's reader against it).
 * Stubs stand in for the event ring, the options and the real-time clock. */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_ring.h"
#include "hal_card.h"
#include "hal_codes.h"
#include "host.h"
#include "host_card.h"
#include "host_options.h"

/* ---------------------------------------------------------------- stubs */

static const char *card_path;
static int64_t clock_ms = 5000;
static int events[16][2];
static int event_count;
static int ring_full;

const char *host_option(const char *name) { return strcmp(name, "card") == 0 ? card_path : NULL; }

int64_t host_clock_real_uptime(void) { return clock_ms; }

void host_write_stdout(const char *text, size_t len) { fwrite(text, 1, len, stdout); }

int event_post(int kind, int handle, int32_t arg)
{
    (void) handle;
    if (ring_full) return HAL_ENOSPC;
    if (kind == HAL_EV_CARD_RESPONSE) return HAL_OK;
    if (event_count < 16) {
        events[event_count][0] = kind;
        events[event_count][1] = (int) arg;
    }
    event_count++;
    return HAL_OK;
}

/* ---------------------------------------------------------------- helpers */

static int checks, failures;

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(int ok, const char *what, int line)
{
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL line %d: %s\n", line, what);
    }
}

static int unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        unsigned v;
        if (*s == ' ') {
            s++;
            continue;
        }
        if (n >= cap || sscanf(s, "%2x", &v) != 1) return -1;
        out[n++] = (uint8_t) v;
        s += 2;
    }
    return (int) n;
}

static void hex(const uint8_t *b, int n, char *out)
{
    int i;
    for (i = 0; i < n; i++) sprintf(out + 2 * i, "%02X", b[i]);
    out[2 * (n > 0 ? n : 0)] = 0;
}

static char answer[600];

/* Sends an APDU written in hex; returns the answer in hex (data and SW), or "rc=N". */
static const char *send(const char *apdu_hex)
{
    uint8_t apdu[300], r[300];
    int n = unhex(apdu_hex, apdu, sizeof apdu), rc;
    rc = hal_card_transmit(apdu, (size_t) n);
    if (rc != HAL_OK) {
        sprintf(answer, "rc=%d", rc);
        return answer;
    }
    rc = hal_card_receive(r, sizeof r);
    if (rc < 0) sprintf(answer, "rc=%d", rc);
    else hex(r, rc, answer);
    return answer;
}

#define EXPECT(apdu, want) expect_answer((apdu), (want), __LINE__)

static void expect_answer(const char *apdu, const char *want, int line)
{
    const char *got = send(apdu);
    checks++;
    if (strcmp(got, want) != 0) {
        failures++;
        printf("FAIL line %d: %s -> %s, want %s\n", line, apdu, got, want);
    }
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, n, f) != n) {
        printf("FAIL cannot write %s (%zu bytes)\n", path, n);
        exit(1);
    }
    fclose(f);
}

static const uint8_t AID[] = { 0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35 };

/* A card image: the PKCS#15 application with ODF 5031, DODF 6430, a 300-byte EF 6432 whose
 * byte i is i & 255 (or ~i with `alt`), and EF 2FE2 (10 bytes) under the MF. */
static size_t make_image(uint8_t *b, int alt)
{
    static const uint8_t odf[] = { 0xA7, 0x06, 0x30, 0x04, 0x04, 0x02, 0x64, 0x30 };
    size_t n = 0, i;
    memcpy(b, "UICC\x01\x0C", 6);
    n = 6;
    memcpy(b + n, AID, sizeof AID);
    n += sizeof AID;
    b[n++] = 4;
    memcpy(b + n, "\x01\x50\x31\x00\x08", 5);
    n += 5;
    memcpy(b + n, odf, sizeof odf);
    n += sizeof odf;
    memcpy(b + n, "\x01\x64\x30\x00\x02\xAA\xBB", 7);
    n += 7;
    memcpy(b + n, "\x01\x64\x32\x01\x2C", 5);
    n += 5;
    for (i = 0; i < 300; i++) b[n++] = (uint8_t) (alt ? ~i : i);
    memcpy(b + n, "\x00\x2F\xE2\x00\x0A", 5);
    n += 5;
    for (i = 0; i < 10; i++) b[n++] = (uint8_t) (0xE0 + i);
    return n;
}

static void tick(int64_t ms)
{
    clock_ms += ms;
    host_card_check();
}

static int take_event(void)
{
    int v = event_count == 1 && events[0][0] == HAL_EV_CARD_CHANGED ? events[0][1] : event_count == 0 ? -1 : -2;
    event_count = 0;
    return v;
}

/* ---------------------------------------------------------------- the checks */

static void check_commands(void)
{
    char want[600];
    uint8_t pattern[44];
    int i;
    /* logical channel 1 and the PKCS#15 application on it */
    EXPECT("00 70 00 00 01", "019000");
    EXPECT("01 A4 04 0C 0C A000000063504B43532D3135", "9000");
    EXPECT("01 A4 04 04 0C A000000063504B43532D3135 00", "611B");
    EXPECT("01 C0 00 00 20", "6C1B");
    EXPECT("01 C0 00 00 1B", "6219" "82027821" "83027FFF" "840CA000000063504B43532D3135" "8A0105" "9000");
    EXPECT("01 C0 00 00 1B", "6985");
    EXPECT("01 A4 04 0C 05 A000000063", "9000"); /* right-truncated AID */
    EXPECT("01 A4 04 0C 05 A000000064", "6A82");
    /* EF(ODF) by file id, FCP through GET RESPONSE, then READ BINARY */
    EXPECT("01 A4 00 04 02 5031 00", "6111");
    EXPECT("01 C0 00 00 08", "620F820241218302" "6109");
    EXPECT("01 C0 00 00 09", "5031" "80020008" "8A0105" "9000");
    EXPECT("01 B0 00 00 08", "A70630040402643" "09000");
    EXPECT("01 B0 00 04 10", "040264306282");
    EXPECT("01 B0 00 08 01", "6B00");
    EXPECT("01 B0 7F FF 01", "6B00");
    EXPECT("01 B0 80 00 01", "6A86");
    EXPECT("01 B0 00 00", "6700");
    EXPECT("01 B0 00 00 01 00 01", "6700");
    EXPECT("01 A4 00 0C 03 5031", "6700");
    EXPECT("01 A4 00 0C 02 9999", "6A82");
    EXPECT("01 B0 00 00 02", "A7069000"); /* a failed SELECT keeps the current file */
    /* EF 6432 by path from the MF through the application (7FFF), chunked reads */
    EXPECT("01 A4 08 0C 04 7FFF 6432", "9000");
    for (i = 0; i < 44; i++) pattern[i] = (uint8_t) (0x00 + i);
    hex(pattern, 44, want);
    strcat(want, "9000");
    EXPECT("01 B0 01 00 2C", want);
    EXPECT("01 B0 01 20 20", "202122232425262728292A2B6282");
    EXPECT("01 A4 09 04 02 6430 00", "6111"); /* path from the current DF */
    EXPECT("01 B0 00 00 00", "AABB6282");
    EXPECT("01 A4 09 0C 04 6430 6432", "6A82"); /* an EF has no children */
    EXPECT("01 A4 09 0C 03 643064", "6700");
    EXPECT("01 A4 05 0C 02 6430", "6A86");
    EXPECT("01 A4 00 01 02 6430", "6A86");
    /* the basic channel has no application selected: 7FFF is unknown there */
    EXPECT("00 A4 08 0C 04 7FFF 6432", "6A82");
    EXPECT("00 A4 00 0C 02 6432", "6A82");
    EXPECT("00 A4 00 0C 02 2FE2", "9000");
    EXPECT("00 B0 00 00 00", "E0E1E2E3E4E5E6E7E8E96282");
    EXPECT("00 B0 00 00 0A", "E0E1E2E3E4E5E6E7E8E99000");
    /* classes, instructions, lengths */
    EXPECT("00 CA 00 00 00", "6D00");
    EXPECT("80 A4 00 0C 02 2FE2", "6E00");
    EXPECT("02 B0 00 00 01", "6881");
    EXPECT("00 A4 00 0C 00", "6700");
    EXPECT("00 A4 00 0C 05 2FE2", "6700");
    EXPECT("00 C0 00 00 01", "6985");
    CHECK(strcmp(send("00 A4 00"), "rc=-1") == 0);
    /* more channels, then closing */
    EXPECT("00 70 00 00 01", "029000");
    EXPECT("00 70 00 00 01", "039000");
    EXPECT("00 70 00 00 01", "6A81");
    EXPECT("00 70 80 02", "9000");
    EXPECT("02 B0 00 00 01", "6881");
    EXPECT("00 70 80 02", "6881");
    EXPECT("00 70 80 00", "6A86");
    EXPECT("00 70 00 00", "6700");
    EXPECT("03 A4 00 0C 02 2FE2", "9000"); /* a new channel starts at the MF */
    /* receive: nothing pending, buffer too small */
    {
        uint8_t r[4];
        CHECK(hal_card_receive(r, sizeof r) == HAL_EAGAIN);
        CHECK(hal_card_transmit((const uint8_t *) "\x03\xB0\x00\x00\x0A", 5) == HAL_OK);
        CHECK(hal_card_receive(r, sizeof r) == HAL_ETOOBIG);
    }
}

static void check_insertion(const char *dir)
{
    char path[512], other[512];
    uint8_t img[1024];
    size_t n = make_image(img, 0);
    snprintf(path, sizeof path, "%s/card.img", dir);
    snprintf(other, sizeof other, "%s/other.img", dir);
    unlink(path);
    card_path = path;

    /* no card at power-up: no event, ENOENT; board_wait wakes up for each look */
    CHECK(host_card_poll_timeout(-1) == 0);
    host_card_check();
    clock_ms += 300;
    CHECK(host_card_poll_timeout(-1) == 700);
    CHECK(host_card_poll_timeout(50) == 50);
    CHECK(host_card_poll_timeout(5000) == 700);
    clock_ms += 900;
    CHECK(host_card_poll_timeout(-1) == 0);
    host_card_check();
    CHECK(take_event() == -1);
    CHECK(strcmp(send("00 B0 00 00 01"), "rc=-4") == 0);
    /* inserted: noticed at the next look, a second later */
    write_file(path, img, n);
    tick(400);
    CHECK(take_event() == -1);
    tick(600);
    CHECK(take_event() == 1);
    check_commands();
    tick(5000);
    CHECK(take_event() == -1);
    /* removed (deleted), inserted again (created) */
    unlink(path);
    tick(1000);
    CHECK(take_event() == 0);
    CHECK(strcmp(send("00 B0 00 00 01"), "rc=-4") == 0);
    write_file(path, img, n);
    tick(1000);
    CHECK(take_event() == 1);
    EXPECT("01 B0 00 00 01", "6881"); /* a reinserted card starts afresh: channel 1 is closed */
    /* renamed away and back */
    CHECK(rename(path, other) == 0);
    tick(1000);
    CHECK(take_event() == 0);
    CHECK(rename(other, path) == 0);
    tick(1000);
    CHECK(take_event() == 1);
    /* swapped for another card in one step: removed then inserted */
    write_file(other, img, n);
    CHECK(rename(other, path) == 0);
    tick(1000);
    CHECK(event_count == 2 && events[0][1] == 0 && events[1][1] == 1);
    event_count = 0;
    /* rewritten in place: same card, new content, no event */
    n = make_image(img, 1);
    {
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL && fwrite(img, 1, n, f) == n);
        if (f) fclose(f);
    }
    {
        struct timespec times[2] = { { 0, UTIME_NOW }, { 1, 0 } }; /* make sure the mtime moves */
        CHECK(utimensat(AT_FDCWD, path, times, 0) == 0);
    }
    tick(1000);
    CHECK(take_event() == -1);
    EXPECT("00 A4 08 0C 04 7FFF 6432", "6A82");
    EXPECT("00 A4 04 0C 0C A000000063504B43532D3135", "9000");
    EXPECT("00 A4 00 0C 02 6432", "9000");
    EXPECT("00 B0 00 00 02", "FFFE9000");
    /* a full event ring: the change is announced at the next check */
    unlink(path);
    ring_full = 1;
    tick(1000);
    CHECK(take_event() == -1);
    ring_full = 0;
    host_card_check();
    CHECK(take_event() == 0);
    /* images that are not valid cards: reported once, no card */
    {
        static const char *const bad_images[] = {
            "58585858 01 00 00",
            "55494343 02 00 00",
            "55494343 01 11 00",
            "55494343 01 00 01 00 2FE2 0005 0102",
            "55494343 01 00 01 01 6432 0001 00",     /* ADF file without an application */
            "55494343 01 00 01 00 3F00 0001 00",     /* reserved id */
            "55494343 01 00 01 00 2FE2 0001 00 00",  /* trailing byte */
            "55494343 01 00 11",
        };
        size_t k;
        for (k = 0; k < sizeof bad_images / sizeof bad_images[0]; k++) {
            uint8_t b[64];
            int len = unhex(bad_images[k], b, sizeof b);
            unlink(path);
            tick(1000);
            write_file(path, b, (size_t) len);
            tick(1000);
            CHECK(take_event() == -1);
            CHECK(strcmp(send("00 B0 00 00 01"), "rc=-4") == 0);
        }
    }
    /* a valid image replacing the bad one is a card again */
    n = make_image(img, 0);
    unlink(path);
    write_file(path, img, n);
    tick(1000);
    CHECK(take_event() == 1);
    unlink(path);
}

static int run_apdus(const char *image, int count, char **apdus)
{
    int i;
    card_path = image;
    host_card_check();
    for (i = 0; i < count; i++) printf("%s\n", send(apdus[i]));
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 3 && strcmp(argv[1], "apdu") == 0) return run_apdus(argv[2], argc - 3, argv + 3);
    if (argc != 3 || strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "usage: test_card check DIR | test_card apdu IMAGE HEX...\n");
        return 2;
    }
    CHECK(host_card_poll_timeout(-1) == -1);
    CHECK(host_card_poll_timeout(70) == 70);
    check_insertion(argv[2]);
    printf("card tests: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
