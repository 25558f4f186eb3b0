/* QEMU's MPS2 AN386 has no TRNG. This is NOT a source of secure randomness: a xoshiro128**
 * generator seeded from BOARD_RNG_SEED, a value chosen at build time (printed by the build
 * and at boot). Under -icount the guest is deterministic, so every boot of one image draws
 * the same sequence. Good for tests and replay; a real board must use its TRNG. */
#include <stddef.h>
#include <stdint.h>
#include "hal_rng.h"
#include "qemu_board.h"

#ifndef BOARD_RNG_SEED
#define BOARD_RNG_SEED 0x6d657465725f7365ull
#endif

static uint32_t state[4];

static uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

static uint32_t next(void)
{
    uint32_t result = rotl(state[1] * 5u, 7) * 9u;
    uint32_t t = state[1] << 9;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
}

void rng_init(void)
{
    /* splitmix64 spreads the seed over the whole state (never all zero). */
    uint64_t x = (uint64_t) BOARD_RNG_SEED;
    for (int i = 0; i < 2; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        state[2 * i] = (uint32_t) z;
        state[2 * i + 1] = (uint32_t) (z >> 32);
    }
    uart_write_str("board: qemu-mps2-an386 has no TRNG; rng is a PRNG seeded at build time, seed ");
    uart_write_hex64((uint64_t) BOARD_RNG_SEED);
    uart_write_str("\n");
}

int hal_rng_fill(uint8_t *out, size_t out_cap)
{
    size_t i = 0;
    while (i < out_cap) {
        uint32_t word = next();
        for (int b = 0; b < 4 && i < out_cap; b++, i++) {
            out[i] = (uint8_t) (word >> (8 * b));
        }
    }
    return HAL_OK;
}
