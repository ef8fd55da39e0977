#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "plugin/log/log.h"
#include "plugin/events/sink.h"
#include "plugin/events/signals.h"

static void
handled_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

int
plugin_signals_block(sigset_t *old)
{
    sigset_t set;

    /* A write beyond RLIMIT_FSIZE (a CDI spec) must fail with EFBIG, be
     * reported and retried, not kill the daemon. */
    signal(SIGXFSZ, SIG_IGN);
    handled_set(&set);
    return -pthread_sigmask(SIG_BLOCK, &set, old);
}

int
plugin_signals_open(int *ret_fd)
{
    sigset_t set;
    int fd;

    handled_set(&set);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    *ret_fd = fd;
    return 0;
}

unsigned
plugin_signals_read(int fd)
{
    struct signalfd_siginfo si;
    unsigned events = 0;

    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_info("signal", "signal=%s", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            events |= PLUGIN_EV_STOP;
            break;
        case SIGHUP:
            log_info("signal", "signal=SIGHUP");
            events |= PLUGIN_EV_RESCAN;
            break;
        default: break;
        }
    }
    return events;
}
