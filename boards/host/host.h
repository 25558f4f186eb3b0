/* Internals shared by the host board's drivers in boards/host. */
#ifndef HOST_H
#define HOST_H

#define _GNU_SOURCE 1

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* Clock: real CLOCK_MONOTONIC, or a virtual clock that board_wait advances. */
void host_clock_start(int virtual_clock);
int host_clock_is_virtual(void);
void host_clock_advance(int64_t ms);
/* Real milliseconds since host_clock_start, whatever the clock mode. */
int64_t host_clock_real_uptime(void);

/* RNG: seeds the generator (explicit, or chosen from getrandom) and prints it. */
void host_rng_start(const char *seed_option, unsigned boot_count);

/* Console on stdin/stdout. */
void host_console_start(void);
/* Adds stdin to the poll set when more input can be taken; returns fds added. */
int host_console_poll_fds(struct pollfd *fds, int max);
void host_console_on_poll(const struct pollfd *fds, int count);
/* Posts the events of lines that could not be announced while the ring was full. */
void host_console_announce(void);
/* Events posted outside board_wait's poll (lines cut from earlier input): the caller
 * must not sleep. Returns their count and clears it. */
int host_console_take_fresh(void);

/* Link: UDP sockets. */
int host_link_poll_fds(struct pollfd *fds, int max);
void host_link_on_poll(const struct pollfd *fds, int count);
int host_link_any_open(void);
/* Datagrams on the socket itself, beneath DTLS (boards/host/dtls_host.c uses them). */
int host_link_raw_send(int handle, const uint8_t *data, size_t data_len);
int host_link_raw_recv(int handle, uint8_t *out, size_t out_cap);

/* Writes all of text to fd 1, retrying on partial writes. */
void host_write_stdout(const char *text, size_t len);

#endif
