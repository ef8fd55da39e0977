#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test/bench/bench.h"
#include "test/kubelet-sim/ksim.h"
#include "test/support/live_host.h"

/* Time from a trigger to the updated list at the kubelet simulator: the
 * real daemon on a copy of hgx-h100-iommufd, one GPU unbound and rebound
 * FLIPS times. Two triggers:
 *  - SIGHUP;
 *  - a kernel uevent (no signal): the copy is a fake tree the kernel knows
 *    nothing of, so the bench gives the copy a GPU at the address of a
 *    real PCI function of the running kernel (a clone of 18:00.0), flips
 *    that one, and makes the kernel emit a real uevent for the address by
 *    writing "change" to /sys/bus/pci/devices/<it>/uevent (root only). The
 *    daemon's netlink monitor takes it like any other and rescans just
 *    that function (incremental rescan).
 * Includes the trigger hop, the rescan (scan, snapshot, CDI write), the
 * wake-up of the gRPC thread and the send. */

#define FIXTURE "hgx-h100-iommufd"
#define RESOURCE "nvidia.com/pgpu"
#define GPU "0000:18:00.0"
#define CLONE_GROUP 990
#define FLIPS 20
#define WAIT_MS 10000

/* Health of gpu in the last list: 1, 0, or -1 (no list / not listed). */
static int
gpu_health(struct ksim *sim, const char *gpu, size_t *ret_count)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    int h = -1;

    if (ksim_last_list(sim, RESOURCE, &list, ret_count) < 0)
        return -1;
    for (size_t i = 0; i < list->n_devices; i++)
        if (strcmp(list->devices[i]->id, gpu) == 0)
            h = strcmp(list->devices[i]->health, "Healthy") == 0;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return h;
}

/* The last PCI function of the running kernel, or "" when none. */
static void
real_function(char *bdf, size_t size)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;

    snprintf(bdf, size, "%s", "");
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && strlen(e->d_name) < size)
            memcpy(bdf, e->d_name, strlen(e->d_name) + 1);
    if (d)
        closedir(d);
}

/* A real kernel uevent of subsystem pci for function bdf: "change"
 * written to its uevent file. 0 or -errno. */
static int
kernel_uevent(const char *bdf)
{
    char path[512];
    int fd, r;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/uevent", bdf);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = write(fd, "change", 6) == 6 ? 0 : -errno;
    close(fd);
    return r;
}

/* One flip: ms from the trigger until a list with the new health arrives,
 * or a negative value. */
static double
one_flip(struct live_host *lh, struct ksim *sim, const char *gpu, bool bound, bool uevent)
{
    size_t count = 0;
    double t0, end;

    if (gpu_health(sim, gpu, &count) < 0 || live_host_set_bound(lh, gpu, bound) < 0)
        return -1;
    t0 = bench_now_ms();
    end = t0 + WAIT_MS;
    if (uevent ? kernel_uevent(gpu) < 0 : kill(lh->pid, SIGHUP) < 0)
        return -1;
    while (bench_now_ms() < end) {
        if (ksim_wait_lists(sim, RESOURCE, count + 1, (int)(end - bench_now_ms())) < 0)
            return -1;
        if (gpu_health(sim, gpu, &count) == (int)bound)
            return bench_now_ms() - t0;
    }
    return -1;
}

static int
measure(struct live_host *lh, struct ksim *sim, const char *gpu, bool uevent, double *t)
{
    if (ksim_wait_registered(sim, RESOURCE, WAIT_MS) < 0 ||
        ksim_wait_lists(sim, RESOURCE, 1, WAIT_MS) < 0) {
        fprintf(stderr, "bench: %s never registered/listed (log: %s)\n", RESOURCE, lh->log);
        return -1;
    }
    for (int i = 0; i < FLIPS; i++) {
        t[i] = one_flip(lh, sim, gpu, i % 2 == 1, uevent);
        if (t[i] < 0) {
            fprintf(stderr, "bench: flip %d: no updated list within %d ms\n", i, WAIT_MS);
            return -1;
        }
    }
    return 0;
}

/* gpu "" = the fixture's GPU; else a clone of it at that address. */
static int
run(const char *gpu, bool uevent, double *ret_median)
{
    struct live_host lh;
    struct ksim *sim = NULL;
    double t[FLIPS];
    int r, status = 0;

    if ((r = live_host_init(&lh, FIXTURE)) < 0 ||
        (*gpu && (r = live_host_add_function(&lh, GPU, gpu, CLONE_GROUP, CLONE_GROUP)) < 0) ||
        (r = ksim_start(lh.kubelet, &sim)) < 0 || (r = live_host_spawn(&lh, NULL)) < 0) {
        fprintf(stderr, "bench: setup: %s\n", strerror(-r));
        ksim_stop(sim);
        live_host_fini(&lh);
        return -1;
    }
    r = measure(&lh, sim, *gpu ? gpu : GPU, uevent, t);
    if (tproc_stop(&lh.pid, SIGTERM, 5000, &status) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench: daemon did not exit cleanly\n");
    ksim_stop(sim);
    live_host_fini(&lh);
    if (r < 0)
        return -1;
    *ret_median = bench_median(t, FLIPS);
    return 0;
}

BENCH(rescan_latency)
{
    double hup, uev;
    char real[64];

    if (run("", false, &hup) < 0)
        return 1;
    bench_row(&(struct bench_row){.figure = "SIGHUP -> updated list (" FIXTURE ")", .value = hup,
                                  .unit = "ms"});
    real_function(real, sizeof(real));
    if (!*real || kernel_uevent(real) < 0) {
        fprintf(stderr, "bench: cannot make the kernel emit a PCI uevent (needs root and a "
                        "PCI device): no uevent row\n");
        return 0;
    }
    if (run(real, true, &uev) < 0)
        return 1;
    bench_row(&(struct bench_row){.figure = "bind/unbind -> Healthy/Unhealthy via uevent",
                                  .value = uev, .unit = "ms", .baseline = "SIGHUP -> update",
                                  .base = hup, .goal_kind = BENCH_GOAL_VALUE_MAX, .goal = 50});
    return 0;
}
