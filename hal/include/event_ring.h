/* Fixed ring of fixed-size events between drivers (producers) and the JS dispatcher
 * (the single consumer in the main loop). Sized from board.json; no allocation. */
#ifndef EVENT_RING_H
#define EVENT_RING_H

#include <stdint.h>

typedef struct {
    int16_t kind;   /* HAL_EV_* */
    int16_t handle; /* link, card or 0 */
    int32_t arg;    /* event-specific: length, alert code, error */
} hal_event;

/* Returns 0, or HAL_ENOSPC when the ring is full (the event is dropped and counted). */
int event_post(int kind, int handle, int32_t arg);

/* Returns 1 and fills *ev when an event was pending, 0 otherwise. */
int event_take(hal_event *ev);

/* Events dropped because the ring was full since boot. */
uint32_t event_dropped(void);

#endif
