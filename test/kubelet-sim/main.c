#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test/kubelet-sim/ksim.h"
#include "topology/base/macros.h"

/* kubelet-sim: a stand-in kubelet for demos and manual checks. It prints
 * what a kubelet would see from the plugin: registrations, device lists,
 * a preferred allocation and Allocate answers. */

#define MAX_ACTIONS 16

struct cli {
    const char *dir;
    int want_resources;
    int timeout_s;
    bool restart;
    const char *watch_until;
    size_t n_prefer, n_alloc;
    char *prefer[MAX_ACTIONS];
    char *alloc[MAX_ACTIONS];
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: kubelet-sim --kubelet-dir DIR [--wait-resources N] [--prefer RES=SIZE]...\n"
               "                   [--allocate RES=ID,ID]... [--restart] [--timeout SECONDS]\n"
               "                   [--watch-until FILE]\n"
               "--watch-until: after the other actions, print every further device list\n"
               "until FILE exists (fails after --timeout seconds)\n");
}

static int
parse_int(const char *s, int min, int *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > 1000000)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

static int
parse_cli(int argc, char **argv, struct cli *c)
{
    static const struct option opts[] = {
        {"kubelet-dir", required_argument, NULL, 'd'}, {"wait-resources", required_argument, NULL, 'n'},
        {"prefer", required_argument, NULL, 'p'},      {"allocate", required_argument, NULL, 'a'},
        {"restart", no_argument, NULL, 'r'},           {"timeout", required_argument, NULL, 't'},
        {"watch-until", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;

    *c = (struct cli){.want_resources = 1, .timeout_s = 30};
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd': c->dir = optarg; break;
        case 'n': if (parse_int(optarg, 1, &c->want_resources) < 0) return -EINVAL; break;
        case 't': if (parse_int(optarg, 1, &c->timeout_s) < 0) return -EINVAL; break;
        case 'r': c->restart = true; break;
        case 'w': c->watch_until = optarg; break;
        case 'p':
            if (c->n_prefer == MAX_ACTIONS || !strchr(optarg, '=')) return -EINVAL;
            c->prefer[c->n_prefer++] = optarg;
            break;
        case 'a':
            if (c->n_alloc == MAX_ACTIONS || !strchr(optarg, '=')) return -EINVAL;
            c->alloc[c->n_alloc++] = optarg;
            break;
        case 'h': return 1;
        default: return -EINVAL;
        }
    }
    return c->dir && optind == argc ? 0 : -EINVAL;
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until n resources are registered; returns their names or NULL. */
static char **
wait_resources(struct ksim *sim, int n, int timeout_ms, int *ret_n)
{
    long end = now_ms() + timeout_ms;
    char **names = NULL;
    int got;

    for (;;) {
        got = ksim_registered(sim, &names);
        if (got < 0)
            return NULL;
        if (got >= n || now_ms() >= end)
            break;
        for (int i = 0; i < got; i++)
            free(names[i]);
        free(names);
        names = NULL;
        /* Any registration wakes the wait; the name is irrelevant. */
        ksim_wait_registrations(sim, "\x01none", 1, 100);
    }
    *ret_n = got;
    return names;
}

static void
print_registration(struct ksim *sim, const char *res)
{
    bool pre_start = false, preferred = false;
    char *endpoint = ksim_endpoint(sim, res);

    ksim_options(sim, res, &pre_start, &preferred);
    printf("registered %s endpoint=%s preferred_allocation=%s pre_start=%s\n", res,
           endpoint ? endpoint : "?", preferred ? "yes" : "no", pre_start ? "yes" : "no");
    free(endpoint);
}

static void
print_devices(const char *res, const V1beta1__ListAndWatchResponse *list)
{
    printf("%s: %zu device(s)\n", res, list->n_devices);
    for (size_t i = 0; i < list->n_devices; i++) {
        V1beta1__Device *d = list->devices[i];

        printf("  %-14s %-9s numa=", d->id, d->health);
        if (!d->topology || d->topology->n_nodes == 0)
            printf("-");
        for (size_t j = 0; d->topology && j < d->topology->n_nodes; j++)
            printf("%s%lld", j ? "," : "", (long long)d->topology->nodes[j]->id);
        printf("\n");
    }
}

/* Print the first list of res; returns 0 or -errno. */
static int
print_list(struct ksim *sim, const char *res, int timeout_ms)
{
    V1beta1__ListAndWatchResponse *list;
    int r = ksim_wait_lists(sim, res, 1, timeout_ms);

    if (r == 0)
        r = ksim_last_list(sim, res, &list, NULL);
    if (r < 0) {
        printf("%s: no device list (%s)\n", res, strerror(-r));
        return r;
    }
    print_devices(res, list);
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return 0;
}

/* Print each list of res newer than *seen; updates *seen. */
static int
print_new_list(struct ksim *sim, const char *res, size_t *seen)
{
    V1beta1__ListAndWatchResponse *list;
    size_t count;
    int r = ksim_last_list(sim, res, &list, &count);

    if (r == -ENODATA)
        return 0;
    if (r < 0)
        return r;
    if (count > *seen) {
        printf("list %zu ", count);
        print_devices(res, list);
    }
    *seen = count;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return 0;
}

/* Follow the device lists of names[0..n) until stop_file exists. */
static int
watch_lists(struct ksim *sim, char **names, int n, const char *stop_file, int timeout_ms)
{
    long end = now_ms() + timeout_ms;
    size_t *seen = calloc((size_t)n + 1, sizeof(*seen));
    int r = 0;

    if (!seen)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        V1beta1__ListAndWatchResponse *list;

        if (ksim_last_list(sim, names[i], &list, &seen[i]) == 0)
            protobuf_c_message_free_unpacked(&list->base, NULL);
    }
    printf("watching %d resource(s) until %s exists\n", n, stop_file);
    while (r == 0 && access(stop_file, F_OK) != 0) {
        if (now_ms() >= end) {
            printf("watch: %s did not appear in time\n", stop_file);
            r = -ETIMEDOUT;
            break;
        }
        for (int i = 0; i < n && r == 0; i++) {
            ksim_wait_lists(sim, names[i], seen[i] + 1, n > 1 ? 20 : 100);
            r = print_new_list(sim, names[i], &seen[i]);
        }
    }
    free(seen);
    return r;
}

