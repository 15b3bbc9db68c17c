/*
 * The init's side of the runtime/channel protocol: receive the Plan,
 * Continue and Start messages (wire format in plan.h), send MountsReady,
 * Created and Error.
 */
#ifndef SLRT_INIT_WIRE_H
#define SLRT_INIT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* The kernel's SCM_MAX_FD: the most fds one message carries. */
#define WIRE_MAX_FDS 253

/* What wire_recv and wire_expect return when the peer closed the socket
 * (the message is "EOF", as Go's io.EOF). Other failures return -1. */
#define WIRE_EOF (-2)

/* wire_decode parses one message of len bytes into m. */
int wire_decode(const unsigned char *b, size_t len, struct message *m);

/*
 * wire_recv reads one datagram from sock into m, with the fds passed with
 * it (close-on-exec) in fds; *n_fds is set to their number, which must be
 * m->files (otherwise all are closed and an error returned).
 */
int wire_recv(int sock, struct message *m, int *fds, uint32_t *n_fds);

/* wire_expect receives a message without fds and checks its kind; an
 * Error message becomes the current error with the peer's text. */
int wire_expect(int sock, uint8_t want, struct message *m);

/* wire_send sends a message of kind with an optional error text. */
int wire_send(int sock, uint8_t kind, const char *error);

/* kind_name is the kind's name in the Go protocol ("mounts-ready"). */
const char *kind_name(uint8_t kind);

#endif
