/* Board stand-ins for the DTLS test client (see test_dtls_support.c). */
#ifndef TEST_DTLS_SUPPORT_H
#define TEST_DTLS_SUPPORT_H

#include <stdint.h>

#define TEST_LINK 1

int test_store_start(void);
/* Opens (or re-opens, from a new source port) the UDP link to host:port; returns TEST_LINK. */
int test_link_open(const char *host, int port);
int test_link_fd(void);

#endif
