/* The single one-shot deadline the main loop sleeps towards (hal_timer_arm). Boards
 * provide the clocks (hal_timer_now, hal_timer_wall). */
#include "hal_timer.h"

#include "event_ring.h"
#include "runtime.h"

#define NO_DEADLINE (-1)

static int64_t deadline = NO_DEADLINE;

/* A negative delay disarms. */
int hal_timer_arm(int64_t delay)
{
    deadline = delay < 0 ? NO_DEADLINE : hal_timer_now() + delay;
    return HAL_OK;
}

int64_t timer_deadline_remaining(void)
{
    int64_t left;
    if (deadline == NO_DEADLINE) return -1;
    left = deadline - hal_timer_now();
    return left < 0 ? 0 : left;
}

void timer_deadline_poll(void)
{
    if (deadline == NO_DEADLINE || hal_timer_now() < deadline) return;
    /* When the ring is full the deadline stays armed and fires on the next pass. */
    if (event_post(HAL_EV_TIMER, 0, 0) == HAL_OK) deadline = NO_DEADLINE;
}
