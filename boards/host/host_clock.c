/* hal_timer_now/hal_timer_wall. With --virtual-clock, time stands still while the
 * firmware runs and board_wait jumps it to the next deadline when no I/O is ready. */
#include "host.h"

#include <time.h>

#include "hal_timer.h"

static int64_t real_start_ms;
static int64_t wall_start_ms;
static int64_t virtual_ms;
static int is_virtual;

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void host_clock_start(int virtual_clock)
{
    is_virtual = virtual_clock;
    real_start_ms = clock_ms(CLOCK_MONOTONIC);
    wall_start_ms = clock_ms(CLOCK_REALTIME);
    virtual_ms = 0;
}

int64_t host_clock_real_uptime(void) { return clock_ms(CLOCK_MONOTONIC) - real_start_ms; }

int host_clock_is_virtual(void) { return is_virtual; }

void host_clock_advance(int64_t ms)
{
    if (ms > 0) virtual_ms += ms;
}

int64_t hal_timer_now(void) { return is_virtual ? virtual_ms : clock_ms(CLOCK_MONOTONIC) - real_start_ms; }

int64_t hal_timer_wall(void) { return is_virtual ? wall_start_ms + virtual_ms : clock_ms(CLOCK_REALTIME); }
