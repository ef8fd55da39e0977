#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "plugin/events/uevent-priv.h"
#include "plugin/events/uevent.h"
#include "topology/base/cleanup.h"
#include "test/support/suite.h"

/* The monitor against the real kernel. Where the sandbox forbids a step
 * (no netlink, no CAP_NET_ADMIN, read-only sysfs) the test says so on stderr
 * and checks the failure is reported cleanly instead. Waits are deadlines
 * for delivery, not timing assertions. */

#define WAIT_DEADLINE_MS 5000

static unsigned long long cb_calls;

static void
count_cb(void *ctx, const char *const *slots, size_t n_slots)
{
    (void)slots;
    (void)n_slots;
    __atomic_add_fetch((unsigned long long *)ctx, 1, __ATOMIC_RELAXED);
}

static unsigned long long
cb_count(void)
{
    return __atomic_load_n(&cb_calls, __ATOMIC_RELAXED);
}

static uint64_t
stat_at(struct uevent_monitor *m, size_t offset)
{
    struct uevent_monitor_stats st;

    uevent_monitor_get_stats(m, &st);
    return *(const uint64_t *)((const char *)&st + offset);
}

/* Wait until the counter at offset reaches want; false at the deadline. */
static bool
wait_stat(struct uevent_monitor *m, size_t offset, uint64_t want)
{
    const struct timespec tick = {0, 5 * 1000 * 1000};

    for (int waited = 0; waited < WAIT_DEADLINE_MS; waited += 5) {
        if (stat_at(m, offset) >= want)
            return true;
        nanosleep(&tick, NULL);
    }
    return stat_at(m, offset) >= want;
}

#define STAT(field) offsetof(struct uevent_monitor_stats, field)

/* Start a monitor, or check that the failure is a clean -errno with a
 * message and an untouched out-parameter. NULL when unavailable. */
static struct uevent_monitor *
start_or_check_error(void)
{
    struct uevent_monitor *m = (struct uevent_monitor *)&cb_calls; /* sentinel */
    struct topo_error err = TOPO_ERROR_INIT;
    int r = uevent_monitor_start(count_cb, &cb_calls, &m, &err);

    if (r == 0) {
        CU_ASSERT_PTR_NOT_NULL(m);
        return m;
    }
    fprintf(stderr, " [netlink unavailable here: %s]", err.msg);
    CU_ASSERT(r < 0);
    CU_ASSERT_EQUAL(err.code, r);
    CU_ASSERT(err.msg[0] != '\0');
    CU_ASSERT_PTR_EQUAL(m, (struct uevent_monitor *)&cb_calls);
    return NULL;
}

static void
test_monitor_start_stop(void)
{
    struct uevent_monitor *m = start_or_check_error();
    struct uevent_monitor_stats st;

    if (!m)
        return;
    uevent_monitor_get_stats(m, &st);
    CU_ASSERT(st.callbacks <= st.relevant + st.overruns);
    uevent_monitor_stop(m);
    uevent_monitor_stop(NULL);
}

