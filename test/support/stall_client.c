#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/support/stall_client.h"

/* A minimal HTTP/2 client written against RFC 7540/7541 by hand, so that
 * it can do what no gRPC library lets a caller do: stop reading the socket
 * while the server still has data for it. */

#define FRAME_DATA 0x0
#define FRAME_HEADERS 0x1
#define FRAME_SETTINGS 0x4
#define FRAME_WINDOW_UPDATE 0x8
#define FLAG_END_HEADERS 0x4
#define SETTINGS_INITIAL_WINDOW_SIZE 0x4
#define MAX_WINDOW 0x7fffffffu
#define STREAM_ID 1

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static int
write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int
send_frame(int fd, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *payload, size_t len)
{
    uint8_t head[9];
    int r;

    head[0] = (uint8_t)(len >> 16);
    head[1] = (uint8_t)(len >> 8);
    head[2] = (uint8_t)len;
    head[3] = type;
    head[4] = flags;
    put32(head + 5, stream);
    r = write_all(fd, head, sizeof(head));
    return r < 0 ? r : write_all(fd, payload, len);
}

/* HPACK "literal header field without indexing, new name" (RFC 7541
 * 6.2.2), no Huffman coding; names and values here are < 127 bytes. */
static size_t
hpack_literal(uint8_t *out, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value), at = 0;

    out[at++] = 0x00;
    out[at++] = (uint8_t)n;
    memcpy(out + at, name, n);
    at += n;
    out[at++] = (uint8_t)v;
    memcpy(out + at, value, v);
    return at + v;
}

static int
send_call(int fd, const char *method_path)
{
    static const char *const fixed[][2] = {
        {":method", "POST"},         {":scheme", "http"},
        {":authority", "localhost"}, {"content-type", "application/grpc"},
        {"te", "trailers"},
    };
    /* One gRPC message of zero bytes: no compression flag, length 0. */
    static const uint8_t empty_message[5] = {0};
    uint8_t block[512];
    size_t len = 0;
    int r;

    if (strlen(method_path) > 120)
        return -ENAMETOOLONG;
    len += hpack_literal(block + len, ":path", method_path);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        len += hpack_literal(block + len, fixed[i][0], fixed[i][1]);
    r = send_frame(fd, FRAME_HEADERS, FLAG_END_HEADERS, STREAM_ID, block, len);
    /* The request stays open (no END_STREAM): a kubelet never half-closes
     * a watch either, and the server must not wait for it. */
    return r < 0 ? r
                 : send_frame(fd, FRAME_DATA, 0, STREAM_ID, empty_message, sizeof(empty_message));
}

/* Our SETTINGS grant the largest stream window there is, and a
 * WINDOW_UPDATE does the same for the connection: flow control never
 * stops the server, only the socket buffer does. */
static int
send_settings(int fd)
{
    uint8_t settings[6] = {0, SETTINGS_INITIAL_WINDOW_SIZE};
    uint8_t increment[4];
    int r;

    put32(settings + 2, MAX_WINDOW);
    put32(increment, MAX_WINDOW - 65535);
    r = write_all(fd, (const uint8_t *)preface, sizeof(preface) - 1);
    if (r == 0)
        r = send_frame(fd, FRAME_SETTINGS, 0, 0, settings, sizeof(settings));
    if (r == 0)
        r = send_frame(fd, FRAME_WINDOW_UPDATE, 0, 0, increment, sizeof(increment));
    return r;
}

int
stall_client_open(const char *socket_path, const char *method_path, int *ret_fd)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd, r;

    if (strlen(socket_path) >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    r = send_settings(fd);
    if (r == 0)
        r = send_call(fd, method_path);
    if (r < 0) {
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

long
stall_client_pending(int fd)
{
    int n = 0;

    return ioctl(fd, FIONREAD, &n) < 0 ? -errno : n;
}
