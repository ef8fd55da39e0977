#include <stdio.h>
#include <stdlib.h>

#include "test/bench/bench.h"
#include "topology/host/host.h"

/* Time topo_scan over the `large` fixture and its half-size twin; the
 * ratio shows whether the scan grows linearly. Goal: large < 50 ms. */

#define RUNS 9
#define GOAL_MS 50.0

/* Median scan time of fixture NAME in ms, or a negative value on error. */
static double
bench_fixture(const char *base, const char *name, size_t *ret_functions)
{
    char sys[4096], dev[4096];
    double t[RUNS];

    if (snprintf(sys, sizeof(sys), "%s/%s/sys", base, name) >= (int)sizeof(sys) ||
        snprintf(dev, sizeof(dev), "%s/%s/dev", base, name) >= (int)sizeof(dev))
        return -1;
    for (int i = 0; i < RUNS; i++) {
        struct topo_scan_options o = {sys, dev, TOPO_IOMMU_AUTO};
        struct topo_error err = TOPO_ERROR_INIT;
        struct topo_host *h = NULL;
        double t0 = bench_now_ms();

        if (topo_scan(&o, &h, &err) < 0) {
            fprintf(stderr, "bench: scan %s: %s\n", name, err.msg);
            return -1;
        }
        t[i] = bench_now_ms() - t0;
        *ret_functions = h->n_functions;
        topo_host_free(h);
    }
    return bench_median(t, RUNS);
}

BENCH(discover_scan)
{
    const char *base = getenv("KGDP_FIXTURES");
    size_t n_half = 0, n_full = 0;
    double half, full;

    if (!base) {
        fprintf(stderr, "bench: KGDP_FIXTURES is not set (run `make bench`)\n");
        return 2;
    }
    half = bench_fixture(base, "large-half", &n_half);
    full = bench_fixture(base, "large", &n_full);
    if (half < 0 || full < 0)
        return 1;
    printf("topo_scan large-half: %5zu functions  median %7.2f ms  %6.1f functions/ms (%d runs)\n",
           n_half, half, (double)n_half / half, RUNS);
    printf("topo_scan large:      %5zu functions  median %7.2f ms  %6.1f functions/ms (%d runs)\n",
           n_full, full, (double)n_full / full, RUNS);
    printf("topo_scan growth: x%.2f time for x%.2f functions (linear ~ equal)\n", full / half,
           (double)n_full / (double)n_half);
    printf("topo_scan goal < %.0f ms: %s\n", GOAL_MS, full < GOAL_MS ? "met" : "MISSED");
    return 0;
}
