/* Shared C runtime internals (hal/src): the main loop's timer deadline and log levels.
 * Not part of the JS boundary. */
#ifndef RUNTIME_H
#define RUNTIME_H

#include <stdint.h>

#define LOG_LEVEL_ERR 1
#define LOG_LEVEL_WRN 2
#define LOG_LEVEL_INF 3
#define LOG_LEVEL_DBG 4

/* Milliseconds until the deadline armed by hal_timer_arm, 0 when it has passed,
 * -1 when none is armed. */
int64_t timer_deadline_remaining(void);

/* Posts HAL_EV_TIMER and disarms when the deadline has passed. */
void timer_deadline_poll(void);

int meter_main(int argc, char **argv);

#endif
