/* What the DTLS test client needs from a board: a RAM flash under the real store engine
 * (credentials are encrypted at rest with a fixed test device key), clock, RNG, and one
 * UDP socket as the link beneath the session. */
#define _GNU_SOURCE 1
#include "test_dtls_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "device_key.h"
#include "dtls.h"
#include "flash.h"
#include "hal_rng.h"
#include "hal_timer.h"
#include "store.h"

static uint8_t flash[FLASH_TOTAL_BYTES];
int flash_read(uint32_t off, uint8_t *buf, size_t len)
{
    if (off > FLASH_TOTAL_BYTES || len > FLASH_TOTAL_BYTES - off) return HAL_EINVAL;
    memcpy(buf, flash + off, len);
    return HAL_OK;
}

int flash_program(uint32_t off, const uint8_t *data, size_t len)
{
    size_t i;
    if (off > FLASH_TOTAL_BYTES || len > FLASH_TOTAL_BYTES - off) return HAL_EINVAL;
    for (i = 0; i < len; i++) flash[off + i] &= data[i];
    return HAL_OK;
}

int flash_erase(uint32_t sector)
{
    if (sector >= FLASH_SECTORS) return HAL_EINVAL;
    memset(flash + sector * FLASH_SECTOR_BYTES, 0xFF, FLASH_SECTOR_BYTES);
    return HAL_OK;
}

int device_key_get(uint8_t key[32])
{
    int i;
    for (i = 0; i < 32; i++) key[i] = (uint8_t) (0xA5 ^ i);
    return HAL_OK;
}

void store_report(const char *what) { fprintf(stderr, "store: %s\n", what); }

int test_store_start(void)
{
    memset(flash, 0xFF, sizeof flash);
    return store_mount();
}

int64_t hal_timer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hal_timer_wall(void) { return 0; }

int hal_rng_fill(uint8_t *out, size_t out_cap)
{
    size_t done = 0;
    while (done < out_cap) {
        ssize_t n = getrandom(out + done, out_cap - done, 0);
        if (n < 0 && errno != EINTR) return HAL_EIO;
        if (n > 0) done += (size_t) n;
    }
    return HAL_OK;
}

#ifndef TEST_VIA_HOST_LINK
static int link_fd = -1;
static int64_t trace_start = -1;

/* DTLS_TRACE=1: one line per datagram on air with its records' content types, epochs and
 * lengths, and for unencrypted alerts the alert itself. Headers only: never payload bytes. */
static void trace(const char *dir, const uint8_t *d, size_t len)
{
    size_t off = 0;
    if (getenv("DTLS_TRACE") == NULL) return;
    if (trace_start < 0) trace_start = hal_timer_now();
    printf("trace %6lld ms %s %3u:", (long long) (hal_timer_now() - trace_start), dir, (unsigned) len);
    while (off + 13 <= len) {
        unsigned type = d[off], epoch = (unsigned) (d[off + 3] << 8 | d[off + 4]);
        size_t rlen = (size_t) (d[off + 11] << 8 | d[off + 12]);
        printf(" [type %u epoch %u len %u", type, epoch, (unsigned) rlen);
        if (type == 22 && epoch == 0 && off + 13 < len) printf(" hs %u", d[off + 13]);
        if (type == 21 && epoch == 0 && rlen == 2 && off + 15 <= len) printf(" alert %u/%u", d[off + 13], d[off + 14]);
        printf("]");
        off += 13 + rlen;
    }
    printf("\n");
}

int test_link_open(const char *host, int port)
{
    struct sockaddr_in peer;
    int fd;
    if (link_fd >= 0) close(link_fd);
    link_fd = -1;
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &peer.sin_addr) != 1) return HAL_EINVAL;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return HAL_EIO;
    if (connect(fd, (struct sockaddr *) &peer, sizeof peer) != 0) {
        close(fd);
        return HAL_EIO;
    }
    link_fd = fd;
    return TEST_LINK;
}

int test_link_fd(void) { return link_fd; }

int dtls_board_send(int link, const uint8_t *data, size_t len)
{
    ssize_t n;
    if (link != TEST_LINK || link_fd < 0) return HAL_EINVAL;
    trace("->", data, len);
    n = send(link_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? HAL_EAGAIN : errno == ECONNREFUSED ? HAL_ECLOSED : HAL_EIO;
    return (int) n;
}

int dtls_board_recv(int link, uint8_t *out, size_t cap)
{
    ssize_t n;
    if (link != TEST_LINK || link_fd < 0) return HAL_EINVAL;
    n = recv(link_fd, out, cap, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return errno == EAGAIN ? 0 : errno == ECONNREFUSED ? HAL_ECLOSED : HAL_EIO;
    if ((size_t) n <= cap) trace("<-", out, (size_t) n);
    return (size_t) n > cap ? HAL_ETOOBIG : (int) n;
}
#endif
