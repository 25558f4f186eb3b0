/* Drives the qemu-mps2-an386 drivers without the engine: a console command loop over the
 * board port and the HAL, used by test/unit/qemu.test.ts to check the board on its own.
 * Links hal/src/event_ring.c and timer_deadline.c. Commands: ping, time, wait <ms>, rng, store, reset, fault, overflow, malloc, exit <code>. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "board.h"
#include "event_ring.h"
#include "hal_console.h"
#include "hal_rng.h"
#include "hal_timer.h"
#include "flash.h"
#include "qemu_board.h"
#include "runtime.h"

static void say(const char *text)
{
    hal_console_write(text);
}

static void say_dec(int64_t value)
{
    char text[24];
    int at = sizeof text - 1;
    int negative = value < 0;
    uint64_t v = negative ? (uint64_t) -value : (uint64_t) value;
    text[at] = 0;
    do {
        text[--at] = (char) ('0' + (int) (v % 10));
        v /= 10;
    } while (v);
    if (negative) {
        text[--at] = '-';
    }
    say(text + at);
}

static int parse_int(const char *text)
{
    int value = 0;
    while (*text >= '0' && *text <= '9') {
        value = value * 10 + (*text++ - '0');
    }
    return value;
}

static int store_check(void)
{
    uint8_t byte;
    static const uint8_t a = 0xF0, b = 0x3C;
    if (flash_read(0, &byte, 1) != 0) return 1;
    /* The first boot of a QEMU run finds an erased store; after a reset, what we left. */
    say("store: first byte ");
    say_dec(byte);
    say("\n");
    if (flash_erase(1) != 0) return 2;
    if (flash_read(4096, &byte, 1) != 0 || byte != 0xFF) return 3;
    if (flash_program(4096, &a, 1) != 0 || flash_program(4096, &b, 1) != 0) return 4;
    if (flash_read(4096, &byte, 1) != 0 || byte != (0xF0 & 0x3C)) return 5;
    if (flash_erase(1) != 0 || flash_read(4096, &byte, 1) != 0 || byte != 0xFF) return 6;
    if (flash_erase(BOARD_STORE_SECTORS) != HAL_EINVAL) return 7;
    if (flash_read(BOARD_STORE_SECTORS * BOARD_STORE_SECTOR_BYTES, &byte, 1) != HAL_EINVAL) return 8;
    /* Leave a mark at offset 0 that a reset must keep. */
    static const uint8_t mark = 0x5A;
    if (flash_program(0, &mark, 1) != 0) return 9;
    return 0;
}

static int recurse(volatile int depth)
{
    volatile uint8_t pad[256];
    pad[0] = (uint8_t) depth;
    if (depth > 1000000) { /* never reached: the stack is far smaller */
        return 0;
    }
    return recurse(depth + 1) + pad[0];
}

static void command(const char *line)
{
    if (strcmp(line, "ping") == 0) {
        say("pong\n");
    } else if (strcmp(line, "time") == 0) {
        say("time: ");
        say_dec(hal_timer_now());
        say(" ms\n");
    } else if (strncmp(line, "wait ", 5) == 0) {
        hal_timer_arm(parse_int(line + 5));
        say("armed\n");
    } else if (strcmp(line, "rng") == 0) {
        uint8_t bytes[8];
        hal_rng_fill(bytes, sizeof bytes);
        say("rng:");
        for (unsigned i = 0; i < sizeof bytes; i++) {
            say(" ");
            say_dec(bytes[i]);
        }
        say("\n");
    } else if (strcmp(line, "store") == 0) {
        int rc = store_check();
        say(rc ? "store: FAIL " : "store: ok");
        if (rc) say_dec(rc);
        say("\n");
    } else if (strcmp(line, "reset") == 0) {
        board_reset("console");
    } else if (strcmp(line, "fault") == 0) {
        ((void (*)(void)) 0xFFFFFFF1u)();
    } else if (strcmp(line, "overflow") == 0) {
        recurse(0);
    } else if (strcmp(line, "malloc") == 0) {
        void *volatile p = malloc(16);
        (void) p;
    } else if (strncmp(line, "exit ", 5) == 0) {
        board_halt("console", parse_int(line + 5));
    } else {
        say("unknown: ");
        say(line);
        say("\n");
    }
}

int meter_main(int argc, char **argv)
{
    board_init(argc, argv);
    say("selftest: ready\n");
    static uint8_t line[BOARD_CONSOLE_LINE_BYTES];
    for (;;) {
        board_wait(timer_deadline_remaining());
        timer_deadline_poll();
        hal_event ev;
        while (event_take(&ev)) {
            if (ev.kind == HAL_EV_CONSOLE_LINE) {
                int len = hal_console_read(line, sizeof line - 1);
                if (len > 0) {
                    line[len] = 0;
                    command((const char *) line);
                }
            } else if (ev.kind == HAL_EV_TIMER) {
                say("timer: fired at ");
                say_dec(hal_timer_now());
                say(" ms\n");
            }
        }
    }
}
