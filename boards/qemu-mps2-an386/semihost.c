/* Arm semihosting (QEMU -semihosting-config enable=on): only the exit call. */
#include <stdint.h>
#include "qemu_board.h"

#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost_call(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void qemu_exit(int code)
{
    /* The plain SYS_EXIT of A32/T32 cannot carry a status; the extended call can. */
    uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t) code };
    uart_flush();
    semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;) {
        __asm__ volatile("cpsid i\n wfi");
    }
}
