#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "plugin/log/log.h"
#include "plugin/events/uevent-priv.h"
#include "plugin/events/uevent.h"
#include "topology/base/cleanup.h"

/* The kernel's own broadcast group; libudev uses group 2, which we skip. */
#define UEVENT_GROUP_KERNEL 1u
/* Enough for a burst such as binding 8 GPUs + 4 NVSwitches (dozens of events
 * each) without ENOBUFS; the kernel caps SO_RCVBUF at rmem_max without
 * CAP_NET_ADMIN. */
#define UEVENT_RCVBUF (4 * 1024 * 1024)

struct uevent_monitor {
    int sock_fd;
    int stop_fd;
    pthread_t thread;
    uevent_fn *cb;
    void *ctx;
    char slots[UEVENT_SLOTS_MAX][16]; /* functions named in this burst */
    const char *slot_ptrs[UEVENT_SLOTS_MAX];
    size_t n_slots;
    bool unknown; /* something changed that no slot names */
    struct uevent_monitor_stats stats; /* updated by the thread, read atomically */
    char buf[UEVENT_MSG_MAX + 1];      /* one more byte to see oversized datagrams */
};

#define STAT_INC(m, field) __atomic_add_fetch(&(m)->stats.field, 1, __ATOMIC_RELAXED)

static int
monitor_socket_open(struct topo_error *err)
{
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = UEVENT_GROUP_KERNEL};
    int size = UEVENT_RCVBUF;
    _cleanup_close_ int fd = -1;

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return topo_error_set(err, -errno, "socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT): %s",
                              strerror(errno));
    /* FORCE needs CAP_NET_ADMIN; the plain option silently caps at rmem_max. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
        log_debug("uevent_rcvbuf_failed", "errno=%d", errno);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return topo_error_set(err, -errno, "bind netlink uevent group %u: %s", UEVENT_GROUP_KERNEL,
                              strerror(errno));
    return TAKE_FD(fd);
}

/* Remember which function a relevant event names (or that it names none). */
static void
note_slot(struct uevent_monitor *m, const struct uevent *ev)
{
    char slot[sizeof(m->slots[0])];
    size_t len;

    if (uevent_pci_function(ev, slot, sizeof(slot)) < 0) {
        m->unknown = true;
        return;
    }
    len = strlen(slot);
    for (size_t i = 0; i < m->n_slots; i++)
        if (strcmp(m->slots[i], slot) == 0)
            return;
    if (m->n_slots == UEVENT_SLOTS_MAX) {
        m->unknown = true;
        return;
    }
    memcpy(m->slots[m->n_slots], slot, len + 1);
    m->slot_ptrs[m->n_slots] = m->slots[m->n_slots];
    m->n_slots++;
}

/* Classify one datagram; true when it asks for a rescan. */
static bool
monitor_handle(struct uevent_monitor *m, size_t len, const struct sockaddr_nl *from,
               socklen_t from_len, int msg_flags)
{
    struct uevent ev;
    int r;

    STAT_INC(m, received);
    /* Only the kernel (port 0) speaks on group 1 with authority; anyone with
     * CAP_NET_ADMIN could otherwise make us rescan in a loop. */
    if (from_len != sizeof(*from) || from->nl_family != AF_NETLINK || from->nl_pid != 0) {
        STAT_INC(m, foreign);
        return false;
    }
    if (msg_flags & MSG_TRUNC) {
        STAT_INC(m, malformed);
        log_debug("uevent_malformed", "reason=truncated");
        return false;
    }
    r = uevent_parse(m->buf, len, &ev);
    if (r == -ENOMSG) {
        STAT_INC(m, foreign);
        return false;
    }
    if (r < 0) {
        STAT_INC(m, malformed);
        log_debug("uevent_malformed", "len=%zu", len);
        return false;
    }
    if (!uevent_relevant(&ev)) {
        STAT_INC(m, irrelevant);
        return false;
    }
    STAT_INC(m, relevant);
    note_slot(m, &ev);
    if (log_enabled(LOG_LEVEL_DEBUG))
        log_debug("uevent", "action=%s devpath=%s subsystem=%s driver=%s seqnum=%llu",
                  ev.action_name, LOG_QUOTED(ev.devpath), ev.subsystem,
                  LOG_QUOTED(ev.driver ? ev.driver : "-"),
                  (unsigned long long)(ev.has_seqnum ? ev.seqnum : 0));
    return true;
}

/* Read until the socket is empty. Returns 1 when a rescan is due, 0 when
 * not, -errno on an unexpected socket error. */
