/* Capabilities this board does not have yet: networking (link, dtls) comes with a later
 * board revision, there is no smartcard and no device-unique key. */
#include <stddef.h>
#include <stdint.h>
#include "hal_card.h"
#include "hal_dtls.h"
#include "hal_link.h"
#include "device_key.h"

int hal_link_open(const char *host, int port)
{
    (void) host;
    (void) port;
    return HAL_ENOTSUP;
}

int hal_link_send(int handle, const uint8_t *data, size_t data_len)
{
    (void) handle;
    (void) data;
    (void) data_len;
    return HAL_ENOTSUP;
}

int hal_link_recv(int handle, uint8_t *out, size_t out_cap)
{
    (void) handle;
    (void) out;
    (void) out_cap;
    return HAL_ENOTSUP;
}

int hal_link_close(int handle)
{
    (void) handle;
    return HAL_ENOTSUP;
}

int hal_dtls_open(int link, int credential)
{
    (void) link;
    (void) credential;
    return HAL_ENOTSUP;
}

int hal_dtls_close(int link)
{
    (void) link;
    return HAL_ENOTSUP;
}

int hal_card_transmit(const uint8_t *apdu, size_t apdu_len)
{
    (void) apdu;
    (void) apdu_len;
    return HAL_ENOTSUP;
}

int hal_card_receive(uint8_t *out, size_t out_cap)
{
    (void) out;
    (void) out_cap;
    return HAL_ENOTSUP;
}

int device_key_get(uint8_t key[32])
{
    (void) key;
    return HAL_ENOTSUP;
}
