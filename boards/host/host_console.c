/* Console on stdin/stdout. stdin is cut into lines (without "\n" or "\r\n"); each line
 * raises HAL_EV_CONSOLE_LINE(0, length) and waits for hal_console_read. stdin is read
 * one byte at a time and only while no line is waiting, so input the firmware has not
 * taken yet stays in the pipe and survives a reset (re-exec). A line longer than
 * BOARD_CONSOLE_LINE_BYTES - 1 is dropped whole (a truncated command could do the wrong
 * thing); empty lines are skipped. At end of input stdin leaves the poll set: no
 * spinning. Lines starting with the word `card` are the board's own commands (the emulated
 * UICC, host_card.h) and never reach the firmware. */
#include "host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "board_config.h"
#include "event_ring.h"
#include "hal_console.h"
#include "host_card.h"

#define LINE_MAX_TEXT (BOARD_CONSOLE_LINE_BYTES - 1)

static char line[LINE_MAX_TEXT];
static size_t line_len;
static int line_too_long;
static int line_ready;     /* a complete line waits for hal_console_read */
static int line_announced; /* its event is in the ring */
static int input_ended;
static int fresh_events; /* posted since the last host_console_take_fresh */

void host_write_stdout(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(1, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text += n;
        len -= (size_t) n;
    }
}

void board_console_write(const char *text, int len)
{
    if (text != NULL && len > 0) host_write_stdout(text, (size_t) len);
}

int hal_console_write(const char *text)
{
    size_t len;
    if (text == NULL) return HAL_EINVAL;
    len = strlen(text);
    host_write_stdout(text, len);
    return (int) len;
}

void host_console_announce(void)
{
    if (!line_ready || line_announced) return;
    if (event_post(HAL_EV_CONSOLE_LINE, 0, (int32_t) line_len) != HAL_OK) return;
    line_announced = 1;
    fresh_events++;
}

int host_console_take_fresh(void)
{
    int n = fresh_events;
    fresh_events = 0;
    return n;
}

static void finish_line(void)
{
    static const char refused[] = "host: console line too long, dropped\n";
    if (line_len > 0 && line[line_len - 1] == '\r') line_len--;
    if (line_too_long) host_write_stdout(refused, sizeof refused - 1);
    else if (line_len > 0 && !host_card_command(line, line_len)) line_ready = 1;
    if (!line_ready) line_len = 0;
    line_too_long = 0;
}

static void take_char(char c)
{
    if (c == '\n') finish_line();
    else if (line_len < LINE_MAX_TEXT) line[line_len++] = c;
    else line_too_long = 1;
}

static int more_input_now(void)
{
    struct pollfd p;
    p.fd = 0;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 0) > 0;
}

static void read_until_line(void)
{
    char c;
    do {
        ssize_t n = read(0, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            input_ended = 1;
            if (line_len > 0 || line_too_long) finish_line();
            return;
        }
        take_char(c);
    } while (!line_ready && more_input_now());
}

void host_console_start(void)
{
    line_len = 0;
    line_too_long = 0;
    line_ready = 0;
    line_announced = 0;
    input_ended = 0;
}

int host_console_poll_fds(struct pollfd *fds, int max)
{
    host_console_announce();
    if (input_ended || line_ready || max < 1) return 0;
    fds[0].fd = 0;
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    return 1;
}

void host_console_on_poll(const struct pollfd *fds, int count)
{
    if (count < 1 || fds[0].revents == 0) return;
    read_until_line();
    host_console_announce();
}

int hal_console_read(uint8_t *out, size_t out_cap)
{
    size_t n;
    if (out == NULL && out_cap > 0) return HAL_EINVAL;
    if (!line_ready) return 0;
    n = line_len < out_cap ? line_len : out_cap;
    memcpy(out, line, n);
    line_len = 0;
    line_ready = 0;
    line_announced = 0;
    return (int) n;
}
