/* What a board provides to the shared main loop (hal/src/main_loop.c). Not part of the
 * JS boundary: the firmware never sees these. Each board implements them in
 * boards/<name>/ next to its hal_* drivers. */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* Brings up clocks, console and drivers; argc/argv are empty on an MCU. */
void board_init(int argc, char **argv);

/* Sleeps until a driver posts an event or timeout_ms elapses (-1: no deadline).
 * Drivers post received datagrams, console lines and timer expiries into the ring. */
void board_wait(int64_t timeout_ms);

/* Raw console output for the log and for fatal reports; never blocks for long. */
void board_console_write(const char *text, int len);

/* Restarts the meter (MCU reset; re-exec on the host). Never returns. */
void board_reset(const char *reason);

/* Stops for good after an unrecoverable error (host: exit code 3). Never returns. */
void board_halt(const char *reason, int code);

#endif
