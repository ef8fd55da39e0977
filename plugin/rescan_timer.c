#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "plugin/log.h"
#include "plugin/rescan_timer.h"
#include "topology/cleanup.h"

struct rescan_timer {
    int timer_fd;
    int stop_fd;
    pthread_t thread;
    void (*cb)(void *ctx);
    void *ctx;
    uint64_t fired; /* updated by the thread, read atomically */
};

static void *
timer_thread(void *arg)
{
    struct rescan_timer *t = arg;
    struct pollfd fds[2] = {{.fd = t->timer_fd, .events = POLLIN},
                            {.fd = t->stop_fd, .events = POLLIN}};

    for (;;) {
        uint64_t expirations;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("rescan_timer_failed", "op=poll errno=%d", errno);
            return NULL;
        }
        if (fds[1].revents)
            return NULL;
        if (!fds[0].revents)
            continue;
        /* One call however many ticks passed: a rescan covers them all. */
        if (read(t->timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
            continue; /* EAGAIN after a clock jump; poll again */
        __atomic_add_fetch(&t->fired, 1, __ATOMIC_RELAXED);
        t->cb(t->ctx);
    }
}

static int
timer_fd_open(uint64_t interval_ms, struct topo_error *err)
{
    struct itimerspec its = {
        .it_interval = {(time_t)(interval_ms / 1000), (long)(interval_ms % 1000) * 1000000L},
    };
    _cleanup_close_ int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

    if (fd < 0)
        return topo_error_set(err, -errno, "timerfd_create: %s", strerror(errno));
    its.it_value = its.it_interval;
    if (timerfd_settime(fd, 0, &its, NULL) < 0)
        return topo_error_set(err, -errno, "timerfd_settime %llu ms: %s",
                              (unsigned long long)interval_ms, strerror(errno));
    return TAKE_FD(fd);
}

/* Signals stay with the threads that handle them (SIGHUP, SIGTERM). */
static int
timer_thread_start(struct rescan_timer *t)
{
    sigset_t all, old;
    int r;

    sigfillset(&all);
    r = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (r != 0)
        return -r;
    r = pthread_create(&t->thread, NULL, timer_thread, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -r;
}

int
rescan_timer_start(uint64_t interval_ms, void (*cb)(void *ctx), void *ctx,
                   struct rescan_timer **ret, struct topo_error *err)
{
    _cleanup_free_ struct rescan_timer *t = NULL;
    _cleanup_close_ int timer_fd = -1;
    _cleanup_close_ int stop_fd = -1;
    int r;

    if (!cb || !ret)
        return topo_error_set(err, -EINVAL, "rescan timer: no callback");
    /* time_t seconds must not overflow; a year is far beyond any sane interval. */
    if (interval_ms > UINT64_C(366) * 24 * 3600 * 1000)
        return topo_error_set(err, -ERANGE, "rescan timer: interval %llu ms too large",
                              (unsigned long long)interval_ms);
    if (interval_ms == 0) {
        *ret = NULL;
        return 0;
    }
    timer_fd = timer_fd_open(interval_ms, err);
    if (timer_fd < 0)
        return timer_fd;
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0)
        return topo_error_set(err, -errno, "eventfd: %s", strerror(errno));
    t = calloc(1, sizeof(*t));
    if (!t)
        return topo_error_set(err, -ENOMEM, "rescan timer: out of memory");
    *t = (struct rescan_timer){.timer_fd = timer_fd, .stop_fd = stop_fd, .cb = cb, .ctx = ctx};
    r = timer_thread_start(t);
    if (r < 0)
        return topo_error_set(err, r, "rescan timer: pthread_create: %s", strerror(-r));
    TAKE_FD(timer_fd);
    TAKE_FD(stop_fd);
    *ret = TAKE_PTR(t);
    return 0;
}

void
rescan_timer_stop(struct rescan_timer *t)
{
    uint64_t one = 1;

    if (!t)
        return;
    if (write(t->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_error("rescan_timer_stop_failed", "errno=%d", errno);
    pthread_join(t->thread, NULL);
    close(t->timer_fd);
    close(t->stop_fd);
    free(t);
}

uint64_t
rescan_timer_fired(const struct rescan_timer *t)
{
    return t ? __atomic_load_n(&t->fired, __ATOMIC_RELAXED) : 0;
}
