#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test/bench/bench.h"
#include "test/kubelet-sim/ksim.h"
#include "test/support/live_host.h"

/* Time from SIGHUP to the updated list at the client: the real daemon on a
 * copy of hgx-h100-iommufd, the kubelet simulator streaming, one GPU
 * unbound and rebound FLIPS times. Includes the signal hop, the rescan
 * (scan, snapshot, CDI write), the wake-up of the gRPC thread and the
 * send. */

#define FIXTURE "hgx-h100-iommufd"
#define RESOURCE "nvidia.com/pgpu"
#define GPU "0000:18:00.0"
#define FLIPS 20
#define WAIT_MS 10000

/* Health of GPU in the last list: 1, 0, or -1 (no list / not listed). */
static int
gpu_health(struct ksim *sim, size_t *ret_count)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    int h = -1;

    if (ksim_last_list(sim, RESOURCE, &list, ret_count) < 0)
        return -1;
    for (size_t i = 0; i < list->n_devices; i++)
        if (strcmp(list->devices[i]->id, GPU) == 0)
            h = strcmp(list->devices[i]->health, "Healthy") == 0;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return h;
}

/* One flip: ms from SIGHUP until a list with the new health arrives, or
 * a negative value. */
static double
one_flip(struct live_host *lh, struct ksim *sim, bool bound)
{
    size_t count = 0;
    double t0, end;

    if (gpu_health(sim, &count) < 0 || live_host_set_bound(lh, GPU, bound) < 0)
        return -1;
    t0 = bench_now_ms();
    end = t0 + WAIT_MS;
    if (kill(lh->pid, SIGHUP) < 0)
        return -1;
    while (bench_now_ms() < end) {
        if (ksim_wait_lists(sim, RESOURCE, count + 1, (int)(end - bench_now_ms())) < 0)
            return -1;
        if (gpu_health(sim, &count) == (int)bound)
            return bench_now_ms() - t0;
    }
    return -1;
}

static int
measure(struct live_host *lh, struct ksim *sim, double *t)
{
    if (ksim_wait_registered(sim, RESOURCE, WAIT_MS) < 0 ||
        ksim_wait_lists(sim, RESOURCE, 1, WAIT_MS) < 0) {
        fprintf(stderr, "bench: %s never registered/listed (log: %s)\n", RESOURCE, lh->log);
        return -1;
    }
    for (int i = 0; i < FLIPS; i++) {
        t[i] = one_flip(lh, sim, i % 2 == 1);
        if (t[i] < 0) {
            fprintf(stderr, "bench: flip %d: no updated list within %d ms\n", i, WAIT_MS);
            return -1;
        }
    }
    return 0;
}

BENCH(rescan_latency)
{
    struct live_host lh;
    struct ksim *sim = NULL;
    double t[FLIPS], lo, hi;
    int r, status = 0;

    if ((r = live_host_init(&lh, FIXTURE)) < 0 || (r = ksim_start(lh.kubelet, &sim)) < 0 ||
        (r = live_host_spawn(&lh, NULL)) < 0) {
        fprintf(stderr, "bench: setup: %s\n", strerror(-r));
        ksim_stop(sim);
        live_host_fini(&lh);
        return 1;
    }
    r = measure(&lh, sim, t);
    if (tproc_stop(&lh.pid, SIGTERM, 5000, &status) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench: daemon did not exit cleanly\n");
    ksim_stop(sim);
    live_host_fini(&lh);
    if (r < 0)
        return 1;
    lo = hi = t[0];
    for (int i = 1; i < FLIPS; i++) {
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
    }
    printf("rescan SIGHUP -> updated list (%s, %d flips): median %.2f ms  min %.2f  max %.2f\n",
           FIXTURE, FLIPS, bench_median(t, FLIPS), lo, hi);
    return 0;
}
