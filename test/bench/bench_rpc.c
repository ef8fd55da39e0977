#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/bench/bench.h"
#include "test/kubelet-sim/ksim.h"
#include "test/support/live_host.h"
#include "topology/base/cleanup.h"

/* RPC cost, memory and start-up, each beside grpc-go baselines measured in
 * the same run ($KGDP_GOPLUGIN, test/bench/go/goplugin.go):
 *  - Allocate and GetPreferredAllocation p50/p99 over CALLS sequential
 *    calls from a grpc-go client (medians of 3 such runs), beside an empty unary call to a minimal
 *    grpc-go server and beside a minimal grpc-go device plugin serving the
 *    same list; server CPU per call from /proc/PID/stat;
 *  - VmRSS, Pss and private memory after start and after CALLS Allocates;
 *  - process start -> first ListAndWatch list at the kubelet simulator. */

#define FIXTURE "hgx-h100-iommufd"
#define RESOURCE "nvidia.com/pgpu"
#define CALLS 10000
#define STARTS 5
#define REPEATS 2 /* runs of CALLS after the first: medians of 3 */
#define WAIT_MS 10000

struct server {
    pid_t pid;
    char *socket;
    double start_ms; /* process start -> first list */
    double mem0[BENCH_MEM_N]; /* after start (KiB), see bench_memory */
};

struct calls {
    double p50, p99; /* us */
    double cpu_us;   /* server CPU per call */
};

static const char *
goplugin(void)
{
    const char *p = getenv("KGDP_GOPLUGIN");

    if (!p)
        fprintf(stderr, "bench: KGDP_GOPLUGIN is not set (run `make bench`)\n");
    return p;
}

/* Comma-separated IDs of the first list of RESOURCE. */
static char *
list_ids(struct ksim *sim)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    char *ids = NULL;
    size_t len = 0;
    FILE *f;

    if (ksim_last_list(sim, RESOURCE, &list, NULL) < 0 || !(f = open_memstream(&ids, &len)))
        return NULL;
    for (size_t i = 0; i < list->n_devices; i++)
        fprintf(f, "%s%s", i ? "," : "", list->devices[i]->id);
    fclose(f);
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return ids;
}

/* "p50 p99" as the call command prints them. 0 or -EIO. */
static int
parse_two(FILE *f, struct calls *ret)
{
    char line[128], *end, *end2;
    double a, b;

    if (!fgets(line, sizeof(line), f))
        return -EIO;
    a = strtod(line, &end);
    b = strtod(end, &end2);
    if (end == line || end2 == end)
        return -EIO;
    ret->p50 = a;
    ret->p99 = b;
    return 0;
}

/* Run `goplugin call` against socket: n calls of method. */
static int
go_calls(const char *root, const char *socket, const char *method, const char *ids, pid_t server,
         struct calls *ret)
{
    _cleanup_free_ char *out = NULL, *n = NULL;
    const char *argv[] = {goplugin(), "call", "-socket", socket, "-method", method, "-n", NULL,
                          "-ids", ids, NULL};
    double cpu0 = bench_cpu_ms(server), cpu1;
    int status = 0, r;
    pid_t pid;
    FILE *f;

    if (!argv[0] || asprintf(&out, "%s/calls-%s.out", root, method) < 0 ||
        asprintf(&n, "%d", CALLS) < 0)
        return -ENOMEM;
    argv[7] = n;
    unlink(out);
    if ((r = tproc_spawn((char *const *)argv, out, NULL, &pid)) < 0 ||
        (r = tproc_wait(pid, 300000, &status)) < 0)
        return r;
    cpu1 = bench_cpu_ms(server);
    f = fopen(out, "re");
    r = f && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? parse_two(f, ret) : -EIO;
    if (f)
        fclose(f);
    if (r < 0)
        fprintf(stderr, "bench: goplugin call %s failed (see %s)\n", method, out);
    ret->cpu_us = (cpu1 - cpu0) * 1e3 / CALLS;
    return r;
}

/* REPEATS more runs of CALLS calls after the first one (which the memory
 * figure follows): p50, p99 and CPU are the medians of the runs, so that
 * one run disturbed by other load on the machine does not decide. */
static int
more_calls(const char *root, const char *socket, const char *method, const char *ids,
           pid_t server, struct calls *c)
{
    double p50[REPEATS + 1] = {c->p50}, p99[REPEATS + 1] = {c->p99}, cpu[REPEATS + 1] = {c->cpu_us};
    struct calls one;
    int r;

    for (int i = 1; i <= REPEATS; i++) {
        if ((r = go_calls(root, socket, method, ids, server, &one)) < 0)
            return r;
        p50[i] = one.p50;
        p99[i] = one.p99;
        cpu[i] = one.cpu_us;
    }
    c->p50 = bench_median(p50, REPEATS + 1);
    c->p99 = bench_median(p99, REPEATS + 1);
    c->cpu_us = bench_median(cpu, REPEATS + 1);
    return 0;
}

/* The daemon's pgpu socket, found in the kubelet dir. */
static char *
our_socket(const struct live_host *lh)
{
    char *path;

    if (asprintf(&path, "%s/kgdp-pgpu.sock", lh->kubelet) < 0)
        return NULL;
    return path;
}

