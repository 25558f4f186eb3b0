/* The host board's side of the DTLS offload (hal/dtls/dtls.h): the session code sends and
 * receives its records on the link's UDP socket through host_link.c's raw path. mbedTLS is
 * linked statically with --wrap=calloc/free (build/toolchains/host-gcc.ts) so its memory
 * comes from the session pools (hal/dtls/dtls_alloc_wrap.c). */
#include "host.h"

#include "dtls.h"

int dtls_board_send(int link, const uint8_t *data, size_t len) { return host_link_raw_send(link, data, len); }

int dtls_board_recv(int link, uint8_t *out, size_t cap) { return host_link_raw_recv(link, out, cap); }
