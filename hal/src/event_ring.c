/* Single consumer (the main loop). Producers are drivers running in the main loop's
 * context (host) or one interrupt level (MCU): head is written only by the producer,
 * tail only by the consumer. Boards posting from several interrupt levels must mask
 * interrupts around event_post. */
#include "event_ring.h"

#include "board_config.h"
#include "hal_codes.h"

#define RING_SLOTS (BOARD_EVENT_RING + 1) /* one slot stays empty to tell full from empty */

static hal_event slots[RING_SLOTS];
static volatile uint32_t head; /* next slot to write */
static volatile uint32_t tail; /* next slot to read */
static uint32_t dropped;

/* Keeps the slot copy on the right side of the index update (single core: a compiler
 * barrier is enough). */
#define RING_BARRIER() __asm__ __volatile__("" ::: "memory")

static uint32_t ring_next(uint32_t i) { return (i + 1u) % RING_SLOTS; }

int event_post(int kind, int handle, int32_t arg)
{
    uint32_t h = head;
    if (ring_next(h) == tail) {
        dropped++;
        return HAL_ENOSPC;
    }
    slots[h].kind = (int16_t) kind;
    slots[h].handle = (int16_t) handle;
    slots[h].arg = arg;
    RING_BARRIER();
    head = ring_next(h);
    return HAL_OK;
}

int event_take(hal_event *ev)
{
    uint32_t t = tail;
    if (t == head) return 0;
    *ev = slots[t];
    RING_BARRIER();
    tail = ring_next(t);
    return 1;
}

uint32_t event_dropped(void) { return dropped; }