static void
test_monitor_bad_args(void)
{
    struct uevent_monitor *m = NULL;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL(uevent_monitor_start(NULL, NULL, &m, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    CU_ASSERT_PTR_NULL(m);
    err = (struct topo_error)TOPO_ERROR_INIT;
    CU_ASSERT_EQUAL(uevent_monitor_start_fd(-1, count_cb, NULL, &m, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    CU_ASSERT_PTR_NULL(m);
}

/* A real kernel uevent that is not relevant: the thread must see it (counted
 * as irrelevant) and must not call back for it. */
static void
test_monitor_kernel_event(void)
{
    struct uevent_monitor *m = start_or_check_error();
    unsigned long long before = cb_count();
    uint64_t seen;
    int fd;

    if (!m)
        return;
    seen = stat_at(m, STAT(irrelevant));
    fd = open("/sys/devices/virtual/net/lo/uevent", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "change", 6) != 6) {
        fprintf(stderr, " [cannot trigger a uevent here: %s]", strerror(errno));
        if (fd >= 0)
            close(fd);
        uevent_monitor_stop(m);
        return;
    }
    close(fd);
    CU_ASSERT(wait_stat(m, STAT(irrelevant), seen + 1));
    /* Only relevant events (none expected here) may have called back. */
    CU_ASSERT(stat_at(m, STAT(relevant)) > 0 || cb_count() == before);
    uevent_monitor_stop(m);
}

/* Send a relevant-looking PCI event from userspace to group 1. Returns the
 * number of datagrams sent, or -errno (EPERM without CAP_NET_ADMIN). */
static int
send_forged(int count)
{
    static const char forged[] = "remove@/devices/pci0000:17/0000:17:00.0/0000:18:00.0\0"
                                 "ACTION=remove\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:18:00.0\0"
                                 "SEQNUM=1\0";
    struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_groups = 1};
    _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

    if (fd < 0)
        return -errno;
    for (int i = 0; i < count; i++)
        if (sendto(fd, forged, sizeof(forged) - 1, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
            return i ? i : -errno;
    return count;
}

/* Userspace senders (nl_pid != 0) must not trigger rescans even when the
 * message itself looks relevant. */
static void
test_monitor_ignores_userspace_sender(void)
{
    struct uevent_monitor *m = start_or_check_error();
    unsigned long long before = cb_count();
    uint64_t foreign, relevant;
    int r;

    if (!m)
        return;
    foreign = stat_at(m, STAT(foreign));
    relevant = stat_at(m, STAT(relevant));
    r = send_forged(1);
    if (r < 0) {
        fprintf(stderr, " [cannot send to uevent group here: %s]", strerror(-r));
        CU_ASSERT(r == -EPERM || r == -EACCES || r == -EAFNOSUPPORT);
        uevent_monitor_stop(m);
        return;
    }
    CU_ASSERT(wait_stat(m, STAT(foreign), foreign + 1));
    CU_ASSERT_EQUAL(stat_at(m, STAT(relevant)), relevant);
    CU_ASSERT_EQUAL(cb_count(), before);
    uevent_monitor_stop(m);
}

/* Overrun a tiny receive buffer before the thread starts: the monitor must
 * report ENOBUFS as an overrun and call back once for it. */
static void
test_monitor_overrun_calls_back(void)
{
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = 1};
    struct topo_error err = TOPO_ERROR_INIT;
    struct uevent_monitor *m = NULL;
    unsigned long long before = cb_count();
    int fd, small = 1, r;

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) {
        fprintf(stderr, " [netlink unavailable here: %s]", strerror(errno));
        return;
    }
    CU_ASSERT_EQUAL_FATAL(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    r = send_forged(64);
    if (r < 0) {
        fprintf(stderr, " [cannot send to uevent group here: %s]", strerror(-r));
        close(fd);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(uevent_monitor_start_fd(fd, count_cb, &cb_calls, &m, &err), 0);
    CU_ASSERT(wait_stat(m, STAT(callbacks), 1));
    CU_ASSERT(stat_at(m, STAT(overruns)) >= 1);
    CU_ASSERT(stat_at(m, STAT(foreign)) >= 1);
    CU_ASSERT_EQUAL(stat_at(m, STAT(relevant)), 0);
    CU_ASSERT(cb_count() - before >= 1);
    uevent_monitor_stop(m);
}

/* Opt-in (KGDP_UEVENT_TRIGGER_PCI=1, root): a synthetic "change" on a real PCI
 * device must reach the callback. Off by default: on a workstation it makes
 * udev re-run its rules for that device. */
static void
test_monitor_pci_event_calls_back(void)
{
    const char *opt = getenv("KGDP_UEVENT_TRIGGER_PCI");
    _cleanup_dir_ DIR *d = NULL;
    struct uevent_monitor *m;
    struct dirent *de;
    char path[512];
    int fd, n;

    if (!opt || strcmp(opt, "1") != 0) {
        fprintf(stderr, " [set KGDP_UEVENT_TRIGGER_PCI=1 to run]");
        return;
    }
    d = opendir("/sys/bus/pci/devices");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    while ((de = readdir(d)) && de->d_name[0] == '.')
        ;
    CU_ASSERT_PTR_NOT_NULL_FATAL(de);
    n = snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uevent", de->d_name);
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(path));
    m = start_or_check_error();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "change", 6), 6);
    close(fd);
    CU_ASSERT(wait_stat(m, STAT(relevant), 1));
    CU_ASSERT(wait_stat(m, STAT(callbacks), 1));
    CU_ASSERT(cb_count() >= 1);
    fprintf(stderr, " [%s]", de->d_name);
    uevent_monitor_stop(m);
}

TEST_SUITE(uevent_monitor, NULL, NULL, {"start and stop", test_monitor_start_stop},
           {"bad arguments", test_monitor_bad_args},
           {"kernel event seen, no callback", test_monitor_kernel_event},
           {"userspace sender ignored", test_monitor_ignores_userspace_sender},
           {"overrun calls back", test_monitor_overrun_calls_back},
           {"pci event calls back (opt-in)", test_monitor_pci_event_calls_back})
