/* The meter's one loop: drain the event ring into the JS dispatcher, then sleep until
 * a driver posts an event or the deadline armed by hal_timer_arm passes. */
#include <string.h>

#include "board.h"
#include "board_config.h"
#include "duktape.h"
#include "engine.h"
#include "event_ring.h"
#include "hal_log.h"
#include "runtime.h"
#include "text_line.h"

static void print_banner(void)
{
    char buf[120];
    text_line t;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "*** Booting GEISA meter firmware on ");
    text_str(&t, BOARD_NAME);
    text_str(&t, " (Duktape ");
    text_u64(&t, DUK_VERSION / 10000);
    text_str(&t, ".");
    text_u64(&t, (DUK_VERSION / 100) % 100);
    text_str(&t, ".");
    text_u64(&t, DUK_VERSION % 100);
    text_str(&t, ") ***\n");
    board_console_write(buf, (int) t.len);
}

/* The record store (hal/store) when the board links one: mounted before the app runs. */
extern int store_mount(void) __attribute__((weak));

static void mount_store(void)
{
    char buf[64];
    text_line t;
    int rc;
    if (store_mount == NULL) return;
    rc = store_mount();
    if (rc == 0) return;
    text_init(&t, buf, sizeof buf);
    text_str(&t, "store: mount failed (");
    text_i64(&t, rc);
    text_str(&t, ")");
    hal_log_write(LOG_LEVEL_ERR, buf);
}

static void drain_events(void)
{
    hal_event ev;
    while (event_take(&ev)) engine_dispatch(ev.kind, ev.handle, ev.arg);
}

int meter_main(int argc, char **argv)
{
    board_init(argc, argv);
    print_banner();
    mount_store();
    engine_start();
    for (;;) {
        timer_deadline_poll();
        drain_events();
        board_wait(timer_deadline_remaining());
    }
}
