#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test/integration/test_health.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"
#include "topology/base/macros.h"

static void
dump_log(const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "re");
    size_t n;

    fprintf(stderr, "\n----- daemon log (%s) -----\n", path);
    if (!f)
        return;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
    fprintf(stderr, "----- end of daemon log -----\n");
}

int
hl_start(struct hl *t, const char *fixture, const char *const *extra_args)
{
    static const char *const resources[] = {HL_PGPU, HL_NVSWITCH};
    int ready_ms = HL_READY_MS * tproc_factor();
    int r;

    memset(t, 0, sizeof(*t));
    t->failures_at_start = CU_get_number_of_failures();
    if ((r = live_host_init(&t->lh, fixture)) < 0 || (r = ksim_start(t->lh.kubelet, &t->sim)) < 0 ||
        (r = live_host_spawn(&t->lh, extra_args)) < 0) {
        fprintf(stderr, "health: setup failed: %s\n", strerror(-r));
        CU_FAIL("setup failed");
        hl_finish(t);
        return r;
    }
    for (size_t i = 0; i < ARRAY_SIZE(resources); i++) {
        r = ksim_wait_registered(t->sim, resources[i], ready_ms);
        if (r == 0)
            r = ksim_wait_lists(t->sim, resources[i], 1, ready_ms);
        if (r < 0) {
            fprintf(stderr, "health: %s not registered/listed: %s\n", resources[i], strerror(-r));
            CU_FAIL("daemon not ready");
            hl_finish(t);
            return r;
        }
    }
    return 0;
}

void
hl_finish(struct hl *t)
{
    int status = 0, r;

    if (t->lh.pid > 0) {
        r = tproc_stop(&t->lh.pid, SIGTERM, 10000 * tproc_factor(), &status);
        CU_ASSERT_EQUAL(r, 0);
        if (r == 0) {
            CU_ASSERT_TRUE(WIFEXITED(status));
            CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr, "daemon wait status 0x%x (exit 99: valgrind errors)\n", status);
        }
    }
    ksim_stop(t->sim);
    t->sim = NULL;
    if (t->lh.log && CU_get_number_of_failures() != t->failures_at_start)
        dump_log(t->lh.log);
    live_host_fini(&t->lh);
}

int
hl_health(struct hl *t, const char *resource, const char *id, size_t *ret_count)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    int r = ksim_last_list(t->sim, resource, &list, ret_count);

    if (r < 0)
        return -ENOENT;
    r = -ENOENT;
    for (size_t i = 0; i < list->n_devices; i++)
        if (strcmp(list->devices[i]->id, id) == 0)
            r = strcmp(list->devices[i]->health, "Healthy") == 0;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return r;
}

int
hl_count(struct hl *t, const char *resource)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    int r = ksim_last_list(t->sim, resource, &list, NULL);

    if (r < 0)
        return r;
    r = (int)list->n_devices;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return r;
}

static const char *
health_name(int h)
{
    return h == 1 ? "Healthy" : h == 0 ? "Unhealthy" : "not listed";
}

long
hl_wait_health(struct hl *t, const char *resource, const char *id, int want, int timeout_ms)
{
    long start = tproc_now_ms(), end = start + timeout_ms;
    int h;

    for (;;) {
        size_t count = 0;

        h = hl_health(t, resource, id, &count);
        if (h == want)
            return tproc_now_ms() - start;
        if (tproc_now_ms() >= end)
            break;
        /* Wake on the next list (or poll again after a short while). */
        ksim_wait_lists(t->sim, resource, count + 1, 20);
    }
    fprintf(stderr, "%s %s: still %s after %d ms, want %s\n", resource, id, health_name(h),
            timeout_ms, health_name(want));
    return -ETIMEDOUT;
}

int
hl_sighup(struct hl *t)
{
    return kill(t->lh.pid, SIGHUP) < 0 ? -errno : 0;
}

/* Compare one list with the expected resource. */
static int
list_matches(const V1beta1__ListAndWatchResponse *list, const struct inv_resource *want)
{
    if (list->n_devices != want->n_devices) {
        fprintf(stderr, "%s: %zu device(s) listed, host has %zu\n", want->name, list->n_devices,
                want->n_devices);
        return -EINVAL;
    }
    for (size_t i = 0; i < list->n_devices; i++) {
        const V1beta1__Device *d = list->devices[i];
        int k = inventory_find_device(want, d->id);
        const struct inv_device *w = k >= 0 ? &want->devices[k] : NULL;
        int numa = d->topology && d->topology->n_nodes == 1 ? (int)d->topology->nodes[0]->id : -1;

        if (!w || strcmp(d->health, w->healthy ? "Healthy" : "Unhealthy") != 0 ||
            numa != w->numa_node) {
            fprintf(stderr, "%s: listed %s %s numa %d; host: %s\n", want->name, d->id, d->health,
                    numa, w ? (w->healthy ? "Healthy" : w->reason) : "absent");
            return -EINVAL;
        }
    }
    return 0;
}

int
hl_lists_match_host(struct hl *t)
{
    struct topo_scan_options so = {.sysfs_root = t->lh.sysfs, .dev_root = t->lh.dev,
                                   .iommu = TOPO_IOMMU_AUTO};
    struct inv_policy policy = {.mode = INV_MODE_PASSTHROUGH, .domain = "nvidia.com",
                                .gpu_alias = "pgpu", .nvswitch_alias = "nvswitch",
                                .sysfs_root = t->lh.sysfs, .dev_root = t->lh.dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    struct inventory *inv = NULL;
    int r = topo_scan(&so, &host, &err);

    if (r == 0)
        r = inventory_build(host, &policy, &inv, &err);
    topo_host_free(host);
    if (r < 0) {
        fprintf(stderr, "health: scan of %s: %s\n", t->lh.sysfs, err.msg);
        return r;
    }
    for (size_t i = 0; i < inv->n_resources && r == 0; i++) {
        V1beta1__ListAndWatchResponse *list = NULL;

        if (ksim_last_list(t->sim, inv->resources[i].name, &list, NULL) < 0) {
            fprintf(stderr, "health: no list for %s\n", inv->resources[i].name);
            r = -EINVAL;
            break;
        }
        r = list_matches(list, &inv->resources[i]);
        protobuf_c_message_free_unpacked(&list->base, NULL);
    }
    inventory_unref(inv);
    return r;
}