static int
monitor_drain(struct uevent_monitor *m)
{
    bool rescan = false;

    for (;;) {
        struct sockaddr_nl from = {0};
        struct iovec iov = {.iov_base = m->buf, .iov_len = sizeof(m->buf)};
        struct msghdr msg = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(m->sock_fd, &msg, MSG_DONTWAIT);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return rescan ? 1 : 0;
            if (errno == ENOBUFS) {
                /* The kernel dropped events for us: what changed is unknown. */
                STAT_INC(m, overruns);
                log_warn("uevent_overrun", "action=rescan");
                m->unknown = true;
                rescan = true;
                continue;
            }
            return -errno;
        }
        /* A datagram longer than the buffer is reported with MSG_TRUNC;
         * the extra byte also catches one of exactly UEVENT_MSG_MAX + 1. */
        if ((size_t)n > UEVENT_MSG_MAX)
            msg.msg_flags |= MSG_TRUNC;
        if (monitor_handle(m, (size_t)n, &from, msg.msg_namelen, msg.msg_flags))
            rescan = true;
    }
}

static void *
monitor_thread(void *arg)
{
    struct uevent_monitor *m = arg;
    struct pollfd fds[2] = {{.fd = m->sock_fd, .events = POLLIN},
                            {.fd = m->stop_fd, .events = POLLIN}};

    for (;;) {
        int r;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("uevent_monitor_failed", "op=poll errno=%d", errno);
            return NULL;
        }
        if (fds[1].revents)
            return NULL;
        if (!fds[0].revents)
            continue;
        r = monitor_drain(m);
        if (r < 0) {
            /* Periodic rescans still run; stop rather than spin on a dead socket. */
            log_error("uevent_monitor_failed", "op=recvmsg errno=%d", -r);
            return NULL;
        }
        if (r > 0) {
            STAT_INC(m, callbacks);
            m->cb(m->ctx, m->slot_ptrs, m->unknown ? 0 : m->n_slots);
        }
        m->n_slots = 0;
        m->unknown = false;
    }
}

/* Start the thread with every signal blocked so that signals (SIGHUP = rescan,
 * SIGTERM) keep going to the threads that handle them. */
static int
monitor_thread_start(struct uevent_monitor *m)
{
    sigset_t all, old;
    int r;

    sigfillset(&all);
    r = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (r != 0)
        return -r;
    r = pthread_create(&m->thread, NULL, monitor_thread, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -r;
}

int
uevent_monitor_start_fd(int sock_fd, uevent_fn *cb, void *ctx, struct uevent_monitor **ret,
                        struct topo_error *err)
{
    _cleanup_close_ int sock = sock_fd;
    _cleanup_free_ struct uevent_monitor *m = NULL;
    _cleanup_close_ int stop_fd = -1;
    int r;

    if (!cb || !ret || sock < 0)
        return topo_error_set(err, -EINVAL, "uevent monitor: no callback or socket");
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0)
        return topo_error_set(err, -errno, "eventfd: %s", strerror(errno));
    m = calloc(1, sizeof(*m));
    if (!m)
        return topo_error_set(err, -ENOMEM, "uevent monitor: out of memory");
    m->sock_fd = sock;
    m->stop_fd = stop_fd;
    m->cb = cb;
    m->ctx = ctx;
    r = monitor_thread_start(m);
    if (r < 0)
        return topo_error_set(err, r, "uevent monitor: pthread_create: %s", strerror(-r));
    TAKE_FD(sock);
    TAKE_FD(stop_fd);
    *ret = TAKE_PTR(m);
    return 0;
}

int
uevent_monitor_start(uevent_fn *cb, void *ctx, struct uevent_monitor **ret,
                     struct topo_error *err)
{
    int fd;

    if (!cb || !ret)
        return topo_error_set(err, -EINVAL, "uevent monitor: no callback");
    fd = monitor_socket_open(err);
    if (fd < 0)
        return fd;
    return uevent_monitor_start_fd(fd, cb, ctx, ret, err);
}

void
uevent_monitor_stop(struct uevent_monitor *m)
{
    uint64_t one = 1;

    if (!m)
        return;
    /* An eventfd write of 1 only fails on counter overflow, impossible here. */
    if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_error("uevent_monitor_stop_failed", "errno=%d", errno);
    pthread_join(m->thread, NULL);
    close(m->sock_fd);
    close(m->stop_fd);
    free(m);
}

void
uevent_monitor_get_stats(const struct uevent_monitor *m, struct uevent_monitor_stats *ret)
{
    *ret = (struct uevent_monitor_stats){
        .received = __atomic_load_n(&m->stats.received, __ATOMIC_RELAXED),
        .relevant = __atomic_load_n(&m->stats.relevant, __ATOMIC_RELAXED),
        .irrelevant = __atomic_load_n(&m->stats.irrelevant, __ATOMIC_RELAXED),
        .malformed = __atomic_load_n(&m->stats.malformed, __ATOMIC_RELAXED),
        .foreign = __atomic_load_n(&m->stats.foreign, __ATOMIC_RELAXED),
        .overruns = __atomic_load_n(&m->stats.overruns, __ATOMIC_RELAXED),
        .callbacks = __atomic_load_n(&m->stats.callbacks, __ATOMIC_RELAXED),
    };
}
