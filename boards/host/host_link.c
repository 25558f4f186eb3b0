/* Datagram links as connected UDP sockets (any host getaddrinfo resolves). Handles are
 * 1..BOARD_LINK_HANDLES. A readable socket raises HAL_EV_LINK_RX(handle, length of the
 * next datagram) once; the next one is raised after hal_link_recv has run. An ICMP
 * error (e.g. port unreachable) raises HAL_EV_LINK_ERROR(handle, HAL_ECLOSED). */
#include "host.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "board_config.h"
#include "dtls.h"
#include "event_ring.h"
#include "hal_link.h"

typedef struct {
    int fd; /* -1 when the slot is free */
    int rx_announced;
} host_link;

static host_link links[BOARD_LINK_HANDLES > 0 ? BOARD_LINK_HANDLES : 1];
static int links_ready;

static void links_init(void)
{
    int i;
    if (links_ready) return;
    for (i = 0; i < BOARD_LINK_HANDLES; i++) links[i].fd = -1;
    links_ready = 1;
}

static host_link *link_of(int handle)
{
    links_init();
    if (handle < 1 || handle > BOARD_LINK_HANDLES || links[handle - 1].fd < 0) return NULL;
    return &links[handle - 1];
}

static int free_handle(void)
{
    int i;
    links_init();
    for (i = 0; i < BOARD_LINK_HANDLES; i++) {
        if (links[i].fd < 0) return i + 1;
    }
    return 0;
}

static int errno_code(int e)
{
    switch (e) {
    case EAGAIN: return HAL_EAGAIN;
    case ECONNREFUSED: return HAL_ECLOSED;
    case EMSGSIZE: return HAL_ETOOBIG;
    default: return HAL_EIO;
    }
}

static int connect_first(const struct addrinfo *list)
{
    const struct addrinfo *a;
    for (a = list; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
        close(fd);
    }
    return -1;
}

int hal_link_open(const char *host, int port)
{
    struct addrinfo hints, *list = NULL;
    char port_text[8];
    int handle = free_handle();
    int fd;
    if (host == NULL || port < 1 || port > 65535) return HAL_EINVAL;
    if (handle == 0) return HAL_ENOSPC;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    snprintf(port_text, sizeof port_text, "%d", port);
    if (getaddrinfo(host, port_text, &hints, &list) != 0) return HAL_ENOENT;
    fd = connect_first(list);
    freeaddrinfo(list);
    if (fd < 0) return HAL_EIO;
    links[handle - 1].fd = fd;
    links[handle - 1].rx_announced = 0;
    return handle;
}

int host_link_raw_send(int handle, const uint8_t *data, size_t data_len)
{
    host_link *l = link_of(handle);
    ssize_t n;
    if (l == NULL || (data == NULL && data_len > 0)) return HAL_EINVAL;
    if (data_len > BOARD_LINK_MTU) return HAL_ETOOBIG;
    n = send(l->fd, data, data_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n < 0 ? errno_code(errno) : (int) n;
}

/* DTLS hook (hal/dtls): a link with a DTLS session carries plaintext through it. */
int hal_link_send(int handle, const uint8_t *data, size_t data_len)
{
    if (dtls_link_active(handle)) return dtls_link_send(handle, data, data_len);
    return host_link_raw_send(handle, data, data_len);
}

/* A datagram longer than out_cap is dropped and reported as HAL_ETOOBIG. */
int host_link_raw_recv(int handle, uint8_t *out, size_t out_cap)
{
    host_link *l = link_of(handle);
    ssize_t n;
    if (l == NULL || (out == NULL && out_cap > 0)) return HAL_EINVAL;
    l->rx_announced = 0;
    n = recv(l->fd, out, out_cap, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return errno == EAGAIN ? 0 : errno_code(errno);
    return (size_t) n > out_cap ? HAL_ETOOBIG : (int) n;
}

/* DTLS hook: decrypted data waits in the session; the socket is polled again after this. */
int hal_link_recv(int handle, uint8_t *out, size_t out_cap)
{
    host_link *l = link_of(handle);
    if (l == NULL || !dtls_link_active(handle)) return host_link_raw_recv(handle, out, out_cap);
    l->rx_announced = 0;
    return dtls_link_recv(handle, out, out_cap);
}

int hal_link_close(int handle)
{
    host_link *l = link_of(handle);
    if (l == NULL) return HAL_EINVAL;
    if (dtls_link_active(handle)) (void) hal_dtls_close(handle); /* DTLS hook: close_notify first */
    close(l->fd);
    l->fd = -1;
    return HAL_OK;
}

int host_link_any_open(void)
{
    int i;
    links_init();
    for (i = 0; i < BOARD_LINK_HANDLES; i++) {
        if (links[i].fd >= 0) return 1;
    }
    return 0;
}

int host_link_poll_fds(struct pollfd *fds, int max)
{
    int i;
    links_init();
    for (i = 0; i < BOARD_LINK_HANDLES && i < max; i++) {
        fds[i].fd = links[i].fd >= 0 && !links[i].rx_announced ? links[i].fd : -1;
        fds[i].events = POLLIN;
        fds[i].revents = 0;
    }
    return i;
}

static void announce_readable(int handle)
{
    host_link *l = &links[handle - 1];
    uint8_t probe;
    ssize_t n;
    if (dtls_link_active(handle)) { /* DTLS hook: handshake, or decrypt and announce */
        l->rx_announced = dtls_on_readable(handle);
        return;
    }
    n = recv(l->fd, &probe, sizeof probe, MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
        /* The failed read consumed the pending socket error (ICMP). */
        (void) event_post(HAL_EV_LINK_ERROR, handle, errno_code(errno));
        return;
    }
    if (event_post(HAL_EV_LINK_RX, handle, (int32_t) n) == HAL_OK) l->rx_announced = 1;
}

void host_link_on_poll(const struct pollfd *fds, int count)
{
    int i;
    for (i = 0; i < count; i++) {
        if (fds[i].fd >= 0 && fds[i].revents != 0) announce_readable(i + 1);
    }
}
