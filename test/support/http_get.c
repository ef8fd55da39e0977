#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/support/http_get.h"
#include "test/support/proc.h"

static int
connect_local(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;

        close(fd);
        return -e;
    }
    return fd;
}

/* Read until EOF or the deadline; 0 and the bytes in *ret, or -errno. */
static int
read_all(int fd, long deadline, char **ret, size_t *ret_len)
{
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long left = deadline - tproc_now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            free(buf);
            return -ETIMEDOUT;
        }
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap *= 2);

            if (!bigger) {
                free(buf);
                return -ENOMEM;
            }
            buf = bigger;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;

            free(buf);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* The code of a status line's "NNN reason": 0 and *ret, or -EPROTO. */
static int
parse_status(const char *s, int *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || v < 100 || v > 599)
        return -EPROTO;
    *ret = (int)v;
    return 0;
}

int
thttp_get(int port, const char *path, int timeout_ms, int *ret_status, char **ret_body)
{
    long deadline = tproc_now_ms() + timeout_ms;
    char *req = NULL, *resp = NULL, *body;
    int fd = connect_local(port), status, r;
    size_t len;

    if (fd < 0)
        return fd;
    r = asprintf(&req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port) < 0 ? -ENOMEM
                                                                                        : 0;
    if (r == 0 && write(fd, req, strlen(req)) != (ssize_t)strlen(req))
        r = -EIO;
    if (r == 0)
        r = read_all(fd, deadline, &resp, &len);
    close(fd);
    free(req);
    if (r < 0)
        return r;
    body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) != 0 || !resp[7] || resp[8] != ' ' || !body ||
        parse_status(resp + 9, &status) < 0) {
        free(resp);
        return -EPROTO;
    }
    memmove(resp, body + 4, strlen(body + 4) + 1);
    *ret_status = status;
    *ret_body = resp;
    return 0;
}

int
thttp_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    if (fd < 0)
        return -errno;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;

        close(fd);
        return -e;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}
