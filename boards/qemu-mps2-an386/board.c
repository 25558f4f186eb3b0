/* The board port (hal/include/board.h) for the MPS2 AN386 under QEMU.
 * Build flags (set by build/toolchains/arm-none-eabi.ts):
 *   BOARD_EXIT_ON_RESET  board_reset() ends QEMU with exit code 0 instead of resetting,
 *                        so a test sees the reset request.
 *   BOARD_EXIT_ON_READY  the first board_wait() (the JS event loop is up and idle) prints
 *                        "boot: ready after <N> instructions, stack peak <M> bytes" and
 *                        ends QEMU with code 0. */
#include <stdint.h>
#include "board.h"
#include "hal_timer.h"
#include "qemu_board.h"
#include "runtime.h"

#define SCB_AIRCR (*(volatile uint32_t *) 0xE000ED0Cu)
#define SCB_AIRCR_RESET (0x05FAu << 16 | 1u << 2) /* VECTKEY | SYSRESETREQ */

int main(void)
{
    return meter_main(0, 0);
}

void board_init(int argc, char **argv)
{
    (void) argc;
    (void) argv;
    console_init();
    rng_init();
    flash_board_init();
    __asm__ volatile("cpsie i" ::: "memory");
}

static void report_ready(void)
{
#ifdef BOARD_EXIT_ON_READY
    /* With -icount shift=0 one virtual nanosecond is one guest instruction, and nothing
     * has slept yet, so the clock reads the instructions executed since reset. */
    uint64_t instructions = timer_now_ns();
    uart_write_str("boot: ready after ");
    uart_write_dec(instructions);
    uart_write_str(" instructions, stack peak ");
    uart_write_dec(stack_peak_bytes());
    uart_write_str(" bytes\n");
    qemu_exit(QEMU_EXIT_OK);
#endif
}

void board_wait(int64_t timeout_ms)
{
    report_ready();
    int64_t start = hal_timer_now();
    for (;;) {
        if (console_poll() || timeout_ms == 0) {
            return;
        }
        if (timeout_ms > 0 && hal_timer_now() - start >= timeout_ms) {
            return;
        }
        /* Any interrupt (UART RX, the 1 ms tick) ends the WFI even with PRIMASK set, so
         * input that arrives between the checks above and the WFI is not slept through. */
        uint32_t primask = irq_save();
        if (!console_has_input()) {
            __asm__ volatile("dsb\n wfi" ::: "memory");
        }
        irq_restore(primask);
    }
}

void board_reset(const char *reason)
{
    uart_write_str("reset: ");
    uart_write_str(reason ? reason : "requested");
    uart_write_str("\n");
#ifdef BOARD_EXIT_ON_RESET
    qemu_exit(QEMU_EXIT_OK);
#else
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = SCB_AIRCR_RESET;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
#endif
}

void board_halt(const char *reason, int code)
{
    uart_write_str("halt: ");
    uart_write_str(reason ? reason : "stopped");
    uart_write_str("\n");
    qemu_exit(code);
}
