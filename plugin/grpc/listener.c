#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "plugin/grpc/listener.h"
#include "plugin/log/log.h"
#include "topology/base/cleanup.h"

#define LISTEN_BACKLOG 128
/* While the process has no descriptor to spare, accepting is retried on
 * this period: the listening socket stays readable, so polling it would
 * spin. Pending connections wait in the backlog meanwhile. */
#define EXHAUSTED_RETRY_MS 100

struct plugin_listener {
    grpc_server *srv;
    grpc_server_credentials *creds;
    char *path;
    char *name;
    int fd;      /* listening socket */
    int stop_fd; /* eventfd: leave the thread */
    pthread_t thread;
    /* A duplicate of every connection handed to libgrpc, to shut it down
     * at stop; the thread's own until it is joined. */
    int *conns;
    size_t n_conns, cap_conns;
    bool exhausted; /* accepting failed for lack of resources */
};

/* Forget connections that are over: libgrpc shuts a connection down
 * before closing it, and a peer that left shuts down its side, so our
 * duplicate shows POLLHUP. */
static void
reap_conns(struct plugin_listener *l)
{
    size_t kept = 0;

    for (size_t i = 0; i < l->n_conns; i++) {
        struct pollfd p = {.fd = l->conns[i]};

        if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLNVAL)))
            close(l->conns[i]);
        else
            l->conns[kept++] = l->conns[i];
    }
    l->n_conns = kept;
}

/* Keep a duplicate of fd. 0, or -errno (out of descriptors or memory). */
static int
track_conn(struct plugin_listener *l, int fd)
{
    int dup;

    reap_conns(l);
    if (l->n_conns == l->cap_conns) {
        size_t cap = l->cap_conns ? 2 * l->cap_conns : 8;
        int *grown = realloc(l->conns, cap * sizeof(*grown));

        if (!grown)
            return -ENOMEM;
        l->conns = grown;
        l->cap_conns = cap;
    }
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0)
        return -errno;
    l->conns[l->n_conns++] = dup;
    return 0;
}

static void
set_exhausted(struct plugin_listener *l, bool exhausted, int error)
{
    if (exhausted && !l->exhausted)
        log_warn("accept_failed", "socket=%s error=\"%s\" retry_ms=%d", l->path, strerror(error),
                 EXHAUSTED_RETRY_MS);
    else if (!exhausted && l->exhausted)
        log_info("accept_resumed", "socket=%s", l->path);
    l->exhausted = exhausted;
}

/* Accept every pending connection. A connection we cannot track is
 * refused (closed): an untracked one could hold up a shutdown. */
static void
accept_all(struct plugin_listener *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), r;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            set_exhausted(l, errno != EAGAIN && errno != EWOULDBLOCK, errno);
            return;
        }
        r = track_conn(l, fd);
        if (r < 0) {
            close(fd);
            set_exhausted(l, true, -r);
            return;
        }
        set_exhausted(l, false, 0);
        log_debug("accepted", "resource=%s fd=%d", l->name, fd);
        /* libgrpc owns fd from here on. */
        grpc_server_add_channel_from_fd(l->srv, fd, l->creds);
    }
}

static void *
listener_main(void *arg)
{
    struct plugin_listener *l = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = l->stop_fd, .events = POLLIN},
                              {.fd = l->fd, .events = POLLIN}};
        int n = poll(p, l->exhausted ? 1 : 2, l->exhausted ? EXHAUSTED_RETRY_MS : -1);

        if (n < 0 && errno != EINTR) {
            log_error("listener_failed", "socket=%s error=\"poll: %s\"", l->path, strerror(errno));
            return NULL;
        }
        if (p[0].revents)
            return NULL;
        if (n == 0 || p[1].revents)
            accept_all(l);
    }
}

/* socket(), bind() and listen() on path. The fd, or -errno with err. */
static int
listen_on(const char *path, struct topo_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (strlen(path) >= sizeof(addr.sun_path))
        return topo_error_set(err, -ENAMETOOLONG, "socket path %s too long", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return topo_error_set(err, -errno, "socket: %s", strerror(errno));
    /* A socket left by a killed predecessor must not block us; any other
     * kind of file there is not ours to remove. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0 && errno != ENOENT)
        return topo_error_set(err, -errno, "remove stale socket %s: %s", path, strerror(errno));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return topo_error_set(err, -errno, "bind %s: %s", path, strerror(errno));
    if (listen(fd, LISTEN_BACKLOG) < 0) {
        int r = -errno;

        unlink(path);
        return topo_error_set(err, r, "listen %s: %s", path, strerror(-r));
    }
    return TAKE_FD(fd);
}

static void
listener_free(struct plugin_listener *l)
{
    for (size_t i = 0; i < l->n_conns; i++)
        close(l->conns[i]);
    free(l->conns);
    if (l->fd >= 0)
        close(l->fd);
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    if (l->creds)
        grpc_server_credentials_release(l->creds);
    free(l->path);
    free(l->name);
    free(l);
}

int
plugin_listener_start(const char *path, const char *name, grpc_server *srv,
                      struct plugin_listener **ret, struct topo_error *err)
{
    struct plugin_listener *l = calloc(1, sizeof(*l));
    int r;

    if (!l)
        return topo_error_set(err, -ENOMEM, "out of memory");
    l->fd = l->stop_fd = -1;
    l->srv = srv;
    l->path = strdup(path);
    l->name = strdup(name);
    l->creds = grpc_insecure_server_credentials_create();
    if (!l->path || !l->name || !l->creds) {
        listener_free(l);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    l->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (l->stop_fd < 0) {
        r = topo_error_set(err, -errno, "eventfd: %s", strerror(errno));
        listener_free(l);
        return r;
    }
    l->fd = listen_on(path, err);
    if (l->fd < 0) {
        r = l->fd;
        l->fd = -1;
        listener_free(l);
        return r;
    }
    r = -pthread_create(&l->thread, NULL, listener_main, l);
    if (r < 0) {
        unlink(path);
        listener_free(l);
        return topo_error_set(err, r, "thread: %s", strerror(-r));
    }
    *ret = l;
    return 0;
}

void
plugin_listener_stop(struct plugin_listener *l, bool unlink_path)
{
    uint64_t one = 1;

    if (!l)
        return;
    if (write(l->stop_fd, &one, sizeof(one)) < 0)
        log_error("listener_stop_failed", "socket=%s error=\"%s\"", l->path, strerror(errno));
    pthread_join(l->thread, NULL);
    if (unlink_path)
        unlink(l->path);
    /* Only the socket is shut down: libgrpc's descriptor for it stays
     * valid, its pending write fails, and the transport closes. */
    for (size_t i = 0; i < l->n_conns; i++)
        shutdown(l->conns[i], SHUT_RDWR);
    listener_free(l);
}
