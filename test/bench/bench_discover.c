#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test/bench/bench.h"
#include "topology/base/cleanup.h"
#include "topology/host/host.h"

/* topo_scan of every generated fixture, and of the bench-only 4x larger
 * host, per function, beside the floor measured in the same run: list
 * bus/pci/devices and do one open/read/close of each function's uevent,
 * nothing else. Runs alternate so that noise from other load hits both. */

#define RUNS 9
#define RUNS_HUGE 5

/* The floor: ms for one pass, or < 0; *ret_n functions read. */
static double
floor_once(const char *sys, size_t *ret_n)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_close_ int fd = -1;
    char buf[32768], text[1024], name[64];
    double t0 = bench_now_ms();
    size_t n = 0;
    long got;

    if (asprintf(&path, "%s/bus/pci/devices", sys) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < got;) {
            struct dirent64 *de = (struct dirent64 *)(buf + off);
            int f;

            off += de->d_reclen;
            if (de->d_name[0] == '.' ||
                snprintf(name, sizeof(name), "%s/uevent", de->d_name) >= (int)sizeof(name))
                continue;
            f = openat(fd, name, O_RDONLY | O_CLOEXEC);
            if (f < 0)
                continue;
            n += read(f, text, sizeof(text)) > 0;
            close(f);
        }
    }
    *ret_n = n;
    return bench_now_ms() - t0;
}

static double
scan_once(const char *sys, const char *dev, size_t *ret_n)
{
    struct topo_scan_options o = {sys, dev, TOPO_IOMMU_AUTO};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *h = NULL;
    double t0 = bench_now_ms(), t;

    if (topo_scan(&o, &h, &err) < 0) {
        fprintf(stderr, "bench: scan %s: %s\n", sys, err.msg);
        return -1;
    }
    t = bench_now_ms() - t0;
    *ret_n = h->n_functions;
    topo_host_free(h);
    return t;
}

static int
bench_host(const char *base, const char *name, int runs, double goal)
{
    _cleanup_free_ char *sys = NULL, *dev = NULL, *fig = NULL, *bl = NULL;
    double ours[RUNS], flo[RUNS], m_ours, m_floor;
    size_t n = 0, n_floor = 0;

    if (asprintf(&sys, "%s/%s/sys", base, name) < 0 || asprintf(&dev, "%s/%s/dev", base, name) < 0)
        return -1;
    for (int i = 0; i < runs; i++) {
        ours[i] = scan_once(sys, dev, &n);
        flo[i] = floor_once(sys, &n_floor);
        if (ours[i] < 0 || flo[i] < 0 || n == 0)
            return -1;
    }
    m_ours = bench_median(ours, (size_t)runs);
    m_floor = bench_median(flo, (size_t)runs);
    if (asprintf(&fig, "discover %s (%zu fn), per function", name, n) < 0 ||
        asprintf(&bl, "1 uevent read/fn (%.2f ms total)", m_floor) < 0)
        return -1;
    bench_row(&(struct bench_row){.figure = fig, .value = m_ours * 1e3 / (double)n, .unit = "us",
                                  .baseline = bl, .base = m_floor * 1e3 / (double)n_floor,
                                  .goal_kind = goal > 0 ? BENCH_GOAL_RATIO_MAX : BENCH_GOAL_NONE,
                                  .goal = goal});
    free(fig);
    if (asprintf(&fig, "discover %s, whole scan", name) < 0)
        return -1;
    bench_row(&(struct bench_row){.figure = fig, .value = m_ours, .unit = "ms",
                                  .baseline = "1 uevent read per function", .base = m_floor});
    return 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

BENCH(discover)
{
    const char *base = getenv("KGDP_FIXTURES"), *huge = getenv("KGDP_BENCH_FIXTURES");
    _cleanup_dir_ DIR *d = NULL;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    int r = 0;

    if (!base || !(d = opendir(base))) {
        fprintf(stderr, "bench: KGDP_FIXTURES is not set or unreadable (run `make bench`)\n");
        return 2;
    }
    while ((e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.' && e->d_type == DT_DIR)
            names[n++] = strdup(e->d_name);
    qsort(names, n, sizeof(names[0]), name_cmp);
    for (size_t i = 0; i < n; i++) {
        /* the 64-GPU host carries the goal: within 1.5x of the floor */
        if (names[i] && bench_host(base, names[i], RUNS, strcmp(names[i], "large") ? 0 : 1.5) < 0)
            r = 1;
        free(names[i]);
    }
    if (huge && bench_host(huge, "large-x4", RUNS_HUGE, 0) < 0)
        r = 1;
    return r;
}
