/* Per-device secret used to encrypt credential records at rest. */
#ifndef STORE_DEVICE_KEY_H
#define STORE_DEVICE_KEY_H

#include <stdint.h>
#include "hal_codes.h"

/* Fills key with the 32-byte device secret (fuses, OTP, secure element). Returns HAL_OK, or
 * HAL_ENOTSUP on a board without one: the store then keeps credentials in clear and says so. */
int device_key_get(uint8_t key[32]);

#endif
