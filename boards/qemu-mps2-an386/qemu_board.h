/* Internal interface between the qemu-mps2-an386 drivers (not part of the HAL). */
#ifndef QEMU_BOARD_H
#define QEMU_BOARD_H

#include <stdint.h>

/* Semihosting exit codes, so a test can tell why QEMU stopped. board_halt() passes its
 * caller's code through; faults use the range below. */
#define QEMU_EXIT_OK              0
#define QEMU_EXIT_FAULT_BASE      64   /* + exception number: NMI 66, HardFault 67, MemManage 68, BusFault 69, UsageFault 70 */
#define QEMU_EXIT_UNEXPECTED_IRQ  80
#define QEMU_EXIT_STACK_OVERFLOW  81
#define QEMU_EXIT_MALLOC          82

/* MPS2 AN386 runs its CPU and peripherals at 25 MHz in QEMU. */
#define QEMU_SYSCLK_HZ 25000000u

/* Ends QEMU with the given exit code (semihosting SYS_EXIT_EXTENDED). Never returns. */
void qemu_exit(int code) __attribute__((noreturn));

/* Polled UART0 output, safe from any context (faults included). */
void uart_write(const char *text, int len);
void uart_write_str(const char *text);
void uart_write_hex(uint32_t value);
void uart_write_hex64(uint64_t value);
void uart_write_dec(uint64_t value);
/* Waits until the UART has taken the last byte (before QEMU exits). */
void uart_flush(void);

/* Console driver: brings up UART0 and its RX interrupt; moves received bytes into the
 * line buffer and posts HAL_EV_CONSOLE_LINE. Returns 1 when it posted an event. */
void console_init(void);
int console_poll(void);

/* SysTick: 1 ms tick from reset (started before .data/.bss are set up). The one-shot
 * deadline (hal_timer_arm) is common code: hal/src/timer_deadline.c. */
void timer_start(void);
uint64_t timer_now_ns(void);  /* virtual nanoseconds; with -icount shift=0 also instructions */

/* Console: nonzero while received bytes wait to be assembled into a line. */
int console_has_input(void);

/* Deepest stack use since reset, from the pattern painted at start-up. */
uint32_t stack_peak_bytes(void);

void rng_init(void);
void flash_board_init(void);

static inline uint32_t irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask) :: "memory");
    return primask;
}

static inline void irq_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" :: "r"(primask) : "memory");
}

#endif
