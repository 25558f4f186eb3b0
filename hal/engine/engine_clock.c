/* Duktape's time and randomness come from the HAL (duk_config.h hooks), so the host
 * board's virtual clock and seeded RNG govern Date.now() and Math.random() too. */
#include "duktape.h"
#include "hal_rng.h"
#include "hal_timer.h"

duk_double_t engine_monotonic_now(void) { return (duk_double_t) hal_timer_now(); }

/* Before the wall clock is known, dates count from the epoch plus uptime. */
duk_double_t engine_date_now(void)
{
    int64_t wall = hal_timer_wall();
    return (duk_double_t) (wall > 0 ? wall : hal_timer_now());
}

duk_double_t engine_random_double(void *udata)
{
    uint8_t b[7];
    uint64_t bits = 0;
    unsigned i;
    (void) udata;
    (void) hal_rng_fill(b, sizeof b);
    for (i = 0; i < sizeof b; i++) bits = (bits << 8) | b[i];
    bits >>= 3; /* 53 random bits */
    return (duk_double_t) bits / 9007199254740992.0;
}
