#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "test/support/alloc_fixture.h"

#define MAX_IDS 128

int
alloc_fixture_open(struct alloc_fixture *fx, const char *name, enum inv_mode mode,
                   const char *gpu_alias, const char *nvswitch_alias)
{
    const char *base = getenv("KGDP_FIXTURES");
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_scan_options o = {.iommu = TOPO_IOMMU_AUTO};
    struct inv_policy p = {.mode = mode, .domain = "nvidia.com", .gpu_alias = gpu_alias,
                           .nvswitch_alias = nvswitch_alias};
    int r;

    memset(fx, 0, sizeof(*fx));
    CU_ASSERT_PTR_NOT_NULL(base);
    if (!base) {
        fprintf(stderr, "KGDP_FIXTURES is not set (run through `make unit`)\n");
        return -ENOENT;
    }
    if (asprintf(&fx->sys, "%s/%s/sys", base, name) < 0 ||
        asprintf(&fx->dev, "%s/%s/dev", base, name) < 0)
        return -ENOMEM;
    o.sysfs_root = p.sysfs_root = fx->sys;
    o.dev_root = p.dev_root = fx->dev;
    r = topo_scan(&o, &fx->host, &err);
    if (r == 0)
        r = inventory_build(fx->host, &p, &fx->inv, &err);
    if (r < 0)
        fprintf(stderr, "\n%s: %s\n", name, err.msg);
    CU_ASSERT_EQUAL(r, 0);
    return r;
}

void
alloc_fixture_close(struct alloc_fixture *fx)
{
    inventory_unref(fx->inv);
    topo_host_free(fx->host);
    free(fx->sys);
    free(fx->dev);
    memset(fx, 0, sizeof(*fx));
}

const struct inv_resource *
alloc_fixture_res(const struct alloc_fixture *fx, const char *name, size_t *ret_index)
{
    int i = fx->inv ? inventory_find_resource(fx->inv, name) : -ENOENT;

    if (i < 0)
        fprintf(stderr, "\nresource %s not found\n", name);
    CU_ASSERT_FATAL(i >= 0);
    if (ret_index)
        *ret_index = (size_t)i;
    return &fx->inv->resources[i];
}

void
alloc_fixture_ids(const struct inv_resource *res, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < res->n_devices; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
                 res->devices[i].id);
}

size_t
alloc_fixture_split(char *csv, const char **out, size_t max)
{
    char *save = NULL;
    size_t n = 0;

    for (char *t = strtok_r(csv, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        out[n++] = t;
    return n;
}

int
alloc_fixture_preferred(const struct alloc_fixture *fx, const char *name,
                        const char *available, const char *must, size_t size, char *got,
                        size_t got_len, struct topo_error *err)
{
    size_t ri;
    const struct inv_resource *res = alloc_fixture_res(fx, name, &ri);
    char avail_buf[MAX_IDS * (TOPO_BDF_LEN + 1)], must_buf[MAX_IDS * (TOPO_BDF_LEN + 1)];
    const char *av[MAX_IDS], *mu[MAX_IDS];
    size_t n_av, n_mu, n = 0;
    char **ids = NULL;
    int r;

    if (available)
        snprintf(avail_buf, sizeof(avail_buf), "%s", available);
    else
        alloc_fixture_ids(res, avail_buf, sizeof(avail_buf));
    snprintf(must_buf, sizeof(must_buf), "%s", must ? must : "");
    n_av = alloc_fixture_split(avail_buf, av, MAX_IDS);
    n_mu = alloc_fixture_split(must_buf, mu, MAX_IDS);
    got[0] = '\0';
    r = inventory_preferred(fx->inv, ri, av, n_av, mu, n_mu, size, &ids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        snprintf(got + strlen(got), got_len - strlen(got), "%s%s", i ? "," : "", ids[i]);
    if (r == 0)
        inventory_free_strv(ids, n);
    return r;
}

int
alloc_fixture_allocate(const struct alloc_fixture *fx, const char *name, const char *ids,
                       struct inv_allocation *ret, struct topo_error *err)
{
    size_t ri;
    char buf[MAX_IDS * (TOPO_BDF_LEN + 1)];
    const char *v[MAX_IDS];
    size_t n;

    alloc_fixture_res(fx, name, &ri);
    snprintf(buf, sizeof(buf), "%s", ids);
    n = alloc_fixture_split(buf, v, MAX_IDS);
    return inventory_allocate(fx->inv, ri, v, n, ret, err);
}
