#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test/support/live_host.h"
#include "test/support/suite.h"
#include "topology/host/host.h"

/* The incremental scan equals a full scan: on a private copy of a fixture,
 * seeded random sequences of events (unbind, bind, hot-unplug, replug,
 * hot-add), each followed by topo_scan_update() on the previous result
 * (named functions only) and by topo_scan(); the two hosts must agree in
 * every field but the warnings. The update chains on its own results, so
 * drift would accumulate and show. */

#define STEPS 120

static bool
str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* First difference between two functions, or NULL. */
static const char *
function_diff(const struct topo_function *a, const struct topo_function *b)
{
    if (strcmp(a->bdf, b->bdf) != 0)
        return "bdf";
    if (a->vendor != b->vendor || a->device != b->device || a->class_code != b->class_code ||
        a->kind != b->kind || a->family != b->family)
        return "ids/class/kind";
    if (!str_eq(a->model, b->model))
        return "model";
    if (!str_eq(a->driver, b->driver) || a->vfio != b->vfio)
        return "driver";
    if (a->iommu_group != b->iommu_group)
        return "iommu_group";
    if (a->vfio_cdev != b->vfio_cdev || a->cdev_node != b->cdev_node)
        return "cdev";
    if (a->numa_node != b->numa_node)
        return "numa_node";
    if (a->is_vf != b->is_vf || a->physfn != b->physfn)
        return "physfn";
    if (a->parent != b->parent || a->root_port != b->root_port ||
        !str_eq(a->host_bridge, b->host_bridge))
        return "pcie path";
    if (a->reported != b->reported)
        return "reported";
    return NULL;
}

static const char *
group_diff(const struct topo_group *a, const struct topo_group *b)
{
    if (a->id != b->id || a->dev_node != b->dev_node)
        return "group id/dev node";
    if (a->n_members != b->n_members ||
        (a->n_members && memcmp(a->members, b->members, a->n_members * sizeof(size_t)) != 0))
        return "group members";
    if (a->viable != b->viable || !str_eq(a->not_viable, b->not_viable))
        return "group viability";
    return NULL;
}

/* Compare hosts; print the first difference. true when equal. */
static bool
host_equal(const struct topo_host *a, const struct topo_host *b, const char *step)
{
    const char *d = NULL;
    size_t i = 0;

    if (a->n_functions != b->n_functions || a->n_groups != b->n_groups)
        d = "counts";
    for (; !d && i < a->n_functions; i++)
        d = function_diff(&a->functions[i], &b->functions[i]);
    for (size_t g = 0; !d && g < a->n_groups; g++)
        d = group_diff(&a->groups[g], &b->groups[g]);
    if (!d && (a->dev_iommu != b->dev_iommu || a->dev_vfio != b->dev_vfio ||
               a->iommufd != b->iommufd || a->n_numa_nodes != b->n_numa_nodes))
        d = "host flags";
    if (d)
        fprintf(stderr, "\n%s: incremental differs from full scan: %s (function %zu %s)\n", step,
                d, i ? i - 1 : 0, i && i <= a->n_functions ? a->functions[i - 1].bdf : "-");
    return d == NULL;
}

struct event_pool {
    char bdf[256][TOPO_BDF_LEN + 1]; /* functions events may name */
    bool leaf[256];                  /* no function hangs below it */
    bool bridge[256];
    size_t n;
};

static void
pool_from(const struct topo_host *h, struct event_pool *p)
{
    p->n = 0;
    for (size_t i = 0; i < h->n_functions && p->n < 256; i++) {
        bool parent = false;

        for (size_t j = 0; j < h->n_functions; j++)
            parent |= h->functions[j].parent == (int)i;
        memcpy(p->bdf[p->n], h->functions[i].bdf, TOPO_BDF_LEN + 1);
        p->leaf[p->n] = !parent && h->functions[i].kind != TOPO_KIND_BRIDGE;
        p->bridge[p->n] = h->functions[i].kind == TOPO_KIND_BRIDGE;
        p->n++;
    }
}

