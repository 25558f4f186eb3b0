/* Store flash driver (hal/store/flash.h) over the STORE region the linker script reserves
 * at the end of the 1 MB flash. In QEMU that memory is plain RAM, so this driver gives it
 * NOR flash semantics: programming can only clear bits (new = old AND data), erasing a
 * sector sets it to 0xFF.
 *
 * The region is in no ELF segment, so QEMU leaves it alone on a system reset and the store
 * survives board_reset(). It is not kept across QEMU runs. At QEMU start it reads as all
 * zeros, a state a formatted store never has (erased sectors read 0xFF): the driver then
 * erases it, as a factory-fresh part would be. */
#include <stddef.h>
#include <stdint.h>
#include "board.h"
#include "flash.h"
#include "qemu_board.h"

extern uint8_t __store_start[], __store_end[];

#define SECTOR_BYTES FLASH_SECTOR_BYTES
#define SECTORS FLASH_SECTORS

static uint8_t *store_base(void)
{
    return __store_start;
}

void flash_board_init(void)
{
    if ((uint32_t) (__store_end - __store_start) != FLASH_TOTAL_BYTES) {
        board_halt("flash: the linker's STORE region does not match board_config.h", 3);
    }
    const uint32_t *word = (const uint32_t *) (uintptr_t) store_base();
    uint32_t words = FLASH_TOTAL_BYTES / 4;
    for (uint32_t i = 0; i < words; i++) {
        if (word[i] != 0) {
            return;
        }
    }
    for (uint32_t s = 0; s < SECTORS; s++) {
        flash_erase(s);
    }
}

static int in_range(uint32_t offset, size_t len)
{
    return offset <= FLASH_TOTAL_BYTES && len <= FLASH_TOTAL_BYTES - offset;
}

int flash_read(uint32_t offset, uint8_t *out, size_t len)
{
    if (!in_range(offset, len)) {
        return HAL_EINVAL;
    }
    const uint8_t *src = store_base() + offset;
    for (size_t i = 0; i < len; i++) {
        out[i] = src[i];
    }
    return HAL_OK;
}

int flash_program(uint32_t offset, const uint8_t *data, size_t len)
{
    if (!in_range(offset, len)) {
        return HAL_EINVAL;
    }
    volatile uint8_t *dst = store_base() + offset;
    for (size_t i = 0; i < len; i++) {
        dst[i] = (uint8_t) (dst[i] & data[i]);
    }
    return HAL_OK;
}

int flash_erase(uint32_t sector)
{
    if (sector >= SECTORS) {
        return HAL_EINVAL;
    }
    volatile uint32_t *dst = (volatile uint32_t *) (uintptr_t) (store_base() + sector * SECTOR_BYTES);
    for (uint32_t i = 0; i < SECTOR_BYTES / 4; i++) {
        dst[i] = 0xFFFFFFFFu;
    }
    return HAL_OK;
}