/* Spawn a server (argv), wait for its first list at sim. */
static int
start_server(struct ksim *sim, char *const *argv, const char *log, bool daemon, pid_t *ret_pid,
             double *ret_ms)
{
    double t0 = bench_now_ms();
    int r = daemon ? tproc_spawn_daemon(argv, log, NULL, ret_pid)
                   : tproc_spawn(argv, log, NULL, ret_pid);

    if (r < 0)
        return r;
    if ((r = ksim_wait_lists(sim, RESOURCE, 1, WAIT_MS)) < 0) {
        fprintf(stderr, "bench: no first list (log: %s)\n", log);
        return r;
    }
    *ret_ms = bench_now_ms() - t0;
    return 0;
}

/* Our daemon STARTS times (start -> first list), then one for the calls. */
static int
start_ours(struct live_host *lh, struct ksim *sim, struct server *s)
{
    _cleanup_free_ char *sys = NULL, *dev = NULL, *kd = NULL, *cdi = NULL;
    const char *bin = getenv("KGDP_BIN");
    double t[STARTS];
    int r, status;

    if (!bin || asprintf(&sys, "--sysfs-root=%s", lh->sysfs) < 0 ||
        asprintf(&dev, "--dev-root=%s", lh->dev) < 0 ||
        asprintf(&kd, "--kubelet-dir=%s", lh->kubelet) < 0 ||
        asprintf(&cdi, "--cdi-dir=%s", lh->cdi) < 0)
        return -EINVAL;
    for (int i = 0; i <= STARTS; i++) {
        char *const argv[] = {(char *)bin, "serve", sys, dev, kd, cdi, "--gpu-alias=pgpu",
                              "--nvswitch-alias=nvswitch", "--log-level=warn", NULL};

        if ((r = start_server(sim, argv, lh->log, true, &s->pid, &t[i < STARTS ? i : 0])) < 0)
            return r;
        if (i == STARTS)
            break;
        if ((r = tproc_stop(&s->pid, SIGTERM, WAIT_MS, &status)) < 0)
            return r;
        /* the next start must see a fresh registration */
        if ((r = ksim_restart(sim)) < 0)
            return r;
    }
    s->start_ms = bench_median(t, STARTS);
    s->socket = our_socket(lh);
    return s->socket ? 0 : -ENOMEM;
}

static int
start_go(struct live_host *lh, struct ksim *sim, const char *mode, const char *ids,
         struct server *s)
{
    _cleanup_free_ char *log = NULL;
    char *const argv[] = {(char *)goplugin(), "serve", "-mode", (char *)mode, "-socket",
                          NULL, "-ids", (char *)ids, "-dev", lh->dev, "-kubelet",
                          strcmp(mode, "plugin") == 0 ? lh->kubelet : "", "-resource",
                          RESOURCE, NULL};
    int r;

    if (!argv[0] || asprintf(&s->socket, "%s/go-%s.sock", lh->kubelet, mode) < 0 ||
        asprintf(&log, "%s/go-%s.log", lh->root, mode) < 0)
        return -ENOMEM;
    ((char **)argv)[5] = s->socket;
    if (strcmp(mode, "plugin") == 0)
        return start_server(sim, argv, log, false, &s->pid, &s->start_ms);
    if ((r = tproc_spawn(argv, log, NULL, &s->pid)) < 0)
        return r;
    for (int i = 0; i < 100 && access(s->socket, F_OK) < 0; i++)
        usleep(20000);
    return access(s->socket, F_OK) < 0 ? -ETIMEDOUT : 0;
}

static void
stop_server(struct server *s)
{
    tproc_end(&s->pid, 5000);
    free(s->socket);
    s->socket = NULL;
}

struct results {
    struct server ours, go;
    struct calls alloc, pref, go_alloc, go_pref, empty;
    double mem1[BENCH_MEM_N], go_mem1[BENCH_MEM_N];
};

static int
measure_ours(struct live_host *lh, struct ksim *sim, char **ret_ids, struct results *x)
{
    int r;

    if ((r = start_ours(lh, sim, &x->ours)) < 0 || !(*ret_ids = list_ids(sim)))
        return r < 0 ? r : -EIO;
    if ((r = bench_memory(x->ours.pid, x->ours.mem0)) < 0 ||
        (r = go_calls(lh->root, x->ours.socket, "allocate", *ret_ids, x->ours.pid, &x->alloc)) <
            0 ||
        (r = bench_memory(x->ours.pid, x->mem1)) < 0 ||
        (r = more_calls(lh->root, x->ours.socket, "allocate", *ret_ids, x->ours.pid,
                        &x->alloc)) < 0 ||
        (r = go_calls(lh->root, x->ours.socket, "preferred", *ret_ids, x->ours.pid, &x->pref)) <
            0 ||
        (r = more_calls(lh->root, x->ours.socket, "preferred", *ret_ids, x->ours.pid, &x->pref)) <
            0)
        return r;
    stop_server(&x->ours);
    return ksim_restart(sim);
}

