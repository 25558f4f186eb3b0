/* NOR flash driver used by the record store (hal/store/store.c). Each board provides
 * these three functions; the host board backs them with a file (boards/host/flash_file.c).
 * Offsets are bytes from the start of the store area. All return HAL_OK or a negative HAL_E*. */
#ifndef STORE_FLASH_H
#define STORE_FLASH_H

#include <stddef.h>
#include <stdint.h>
#include "hal_codes.h"

/* Geometry comes from board.json through the generated board_config.h; tests define it on
 * the compiler command line. */
#if !defined(BOARD_STORE_SECTOR_BYTES) || !defined(BOARD_STORE_SECTORS)
#include "board_config.h"
#endif

#define FLASH_SECTOR_BYTES ((uint32_t) (BOARD_STORE_SECTOR_BYTES))
#define FLASH_SECTORS ((uint32_t) (BOARD_STORE_SECTORS))
#define FLASH_TOTAL_BYTES (FLASH_SECTOR_BYTES * FLASH_SECTORS)

int flash_read(uint32_t off, uint8_t *buf, size_t len);

/* Programs like NOR: only clears bits (1 -> 0); a bit already 0 stays 0. */
int flash_program(uint32_t off, const uint8_t *data, size_t len);

/* Sets the whole sector to 0xFF. */
int flash_erase(uint32_t sector);

#endif
