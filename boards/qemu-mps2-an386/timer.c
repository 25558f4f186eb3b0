/* Monotonic clock on SysTick (1 ms tick at the 25 MHz core
 * clock). Under -icount shift=0 QEMU's virtual time advances one nanosecond per guest
 * instruction, so timer_now_ns() doubles as an instruction counter until the first sleep. */
#include <stdint.h>
#include "hal_timer.h"
#include "qemu_board.h"

#define SYST_CSR (*(volatile uint32_t *) 0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *) 0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *) 0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *) 0xE000ED04u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define SCB_ICSR_PENDSTSET (1u << 26)

#define TICKS_PER_MS (QEMU_SYSCLK_HZ / 1000u)
#define NS_PER_TICK (1000000000u / QEMU_SYSCLK_HZ)

/* Zeroed by the reset handler after timer_start(): harmless, interrupts stay masked until
 * board_init() and a pending tick is then taken late, not lost (start-up is < 1 ms). */
static volatile uint64_t ms_since_boot;

void timer_start(void)
{
    SYST_RVR = TICKS_PER_MS - 1;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE_CPU;
}

void SysTick_Handler(void)
{
    ms_since_boot = ms_since_boot + 1;
}

static void read_clock(uint64_t *ms, uint32_t *ticks_into_ms)
{
    uint32_t primask = irq_save();
    uint64_t now = ms_since_boot;
    uint32_t current = SYST_CVR;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) {
        /* The counter wrapped but the tick has not been taken: the value may be from
         * either side of the wrap, so read it again, now surely after it. */
        current = SYST_CVR;
        now++;
    }
    irq_restore(primask);
    *ms = now;
    *ticks_into_ms = (TICKS_PER_MS - 1) - current;
}

uint64_t timer_now_ns(void)
{
    uint64_t ms;
    uint32_t ticks;
    read_clock(&ms, &ticks);
    return ms * 1000000u + (uint64_t) ticks * NS_PER_TICK;
}

int64_t hal_timer_now(void)
{
    uint64_t ms;
    uint32_t ticks;
    read_clock(&ms, &ticks);
    return (int64_t) ms;
}

int64_t hal_timer_wall(void)
{
    return 0; /* no RTC on this board: unknown until the firmware learns the time */
}