static int
measure_go(struct live_host *lh, struct ksim *sim, const char *ids, struct results *x)
{
    struct server empty = {0};
    int r;

    if ((r = start_go(lh, sim, "plugin", ids, &x->go)) < 0 ||
        (r = bench_memory(x->go.pid, x->go.mem0)) < 0 ||
        (r = go_calls(lh->root, x->go.socket, "allocate", ids, x->go.pid, &x->go_alloc)) < 0 ||
        (r = bench_memory(x->go.pid, x->go_mem1)) < 0 ||
        (r = more_calls(lh->root, x->go.socket, "allocate", ids, x->go.pid, &x->go_alloc)) < 0 ||
        (r = go_calls(lh->root, x->go.socket, "preferred", ids, x->go.pid, &x->go_pref)) < 0 ||
        (r = more_calls(lh->root, x->go.socket, "preferred", ids, x->go.pid, &x->go_pref)) < 0)
        return r;
    stop_server(&x->go);
    if ((r = start_go(lh, sim, "empty", ids, &empty)) < 0 ||
        (r = go_calls(lh->root, empty.socket, "empty", ids, empty.pid, &x->empty)) < 0 ||
        (r = more_calls(lh->root, empty.socket, "empty", ids, empty.pid, &x->empty)) < 0) {
        stop_server(&empty);
        return r;
    }
    stop_server(&empty);
    return 0;
}

static void
row(const char *figure, double value, const char *unit, const char *baseline, double base,
    enum bench_goal kind, double goal)
{
    bench_row(&(struct bench_row){figure, value, unit, baseline, base, kind, goal});
}

static void
report(const struct results *x)
{
    const char *what[BENCH_MEM_N] = {"VmRSS", "Pss", "private (clean+dirty)", "private dirty"};
    char fig[96];

    row("Allocate p50 (grpc-go client, 3 x 10k calls)", x->alloc.p50, "us",
        "empty unary call, minimal grpc-go", x->empty.p50, BENCH_GOAL_RATIO_MAX, 1.2);
    row("Allocate p50", x->alloc.p50, "us", "minimal grpc-go plugin Allocate", x->go_alloc.p50,
        BENCH_GOAL_NONE, 0);
    row("Allocate p99", x->alloc.p99, "us", "minimal grpc-go plugin Allocate", x->go_alloc.p99,
        BENCH_GOAL_NONE, 0);
    row("GetPreferredAllocation p50 (8 of 8, size 2)", x->pref.p50, "us",
        "minimal grpc-go plugin", x->go_pref.p50, BENCH_GOAL_NONE, 0);
    row("GetPreferredAllocation p99", x->pref.p99, "us", "minimal grpc-go plugin", x->go_pref.p99,
        BENCH_GOAL_NONE, 0);
    row("empty grpc-go unary call p50 / p99", x->empty.p50, "us", "its own p99", x->empty.p99,
        BENCH_GOAL_NONE, 0);
    row("server CPU per Allocate", x->alloc.cpu_us, "us", "minimal grpc-go plugin",
        x->go_alloc.cpu_us, BENCH_GOAL_RATIO_MAX, 0.6);
    row("server CPU per GetPreferredAllocation", x->pref.cpu_us, "us", "minimal grpc-go plugin",
        x->go_pref.cpu_us, BENCH_GOAL_NONE, 0);
    row("server CPU per empty call (grpc-go)", x->empty.cpu_us, "us", NULL, 0, BENCH_GOAL_NONE, 0);
    for (int i = 0; i < BENCH_MEM_N; i++) {
        enum bench_goal g = i >= 2 ? BENCH_GOAL_VALUE_MAX : BENCH_GOAL_NONE;

        snprintf(fig, sizeof(fig), "%s after start", what[i]);
        row(fig, x->ours.mem0[i], "KiB", "minimal grpc-go plugin", x->go.mem0[i], g, 2048);
        snprintf(fig, sizeof(fig), "%s after 10k Allocates", what[i]);
        row(fig, x->mem1[i], "KiB", "minimal grpc-go plugin", x->go_mem1[i], g, 2048);
    }
    row("start -> first list (" FIXTURE ")", x->ours.start_ms, "ms",
        "minimal grpc-go plugin", x->go.start_ms, BENCH_GOAL_VALUE_MAX, 30);
}

BENCH(rpc)
{
    struct live_host lh;
    struct ksim *sim = NULL;
    struct results x = {0};
    _cleanup_free_ char *ids = NULL;
    int r;

    if (!goplugin())
        return 2;
    if ((r = live_host_init(&lh, FIXTURE)) >= 0 && (r = ksim_start(lh.kubelet, &sim)) >= 0 &&
        (r = measure_ours(&lh, sim, &ids, &x)) >= 0)
        r = measure_go(&lh, sim, ids, &x);
    if (r < 0)
        fprintf(stderr, "bench: rpc: %s\n", strerror(-r));
    stop_server(&x.ours);
    stop_server(&x.go);
    ksim_stop(sim);
    live_host_fini(&lh);
    if (r < 0)
        return 1;
    report(&x);
    return 0;
}
