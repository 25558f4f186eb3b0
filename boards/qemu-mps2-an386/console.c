/* Console on the CMSDK APB UART0 (0x40004000): polled TX, interrupt-driven RX into a byte
 * ring, line assembly in thread mode (board_wait), one completed line held until the
 * firmware reads it. */
#include <stddef.h>
#include <stdint.h>
#include "board.h"
#include "board_config.h"
#include "event_ring.h"
#include "hal_console.h"
#include "qemu_board.h"

#ifndef BOARD_CONSOLE_LINE_BYTES
#define BOARD_CONSOLE_LINE_BYTES 512
#endif
#define RX_RING_BYTES 256 /* power of two */

typedef struct {
    volatile uint32_t data;
    volatile uint32_t state;     /* bit 0 TX full, bit 1 RX full */
    volatile uint32_t ctrl;      /* bit 0 TX enable, bit 1 RX enable, bit 3 RX interrupt enable */
    volatile uint32_t intstatus; /* write 1 to clear; bit 1 RX */
    volatile uint32_t bauddiv;
} cmsdk_uart;

#define UART0 ((cmsdk_uart *) 0x40004000u)
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)
#define UART_CTRL_RX_INT_EN (1u << 3)
#define UART_INT_RX (1u << 1)

#define NVIC_ISER0 (*(volatile uint32_t *) 0xE000E100u)
#define UART0_RX_IRQ 0

static uint8_t rx_ring[RX_RING_BYTES];
static volatile uint32_t rx_head; /* written by the ISR */
static volatile uint32_t rx_tail; /* written by thread mode */

static char line_buf[BOARD_CONSOLE_LINE_BYTES];
static int line_len;
static int line_overlong;
static int line_last_cr;

static char ready_line[BOARD_CONSOLE_LINE_BYTES];
static int ready_len;      /* 0: no completed line waiting */
static int ready_unposted; /* the event for ready_line could not be posted yet */

static void uart_putc(char c)
{
    while (UART0->state & UART_STATE_TX_FULL) {
    }
    UART0->data = (uint8_t) c;
}

void uart_flush(void)
{
    while (UART0->state & UART_STATE_TX_FULL) {
    }
}

void uart_write(const char *text, int len)
{
    for (int i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            uart_putc('\r');
        }
        uart_putc(text[i]);
    }
}

void uart_write_str(const char *text)
{
    int len = 0;
    while (text[len]) {
        len++;
    }
    uart_write(text, len);
}

static void write_hex_digits(uint32_t value)
{
    char text[8];
    for (int i = 0; i < 8; i++) {
        text[i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xF];
    }
    uart_write(text, 8);
}

void uart_write_hex(uint32_t value)
{
    uart_write("0x", 2);
    write_hex_digits(value);
}

void uart_write_hex64(uint64_t value)
{
    uart_write_hex((uint32_t) (value >> 32));
    write_hex_digits((uint32_t) value);
}

void uart_write_dec(uint64_t value)
{
    char text[21];
    int at = sizeof text;
    do {
        text[--at] = (char) ('0' + (int) (value % 10));
        value /= 10;
    } while (value);
    uart_write(text + at, (int) sizeof text - at);
}

void console_init(void)
{
    UART0->bauddiv = QEMU_SYSCLK_HZ / 115200;
    UART0->ctrl = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INT_EN;
    NVIC_ISER0 = 1u << UART0_RX_IRQ;
}

/* Moves bytes from the UART into the ring. When the ring is full the byte stays in the
 * UART and the RX interrupt is switched off: QEMU then stops feeding the UART, so no input
 * is lost. Runs in the ISR, or in thread mode with interrupts masked. */
static void rx_drain(void)
{
    for (;;) {
        UART0->intstatus = UART_INT_RX;
        if (!(UART0->state & UART_STATE_RX_FULL)) {
            break;
        }
        uint32_t head = rx_head;
        if (head - rx_tail >= RX_RING_BYTES) {
            UART0->ctrl &= ~UART_CTRL_RX_INT_EN;
            break;
        }
        rx_ring[head % RX_RING_BYTES] = (uint8_t) UART0->data;
        rx_head = head + 1;
    }
}

void Uart0Rx_Handler(void)
{
    rx_drain();
}

static void complete_line(void)
{
    if (line_overlong) {
        board_console_write("console: line too long, dropped\n", 32);
    } else if (line_len > 0) {
        for (int i = 0; i < line_len; i++) {
            ready_line[i] = line_buf[i];
        }
        ready_len = line_len;
        ready_unposted = 1;
    }
    line_len = 0;
    line_overlong = 0;
}

int console_poll(void)
{
    /* Assemble lines only while the previous one has been read: later input waits in the
     * ring (and then in QEMU) instead of being dropped. */
    while (ready_len == 0 && rx_tail != rx_head) {
        char c = (char) rx_ring[rx_tail % RX_RING_BYTES];
        rx_tail++;
        int after_cr = line_last_cr;
        line_last_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            if (!(c == '\n' && after_cr)) {
                complete_line();
            }
        } else if (line_len < BOARD_CONSOLE_LINE_BYTES - 1) {
            line_buf[line_len++] = c;
        } else {
            line_overlong = 1;
        }
    }
    if (!(UART0->ctrl & UART_CTRL_RX_INT_EN) && rx_head - rx_tail < RX_RING_BYTES) {
        /* The byte left in the UART raises no new interrupt: collect it here. */
        uint32_t primask = irq_save();
        UART0->ctrl |= UART_CTRL_RX_INT_EN;
        rx_drain();
        irq_restore(primask);
    }
    if (ready_unposted && event_post(HAL_EV_CONSOLE_LINE, 0, ready_len) == 0) {
        ready_unposted = 0;
        return 1;
    }
    return 0;
}

int console_has_input(void)
{
    return ready_len == 0 && rx_tail != rx_head;
}

/* Like the host board: a line longer than out_cap is cut to out_cap and consumed. */
int hal_console_read(uint8_t *out, size_t out_cap)
{
    if (out == NULL && out_cap > 0) {
        return HAL_EINVAL;
    }
    if (ready_len == 0) {
        return 0;
    }
    int len = (size_t) ready_len < out_cap ? ready_len : (int) out_cap;
    for (int i = 0; i < len; i++) {
        out[i] = (uint8_t) ready_line[i];
    }
    ready_len = 0;
    ready_unposted = 0;
    /* Lines already waiting in the ring become the next event without waiting for input. */
    console_poll();
    return len;
}

int hal_console_write(const char *text)
{
    if (text == NULL) {
        return HAL_EINVAL;
    }
    int len = 0;
    while (text[len]) {
        len++;
    }
    uart_write(text, len);
    return len;
}

void board_console_write(const char *text, int len)
{
    uart_write(text, len);
}
