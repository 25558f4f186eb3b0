/* The host board port (board.h): a POSIX process. Resets re-exec the same binary with
 * the same argv, so a test sees the reboot under the same process id. SIGTERM/SIGINT
 * raise HAL_EV_SHUTDOWN; after that any reset ends the process with exit code 0, and
 * if the firmware has not reset within 5 s the process exits anyway. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "board_config.h"
#include "dtls.h"
#include "host_card.h"
#include "event_ring.h"
#include "hal_codes.h"
#include "host_options.h"

#define SHUTDOWN_GRACE_S 5
#define VIRTUAL_IO_GRACE_MS 10 /* real wait for a peer's answer before virtual time jumps */
#define FAST_RESET_MS 2000
#define BOOT_LOOP_LIMIT 10 /* consecutive fast resets before the host gives up */
#define BOOT_ENV "METER_HOST_BOOT"
#define FAST_RESETS_ENV "METER_HOST_FAST_RESETS"
#define MAX_ENV 256

extern char **environ;

static char **saved_argv;
static int wake_pipe[2] = { -1, -1 };
static volatile sig_atomic_t shutdown_requested;
static int shutdown_posted;
static unsigned boot_count;
static unsigned fast_resets;

static void say(const char *text) { host_write_stdout(text, strlen(text)); }

static void on_shutdown_signal(int sig)
{
    (void) sig;
    if (shutdown_requested) _exit(0); /* second signal: stop now */
    shutdown_requested = 1;
    alarm(SHUTDOWN_GRACE_S);
    if (write(wake_pipe[1], "s", 1) < 0) { /* the poll also returns EINTR */ }
}

static void on_shutdown_timeout(int sig)
{
    static const char msg[] = "host: no orderly shutdown within 5 s, exiting\n";
    (void) sig;
    if (write(1, msg, sizeof msg - 1) < 0) { /* exiting anyway */ }
    _exit(0);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_shutdown_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_shutdown_timeout;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static unsigned env_count(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? (unsigned) strtoul(v, NULL, 10) : 0u;
}

void board_init(int argc, char **argv)
{
    saved_argv = argv;
    if (host_options_parse(argc, argv) < 0) exit(2);
    boot_count = env_count(BOOT_ENV);
    fast_resets = env_count(FAST_RESETS_ENV);
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) wake_pipe[0] = wake_pipe[1] = -1;
    install_signals();
    host_clock_start(host_option("virtual-clock") != NULL);
    host_console_start();
    if (boot_count > 0) {
        char line[48];
        snprintf(line, sizeof line, "host: reboot %u\n", boot_count);
        say(line);
    }
    host_rng_start(host_option("seed"), boot_count);
}

static void drain_wake_pipe(void)
{
    char buf[16];
    while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof buf) > 0) {}
}

static void post_shutdown_once(void)
{
    if (!shutdown_requested || shutdown_posted) return;
    if (event_post(HAL_EV_SHUTDOWN, 0, 0) == HAL_OK) shutdown_posted = 1;
}

static int poll_timeout(int64_t timeout_ms, int must_not_sleep)
{
    if (must_not_sleep || timeout_ms == 0) return 0;
    if (host_clock_is_virtual() && timeout_ms > 0) return host_link_any_open() ? VIRTUAL_IO_GRACE_MS : 0;
    if (timeout_ms < 0) return -1;
    return timeout_ms > INT_MAX ? INT_MAX : (int) timeout_ms;
}

void board_wait(int64_t timeout_ms)
{
    struct pollfd fds[2 + BOARD_LINK_HANDLES];
    int n_console, n_links, ready, must_not_sleep;
    int64_t dtls_ms = dtls_next_timeout_ms(); /* DTLS hook: handshake retransmission timers */
    if (dtls_ms >= 0 && (timeout_ms < 0 || dtls_ms < timeout_ms)) timeout_ms = dtls_ms;
    fds[0].fd = wake_pipe[0];
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    n_console = host_console_poll_fds(&fds[1], 1);
    n_links = host_link_poll_fds(&fds[1 + n_console], BOARD_LINK_HANDLES);
    must_not_sleep = host_console_take_fresh() > 0 || (shutdown_requested && !shutdown_posted);
    ready = poll(fds, (nfds_t) (1 + n_console + n_links),
                host_card_poll_timeout(poll_timeout(timeout_ms, must_not_sleep)));
    if (ready < 0 && errno != EINTR) ready = 0;
    if (ready > 0) {
        drain_wake_pipe();
        host_console_on_poll(&fds[1], n_console);
        host_link_on_poll(&fds[1 + n_console], n_links);
    } else if (ready == 0 && !must_not_sleep && host_clock_is_virtual()) {
        host_clock_advance(timeout_ms);
    }
    dtls_on_timer(); /* DTLS hook: retransmits, gives up, posts events the ring refused */
    host_card_check(); /* card image file appeared or vanished: insert/remove */
    post_shutdown_once();
    (void) host_console_take_fresh(); /* those were posted inside this wait */
}

static void exit_after_shutdown(void)
{
    say("host: shutdown complete\n");
    exit(0);
}

/* Copies the environment, replacing the boot counters. */
static char **reboot_environment(unsigned next_fast_resets)
{
    static char *env[MAX_ENV + 3];
    static char boot_var[48], fast_var[48];
    size_t n = 0, i;
    size_t boot_len = strlen(BOOT_ENV), fast_len = strlen(FAST_RESETS_ENV);
    for (i = 0; environ != NULL && environ[i] != NULL && n < MAX_ENV; i++) {
        if (strncmp(environ[i], BOOT_ENV "=", boot_len + 1) == 0) continue;
        if (strncmp(environ[i], FAST_RESETS_ENV "=", fast_len + 1) == 0) continue;
        env[n++] = environ[i];
    }
    snprintf(boot_var, sizeof boot_var, "%s=%u", BOOT_ENV, boot_count + 1u);
    snprintf(fast_var, sizeof fast_var, "%s=%u", FAST_RESETS_ENV, next_fast_resets);
    env[n++] = boot_var;
    env[n++] = fast_var;
    env[n] = NULL;
    return env;
}

void board_reset(const char *reason)
{
    char line[160];
    unsigned next_fast;
    snprintf(line, sizeof line, "host: reset (%s)\n", reason != NULL ? reason : "");
    say(line);
    if (shutdown_requested) exit_after_shutdown();
    next_fast = host_clock_real_uptime() < FAST_RESET_MS ? fast_resets + 1u : 0u;
    if (next_fast >= BOOT_LOOP_LIMIT) board_halt("boot loop: too many resets right after boot", 4);
    execve("/proc/self/exe", saved_argv, reboot_environment(next_fast));
    snprintf(line, sizeof line, "host: re-exec failed: %s\n", strerror(errno));
    say(line);
    exit(1);
}

void board_halt(const char *reason, int code)
{
    char line[160];
    snprintf(line, sizeof line, "host: halt (%s)\n", reason != NULL ? reason : "");
    say(line);
    if (shutdown_requested) exit_after_shutdown();
    exit(code);
}
