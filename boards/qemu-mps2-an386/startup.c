/* Cortex-M4 start-up for the MPS2 AN386: vector table, reset handler, fault reports.
 * Memory layout and symbols come from the linker script (sections.ld). */
#include <stdint.h>
#include "qemu_board.h"

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern uint32_t __ram_start[], __ram_end[];
extern uint32_t __store_start[], __store_end[];

int main(void);
void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void);
void SysTick_Handler(void);
void Uart0Rx_Handler(void);
void fault_report(uint32_t exception, const uint32_t *frame) __attribute__((noreturn, used));

#define SCB_CCR   (*(volatile uint32_t *) 0xE000ED14u)
#define SCB_SHCSR (*(volatile uint32_t *) 0xE000ED24u)
#define SCB_CFSR  (*(volatile uint32_t *) 0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *) 0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *) 0xE000ED34u)
#define SCB_BFAR  (*(volatile uint32_t *) 0xE000ED38u)

#define MPU_CTRL (*(volatile uint32_t *) 0xE000ED94u)
#define MPU_RNR  (*(volatile uint32_t *) 0xE000ED98u)
#define MPU_RBAR (*(volatile uint32_t *) 0xE000ED9Cu)
#define MPU_RASR (*(volatile uint32_t *) 0xE000EDA0u)
#define MPU_CTRL_ENABLE (1u << 0)
#define MPU_CTRL_PRIVDEFENA (1u << 2)
#define MPU_RASR_ENABLE (1u << 0)
#define MPU_RASR_XN (1u << 28)
#define MPU_AP_NONE (0u << 24)
#define MPU_AP_RW (3u << 24)
#define MPU_AP_RO (6u << 24)
#define MPU_NORMAL_WT (1u << 17) /* TEX 0, C 1, B 0 */

#define IRQ_COUNT 32

typedef void (*vector)(void);

__attribute__((section(".isr_vector"), used))
const vector vector_table[16 + IRQ_COUNT] = {
    (vector) (uintptr_t) __stack_top,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMonitor */
    0,
    Fault_Handler, /* PendSV */
    SysTick_Handler,
    /* IRQ 0: UART0 RX; everything else is unexpected and reported. */
    Uart0Rx_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler,
};

static int log2_exact(uint32_t value)
{
    int n = 0;
    while ((1u << n) < value && n < 31) {
        n++;
    }
    return (1u << n) == value ? n : -1;
}

static void mpu_region(uint32_t number, uint32_t base, int size_log2, uint32_t attributes)
{
    MPU_RNR = number;
    MPU_RBAR = base;
    MPU_RASR = attributes | (uint32_t) (size_log2 - 1) << 1 | MPU_RASR_ENABLE;
}

/* QEMU's flash is RAM and its unmapped space ignores writes, so without the MPU a wild
 * write would corrupt the code and a stack overflow would run on silently. The MPU makes
 * the flash read-only (except the store), and the 16 MB below RAM, where the stack
 * overflows to, a no-access guard. Everything else keeps the default memory map. */
static void mpu_init(void)
{
    uint32_t flash_end = (uint32_t) (uintptr_t) __store_end;
    uint32_t store_base = (uint32_t) (uintptr_t) __store_start;
    int flash_log2 = log2_exact(flash_end);
    int store_log2 = log2_exact(flash_end - store_base);
    if (flash_log2 >= 5 && store_log2 >= 5 && (store_base & ((1u << store_log2) - 1)) == 0) {
        mpu_region(0, 0, flash_log2, MPU_AP_RO | MPU_NORMAL_WT);
        mpu_region(1, store_base, store_log2, MPU_AP_RW | MPU_RASR_XN | MPU_NORMAL_WT);
    }
    mpu_region(2, (uint32_t) (uintptr_t) __ram_start - (1u << 24), 24, MPU_AP_NONE | MPU_RASR_XN);
    MPU_CTRL = MPU_CTRL_ENABLE | MPU_CTRL_PRIVDEFENA;
    __asm__ volatile("dsb\n isb" ::: "memory");
}

#define STACK_PAINT 0xA5A5A5A5u

/* Fills the unused stack with a pattern so stack_peak_bytes() can find the high-water
 * mark. Leaves the top 256 bytes alone: this function's own frame lives there. */
static void stack_paint(void)
{
    uintptr_t end = (uintptr_t) __stack_top - 256;
    for (uint32_t *p = __stack_limit; (uintptr_t) p < end;) {
        *p++ = STACK_PAINT;
    }
}

uint32_t stack_peak_bytes(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t) ((uintptr_t) __stack_top - (uintptr_t) p);
}

void Reset_Handler(void)
{
    __asm__ volatile("cpsid i");
    /* Started first so the boot instruction count covers the copy loops too. */
    timer_start();
    uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    stack_paint();
    /* Separate MemManage/BusFault/UsageFault handlers (they report more precisely than an
     * escalated HardFault) and trap divide by zero instead of returning 0. */
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    SCB_CCR |= (1u << 4);
    mpu_init();
    qemu_exit(main());
}

/* The stack sits at the bottom of RAM, so an overflow runs off the RAM's start into the
 * MPU guard and faults instead of silently corrupting .bss. The handler therefore first moves MSP back to the
 * top of the stack: the faulting stack may be unusable. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "mrs r0, ipsr\n"
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r1, msp\n"
        "mrsne r1, psp\n"
        "ldr r2, =__stack_top\n"
        "msr msp, r2\n"
        "b fault_report\n");
}

static const char *exception_name(uint32_t exception)
{
    switch (exception) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 11: return "SVCall";
    case 12: return "DebugMonitor";
    case 14: return "PendSV";
    default: return "unexpected interrupt";
    }
}

void fault_report(uint32_t exception, const uint32_t *frame)
{
    uint32_t sp = (uint32_t) (uintptr_t) frame;
    int overflow = sp < (uint32_t) (uintptr_t) __stack_limit;
    uart_write_str("\r\nfault: ");
    uart_write_str(overflow ? "stack overflow" : exception_name(exception));
    if (exception >= 16) {
        uart_write_str(" irq=");
        uart_write_dec(exception - 16);
    }
    uart_write_str(" sp=");
    uart_write_hex(sp);
    /* The stacked frame is only read when it lies inside RAM. */
    if (!overflow && sp + 32 <= (uint32_t) (uintptr_t) __ram_end) {
        uart_write_str(" pc=");
        uart_write_hex(frame[6]);
        uart_write_str(" lr=");
        uart_write_hex(frame[5]);
    }
    uart_write_str(" cfsr=");
    uart_write_hex(SCB_CFSR);
    uart_write_str(" hfsr=");
    uart_write_hex(SCB_HFSR);
    if (SCB_CFSR & (1u << 7)) {
        uart_write_str(" mmfar=");
        uart_write_hex(SCB_MMFAR);
    }
    if (SCB_CFSR & (1u << 15)) {
        uart_write_str(" bfar=");
        uart_write_hex(SCB_BFAR);
    }
    uart_write_str("\r\n");
    if (overflow) {
        qemu_exit(QEMU_EXIT_STACK_OVERFLOW);
    }
    qemu_exit(exception >= 16 ? QEMU_EXIT_UNEXPECTED_IRQ : QEMU_EXIT_FAULT_BASE + (int) exception);
}
