/* hal_rng_fill from a seeded xoshiro256** generator. The seed is --seed N, or one
 * chosen from getrandom(); it is always printed, so any run can be replayed. After a
 * reset (re-exec) the seed is mixed with the boot count, and the printed seed is the
 * one that replays that boot. */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "hal_rng.h"

static uint64_t state[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(void)
{
    uint64_t result = rotl(state[1] * 5u, 7) * 9u;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

static uint64_t chosen_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t) sizeof seed) seed = (uint64_t) time(NULL);
    return seed;
}

void host_rng_start(const char *seed_option, unsigned boot_count)
{
    uint64_t seed = seed_option != NULL ? strtoull(seed_option, NULL, 0) : chosen_seed();
    uint64_t x;
    int i;
    seed += (uint64_t) boot_count * 0xD1B54A32D192ED03ull;
    x = seed;
    for (i = 0; i < 4; i++) state[i] = splitmix64(&x);
    {
        char line[64];
        int n = snprintf(line, sizeof line, "host: rng seed %llu\n", (unsigned long long) seed);
        host_write_stdout(line, (size_t) n);
    }
}

int hal_rng_fill(uint8_t *out, size_t out_cap)
{
    size_t i;
    uint64_t word = 0;
    if (out == NULL && out_cap > 0) return HAL_EINVAL;
    for (i = 0; i < out_cap; i++) {
        if ((i & 7u) == 0) word = next_u64();
        out[i] = (uint8_t) (word >> ((i & 7u) * 8u));
    }
    return HAL_OK;
}
