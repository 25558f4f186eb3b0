/* hal_sys_*: reset, fatal stop and watchdog (hal_sys_heap lives in hal/engine/engine.c,
 * which owns the pool). */
#include "hal_sys.h"

#include <string.h>

#include "board.h"
#include "engine.h"

/* A board with a hardware watchdog defines this; the host has none. */
__attribute__((weak)) void board_watchdog_kick(void) {}

int hal_sys_reset(const char *reason)
{
    board_reset(reason != NULL ? reason : "");
    return HAL_OK;
}

int hal_sys_fatal(const char *reason)
{
    const char *r = reason != NULL ? reason : "";
    board_console_write("FATAL: ", 7);
    board_console_write(r, (int) strlen(r));
    board_console_write("\n", 1);
    board_halt(r, 3);
    return HAL_OK;
}

int hal_sys_watchdog_kick(void)
{
    engine_watchdog_kick();
    board_watchdog_kick();
    return HAL_OK;
}