/* One random event; the function it names in *ret_bdf. 0 or -errno. */
static int
random_event(struct live_host *lh, const struct event_pool *p, bool *present, unsigned *seed,
             int *added, char *ret_bdf)
{
    size_t k;
    int what, r;

    if (p->n == 0)
        return -EINVAL;
    k = (size_t)rand_r(seed) % p->n;
    what = rand_r(seed) % 8;

    memcpy(ret_bdf, p->bdf[k], TOPO_BDF_LEN + 1);
    if (what == 7 && *added < 4) { /* hot-add a clone of a leaf on its bus */
        snprintf(ret_bdf, TOPO_BDF_LEN + 1, "%.10s.%d", p->bdf[k], 4 + *added);
        if (!p->leaf[k] || !present[k])
            return 0;
        (*added)++;
        r = live_host_add_function(lh, p->bdf[k], ret_bdf, 900 + *added, 900 + *added);
        return r == -ENOENT || r == -EEXIST ? 0 : r; /* no driver to clone, or taken */
    }
    if (what >= 5 && p->leaf[k]) { /* unplug or replug */
        present[k] = !present[k];
        return live_host_set_present(lh, p->bdf[k], present[k]);
    }
    if (p->bridge[k] || !present[k])
        return 0;
    r = live_host_set_bound(lh, p->bdf[k], rand_r(seed) % 2);
    return r == -ENOENT ? 0 : r; /* a function that never had a driver */
}

static void
run_sequence(const char *fixture, unsigned seed)
{
    struct live_host lh;
    struct topo_scan_options o = {0};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *prev = NULL, *inc = NULL, *full = NULL;
    struct event_pool pool;
    bool present[256];
    int added = 0;

    CU_ASSERT_EQUAL_FATAL(live_host_init(&lh, fixture), 0);
    o.sysfs_root = lh.sysfs;
    o.dev_root = lh.dev;
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &prev, &err), 0);
    pool_from(prev, &pool);
    for (size_t i = 0; i < pool.n; i++)
        present[i] = true;
    for (int step = 0; step < STEPS; step++) {
        char bdf[TOPO_BDF_LEN + 1], what[128];
        const char *names[1] = {bdf};

        int r = random_event(&lh, &pool, present, &seed, &added, bdf);

        if (r < 0)
            fprintf(stderr, "\n%s seed %u step %d: event on %s: %s\n", fixture, seed, step, bdf,
                    strerror(-r));
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_EQUAL_FATAL(topo_scan_update(&o, prev, names, 1, &inc, &err), 0);
        CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &full, &err), 0);
        snprintf(what, sizeof(what), "%s seed %u step %d (%s)", fixture, seed, step, bdf);
        CU_ASSERT_TRUE(host_equal(inc, full, what));
        topo_host_free(full);
        topo_host_free(prev);
        prev = inc;
    }
    topo_host_free(prev);
    live_host_fini(&lh);
}

static void
test_h100(void)
{
    for (unsigned seed = 1; seed <= 3; seed++)
        run_sequence("hgx-h100-iommufd", seed);
}

static void
test_shared_groups(void)
{
    run_sequence("acs-off", 11);
    run_sequence("hgx-h200-legacy", 12);
}

static void
test_sriov_mixed(void)
{
    run_sequence("rtx-pro-6000-sriov", 21);
    run_sequence("mixed", 22);
}

/* Nothing named, nothing changed: the update reads no function and
 * still equals the full scan (and a changed tree it was not told of
 * stays as it was: the update is only as good as its events). */
static void
test_no_event(void)
{
    struct live_host lh;
    struct topo_scan_options o = {0};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *prev = NULL, *inc = NULL, *full = NULL;
    int i;

    CU_ASSERT_EQUAL_FATAL(live_host_init(&lh, "hgx-h100-iommufd"), 0);
    o.sysfs_root = lh.sysfs;
    o.dev_root = lh.dev;
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &prev, &err), 0);
    CU_ASSERT_EQUAL_FATAL(topo_scan_update(&o, prev, NULL, 0, &inc, &err), 0);
    CU_ASSERT_EQUAL_FATAL(topo_scan(&o, &full, &err), 0);
    CU_ASSERT_TRUE(host_equal(inc, full, "no event"));
    topo_host_free(inc);
    CU_ASSERT_EQUAL(live_host_set_bound(&lh, "0000:18:00.0", false), 0);
    CU_ASSERT_EQUAL_FATAL(topo_scan_update(&o, prev, NULL, 0, &inc, &err), 0);
    i = topo_host_find(inc, "0000:18:00.0");
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_STRING_EQUAL(inc->functions[i].driver, "vfio-pci");
    topo_host_free(inc);
    topo_host_free(full);
    topo_host_free(prev);
    live_host_fini(&lh);
}

TEST_SUITE(topo_scan_update, NULL, NULL, {"random events, hgx-h100-iommufd", test_h100},
           {"random events, shared groups", test_shared_groups},
           {"random events, SR-IOV and mixed", test_sriov_mixed},
           {"no event, no re-read", test_no_event})
