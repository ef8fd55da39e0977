#pragma once

/* A peer that stops reading: a raw HTTP/2 client on a unix socket that
 * opens one gRPC call, grants the server the largest flow-control windows
 * HTTP/2 allows, and then never reads a byte, so the server's writes pile
 * up in the socket buffer until it is full. libc only. */

/* Connect to socket_path, send the preface, SETTINGS, WINDOW_UPDATE and
 * the request of method_path (one empty message, stream left open).
 * 0 and *ret_fd (the caller closes it), or -errno. */
int stall_client_open(const char *socket_path, const char *method_path, int *ret_fd);

/* Bytes received on fd and not read (the backlog the server has written
 * into the stalled peer), or -errno. */
long stall_client_pending(int fd);