static const char *
status_name(grpc_status_code s)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};

    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* Split "RES=VALUE" in place; returns VALUE. */
static char *
split_eq(char *arg)
{
    char *eq = strchr(arg, '=');

    *eq = '\0';
    return eq + 1;
}

static int
do_prefer(struct ksim *sim, char *arg)
{
    V1beta1__PreferredAllocationResponse *resp = NULL;
    V1beta1__ListAndWatchResponse *list;
    const char *res = arg, **avail;
    char *val = split_eq(arg), *msg = NULL;
    grpc_status_code status;
    int size, r;

    if (parse_int(val, 1, &size) < 0 || ksim_last_list(sim, res, &list, NULL) < 0) {
        printf("preferred %s: bad size or no device list\n", res);
        return -EINVAL;
    }
    avail = calloc(list->n_devices + 1, sizeof(*avail));
    for (size_t i = 0; avail && i < list->n_devices; i++)
        avail[i] = list->devices[i]->id;
    r = avail ? ksim_preferred(sim, res, avail, list->n_devices, NULL, 0, size, &resp, &status,
                               &msg)
              : -ENOMEM;
    free(avail);
    protobuf_c_message_free_unpacked(&list->base, NULL);
    if (r < 0) {
        printf("preferred %s x%d: %s\n", res, size, strerror(-r));
        return r;
    }
    if (status != GRPC_STATUS_OK) {
        printf("preferred %s x%d: error %s: %s\n", res, size, status_name(status), msg);
        free(msg);
        return -EIO;
    }
    printf("preferred %s x%d:", res, size);
    for (size_t i = 0; resp->n_container_responses > 0 &&
                       i < resp->container_responses[0]->n_deviceids; i++)
        printf(" %s", resp->container_responses[0]->deviceids[i]);
    printf("\n");
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    return 0;
}

