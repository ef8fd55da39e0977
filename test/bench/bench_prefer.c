#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/bench/bench.h"
#include "topology/base/macros.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* GetPreferredAllocation on the `large` fixture (64 GPUs): the slowest
 * request over every size, with everything offered, a quarter in use and
 * one must-include GPU, beside two baselines timed in the same run: an
 * Allocate of the set it proposed (which re-reads driver bindings) and a
 * 1-GPU request. Times are the thread's CPU time. Goal: worst < 5 ms (the
 * gRPC thread answers every RPC). */

#define RUNS 5
#define GOAL_MS 5.0
#define MAX_GPUS 64

struct req {
    const char *what;
    const char *avail[MAX_GPUS], *must[1];
    size_t n_avail, n_must;
};

/* Median CPU time of one request over RUNS calls in ms, or a negative value on
 * error; the last answer goes to *ret_ids when ret_ids is not NULL. */
static double
time_preferred(const struct inventory *inv, const struct req *q, size_t size, char ***ret_ids,
               size_t *ret_n)
{
    double t[RUNS];

    for (int i = 0; i < RUNS; i++) {
        struct topo_error err = TOPO_ERROR_INIT;
        char **ids = NULL;
        size_t n = 0;
        double t0 = bench_thread_cpu_ms();
        int r = inventory_preferred(inv, 0, q->avail, q->n_avail, q->must, q->n_must, size, &ids,
                                    &n, &err);

        t[i] = bench_thread_cpu_ms() - t0;
        if (r < 0) {
            fprintf(stderr, "bench: preferred %zu (%s): %s\n", size, q->what, err.msg);
            return -1;
        }
        if (ret_ids && i == RUNS - 1) {
            *ret_ids = ids;
            *ret_n = n;
        } else {
            inventory_free_strv(ids, n);
        }
    }
    return bench_median(t, RUNS);
}

static double
time_allocate(const struct inventory *inv, char **ids, size_t n)
{
    double t[RUNS];

    for (int i = 0; i < RUNS; i++) {
        struct topo_error err = TOPO_ERROR_INIT;
        struct inv_allocation a = {0};
        double t0 = bench_thread_cpu_ms();
        int r = inventory_allocate(inv, 0, (const char *const *)ids, n, &a, &err);

        t[i] = bench_thread_cpu_ms() - t0;
        if (r < 0) {
            fprintf(stderr, "bench: allocate: %s\n", err.msg);
            return -1;
        }
        inventory_allocation_clear(&a);
    }
    return bench_median(t, RUNS);
}

static struct inventory *
open_large(const char *base, char **sys, char **dev)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_scan_options o = {.iommu = TOPO_IOMMU_AUTO};
    struct inv_policy p = {.mode = INV_MODE_PASSTHROUGH,
                           .domain = "nvidia.com",
                           .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch"};
    struct topo_host *h = NULL;
    struct inventory *inv = NULL;

    if (asprintf(sys, "%s/large/sys", base) < 0 || asprintf(dev, "%s/large/dev", base) < 0)
        return NULL;
    o.sysfs_root = p.sysfs_root = *sys;
    o.dev_root = p.dev_root = *dev;
    if (topo_scan(&o, &h, &err) < 0 || inventory_build(h, &p, &inv, &err) < 0)
        fprintf(stderr, "bench: large: %s\n", err.msg);
    topo_host_free(h);
    return inv;
}

static void
make_reqs(const struct inv_resource *res, struct req *q)
{
    q[0].what = "all offered";
    q[1].what = "a quarter in use";
    q[2].what = "one must-include";
    for (size_t i = 0; i < res->n_devices && i < MAX_GPUS; i++) {
        q[0].avail[q[0].n_avail++] = res->devices[i].id;
        if (i % 4 != 1)
            q[1].avail[q[1].n_avail++] = res->devices[i].id;
        q[2].avail[q[2].n_avail++] = res->devices[i].id;
    }
    q[2].must[q[2].n_must++] = res->devices[res->n_devices / 2 + 5].id;
}

/* Table rows: the worst request beside an Allocate of its answer and
 * beside a 1-GPU request, CPU time of the calling thread. */
static void
report(double worst, size_t size, const char *what, double alloc, size_t n_ids, double one)
{
    char fig[128], base[64];

    snprintf(fig, sizeof(fig), "worst GetPreferredAllocation, large (size %zu, %s), CPU", size,
             what);
    snprintf(base, sizeof(base), "Allocate of its %zu GPUs, CPU", n_ids);
    bench_row(&(struct bench_row){.figure = fig, .value = worst, .unit = "ms", .baseline = base,
                                  .base = alloc, .goal_kind = BENCH_GOAL_VALUE_MAX,
                                  .goal = GOAL_MS});
    bench_row(&(struct bench_row){.figure = "  the same worst request", .value = worst,
                                  .unit = "ms", .baseline = "1-GPU request, all offered, CPU",
                                  .base = one});
}

BENCH(prefer_large)
{
    const char *base = getenv("KGDP_FIXTURES");
    char *sys = NULL, *dev = NULL, **ids = NULL;
    struct inventory *inv;
    struct req q[3] = {{0}};
    double worst = -1, one, alloc;
    size_t worst_size = 0, worst_q = 0, n_ids = 0;

    if (!base) {
        fprintf(stderr, "bench: KGDP_FIXTURES is not set (run `make bench`)\n");
        return 2;
    }
    inv = open_large(base, &sys, &dev);
    if (!inv || inv->n_resources != 1 || inv->resources[0].n_devices != MAX_GPUS) {
        free(sys);
        free(dev);
        inventory_unref(inv);
        return 1;
    }
    make_reqs(&inv->resources[0], q);
    for (size_t k = 0; k < ARRAY_SIZE(q); k++)
        for (size_t size = 1; size <= q[k].n_avail; size++) {
            double t = time_preferred(inv, &q[k], size, NULL, NULL);

            if (t < 0)
                goto fail;
            if (t > worst) {
                worst = t;
                worst_size = size;
                worst_q = k;
            }
        }
    one = time_preferred(inv, &q[0], 1, NULL, NULL);
    if (one < 0 || time_preferred(inv, &q[worst_q], worst_size, &ids, &n_ids) < 0)
        goto fail;
    alloc = time_allocate(inv, ids, n_ids);
    inventory_free_strv(ids, n_ids);
    if (alloc < 0)
        goto fail;
    report(worst, worst_size, q[worst_q].what, alloc, n_ids, one);
    free(sys);
    free(dev);
    inventory_unref(inv);
    return 0;
fail:
    free(sys);
    free(dev);
    inventory_unref(inv);
    return 1;
}