static void
print_container_response(const V1beta1__ContainerAllocateResponse *c)
{
    for (size_t i = 0; i < c->n_devices; i++)
        printf("  device %s -> %s (%s)\n", c->devices[i]->host_path, c->devices[i]->container_path,
               c->devices[i]->permissions);
    for (size_t i = 0; i < c->n_mounts; i++)
        printf("  mount %s -> %s%s\n", c->mounts[i]->host_path, c->mounts[i]->container_path,
               c->mounts[i]->read_only ? " (ro)" : "");
    for (size_t i = 0; i < c->n_cdi_devices; i++)
        printf("  cdi %s\n", c->cdi_devices[i]->name);
    for (size_t i = 0; i < c->n_envs; i++)
        printf("  env %s=%s\n", c->envs[i]->key, c->envs[i]->value);
    for (size_t i = 0; i < c->n_annotations; i++)
        printf("  annotation %s=%s\n", c->annotations[i]->key, c->annotations[i]->value);
}

static int
do_allocate(struct ksim *sim, char *arg)
{
    V1beta1__AllocateResponse *resp = NULL;
    const char *res = arg, *ids[64];
    char *val = split_eq(arg), *msg = NULL, *save = NULL;
    grpc_status_code status;
    size_t n = 0;
    int r;

    for (char *tok = strtok_r(val, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save))
        ids[n++] = tok;
    r = ksim_allocate(sim, res, ids, n, &resp, &status, &msg);
    if (r < 0) {
        printf("allocate %s: %s\n", res, strerror(-r));
        return r;
    }
    if (status != GRPC_STATUS_OK) {
        printf("allocate %s: error %s: %s\n", res, status_name(status), msg);
        free(msg);
        return -EIO;
    }
    printf("allocate %s:", res);
    for (size_t i = 0; i < n; i++)
        printf(" %s", ids[i]);
    printf("\n");
    for (size_t i = 0; i < resp->n_container_responses; i++)
        print_container_response(resp->container_responses[i]);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    return 0;
}

/* Register, list, then the requested actions; returns 0 if all worked. */
static int
run(struct ksim *sim, struct cli *c)
{
    int timeout_ms = c->timeout_s * 1000, n = 0, failed = 0;
    char **names = wait_resources(sim, c->want_resources, timeout_ms, &n);

    if (!names)
        return -ENOMEM;
    if (n < c->want_resources) {
        printf("timeout: %d of %d resource(s) registered\n", n, c->want_resources);
        failed++;
    }
    for (int i = 0; i < n; i++) {
        print_registration(sim, names[i]);
        failed += print_list(sim, names[i], timeout_ms) < 0;
    }
    for (size_t i = 0; i < c->n_prefer; i++)
        failed += do_prefer(sim, c->prefer[i]) < 0;
    for (size_t i = 0; i < c->n_alloc; i++)
        failed += do_allocate(sim, c->alloc[i]) < 0;
    if (c->restart && n > 0) {
        long start = now_ms();

        printf("restarting kubelet (all sockets deleted)\n");
        failed += ksim_restart(sim) < 0;
        for (int i = 0; i < n; i++) {
            if (ksim_wait_registered(sim, names[i], timeout_ms) < 0) {
                printf("%s: not registered again\n", names[i]);
                failed++;
                continue;
            }
            printf("re-registered %s after %ld ms\n", names[i], now_ms() - start);
            failed += print_list(sim, names[i], timeout_ms) < 0;
        }
    }
    if (c->watch_until)
        failed += watch_lists(sim, names, n, c->watch_until, timeout_ms) < 0;
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return failed ? -EIO : 0;
}

int
main(int argc, char **argv)
{
    struct ksim *sim;
    struct cli c;
    int r;

    r = parse_cli(argc, argv, &c);
    if (r != 0) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    r = ksim_start(c.dir, &sim);
    if (r < 0) {
        fprintf(stderr, "kubelet-sim: cannot serve %s/kubelet.sock: %s\n", c.dir, strerror(-r));
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("kubelet: listening on %s/kubelet.sock\n", c.dir);
    fflush(stdout);
    r = run(sim, &c);
    ksim_stop(sim);
    return r < 0 ? 1 : 0;
}
