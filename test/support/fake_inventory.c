#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/fake_inventory.h"
#include "topology/base/cleanup.h"

static const struct inventory_ops fake_ops;

static int
cmp_device(const void *a, const void *b)
{
    return strcmp(((const struct inv_device *)a)->id, ((const struct inv_device *)b)->id);
}

static int
cmp_resource(const void *a, const void *b)
{
    return strcmp(((const struct inv_resource *)a)->name, ((const struct inv_resource *)b)->name);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
parse_numa(const char *s, int *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -1 || v > 1023)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

static int
add_node(struct inv_device *d, const char *path, const char *dev_root)
{
    struct inv_device_node *nodes, *n;

    if (strncmp(path, "/dev/", 5) != 0 || !path[5])
        return -EINVAL;
    nodes = realloc(d->nodes, (d->n_nodes + 1) * sizeof(*nodes));
    if (!nodes)
        return -ENOMEM;
    d->nodes = nodes;
    n = &nodes[d->n_nodes];
    n->path = strdup(path);
    if (asprintf(&n->host_path, "%s%s", dev_root, path + 4) < 0)
        n->host_path = NULL;
    if (!n->path || !n->host_path) {
        free(n->path);
        free(n->host_path);
        return -ENOMEM;
    }
    d->n_nodes++;
    return 0;
}

static int
parse_device(struct inv_resource *res, char **tok, const char *dev_root, struct topo_error *err)
{
    struct inv_device d = {0}, *devs = NULL;
    char *save = NULL;
    int r;

    if (inventory_find_device(res, tok[0]) >= 0)
        return topo_error_set(err, -EINVAL, "duplicate device %s", tok[0]);
    if (strcmp(tok[1], "Healthy") != 0 && strcmp(tok[1], "Unhealthy") != 0)
        return topo_error_set(err, -EINVAL, "health '%s' is not Healthy or Unhealthy", tok[1]);
    d.healthy = strcmp(tok[1], "Healthy") == 0;
    if (parse_numa(tok[2], &d.numa_node) < 0)
        return topo_error_set(err, -EINVAL, "bad NUMA node '%s'", tok[2]);
    d.id = strdup(tok[0]);
    d.reason = d.healthy ? NULL : strdup("marked Unhealthy in the inventory file");
    r = d.id && (d.healthy || d.reason) ? 0 : -ENOMEM;
    for (char *p = strtok_r(tok[3], ",", &save); r == 0 && p; p = strtok_r(NULL, ",", &save))
        if ((r = add_node(&d, p, dev_root)) == -EINVAL)
            topo_error_set(err, r, "node path '%s' does not start with /dev/", p);
    if (r == 0 && d.n_nodes == 0)
        r = topo_error_set(err, -EINVAL, "device %s has no node path", tok[0]);
    if (r == 0 && !(devs = realloc(res->devices, (res->n_devices + 1) * sizeof(*devs))))
        r = -ENOMEM;
    if (r < 0) {
        inventory_device_clear(&d);
        return r == -ENOMEM ? topo_error_set(err, r, "out of memory") : r;
    }
    res->devices = devs;
    res->devices[res->n_devices++] = d;
    return 0;
}

static int
parse_resource(struct inventory *inv, char **tok, struct topo_error *err)
{
    struct inv_resource *res;

    if (inventory_find_resource(inv, tok[0]) >= 0)
        return topo_error_set(err, -EINVAL, "duplicate resource %s", tok[0]);
    res = realloc(inv->resources, (inv->n_resources + 1) * sizeof(*res));
    if (!res)
        return topo_error_set(err, -ENOMEM, "out of memory");
    inv->resources = res;
    res = &inv->resources[inv->n_resources];
    memset(res, 0, sizeof(*res));
    res->name = strdup(tok[0]);
    inv->n_resources++;
    if (!res->name)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* Split line into at most max tokens; returns the count, or max + 1 when
 * there are more. */
static size_t
tokenize(char *line, char **tok, size_t max)
{
    char *save = NULL;
    size_t n = 0;

    for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
        if (n == max)
            return max + 1;
        tok[n++] = t;
    }
    return n;
}

static int
parse_line(struct inventory *inv, char *line, const char *dev_root, struct topo_error *err)
{
    char *tok[6];
    size_t n;
    char *hash = strchr(line, '#');

    if (hash)
        *hash = '\0';
    n = tokenize(line, tok, 5);
    if (n == 0)
        return 0;
    if (strcmp(tok[0], "resource") == 0) {
        if (n != 2)
            return topo_error_set(err, -EINVAL, "expected: resource <name>");
        return parse_resource(inv, tok + 1, err);
    }
    if (strcmp(tok[0], "device") == 0) {
        if (n != 5)
            return topo_error_set(err, -EINVAL,
                                  "expected: device <id> <Healthy|Unhealthy> <numa> <paths>");
        if (inv->n_resources == 0)
            return topo_error_set(err, -EINVAL, "device before any resource");
        return parse_device(&inv->resources[inv->n_resources - 1], tok + 1, dev_root, err);
    }
    return topo_error_set(err, -EINVAL, "unknown directive '%s'", tok[0]);
}

int
fake_inventory_parse(const char *text, const char *dev_root, struct inventory **ret,
                     struct topo_error *err)
{
    _cleanup_free_ char *copy = strdup(text);
    struct inventory *inv = inventory_new(&fake_ops, NULL);
    unsigned lineno = 0;
    int r = 0;

    if (!copy || !inv) {
        inventory_unref(inv);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    /* strsep keeps empty lines so line numbers stay right. */
    for (char *p = copy, *line; r == 0 && (line = strsep(&p, "\n"));) {
        lineno++;
        r = parse_line(inv, line, dev_root, err);
    }
    if (r < 0) {
        inventory_unref(inv);
        return topo_error_prefix(err, r, "line %u", lineno);
    }
    for (size_t i = 0; i < inv->n_resources; i++)
        qsort(inv->resources[i].devices, inv->resources[i].n_devices, sizeof(struct inv_device),
              cmp_device);
    qsort(inv->resources, inv->n_resources, sizeof(struct inv_resource), cmp_resource);
    *ret = inv;
    return 0;
}

int
fake_inventory_load(const char *path, const char *dev_root, struct inventory **ret,
                    struct topo_error *err)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r;

    if (!f)
        return topo_error_set(err, -errno, "open %s: %s", path, strerror(errno));
    text = calloc(1, 1 << 20);
    if (!text)
        return topo_error_set(err, -ENOMEM, "out of memory");
    len = fread(text, 1, (1 << 20) - 1, f);
    if (ferror(f))
        return topo_error_set(err, -EIO, "read %s", path);
    if (len == (1 << 20) - 1)
        return topo_error_set(err, -EFBIG, "%s: larger than 1 MiB", path);
    r = fake_inventory_parse(text, dev_root, ret, err);
    return r < 0 ? topo_error_prefix(err, r, "%s", path) : 0;
}

int
fake_inventory_loader(const struct plugin_options *o, void *ctx,
                      const struct inventory *previous, const char *const *changed,
                      size_t n_changed, struct inventory **ret, struct topo_error *err)
{
    (void)previous;
    (void)changed;
    (void)n_changed;
    const char *path = getenv("KGDP_FAKE_INVENTORY");

    (void)ctx;
    if (!path || !*path)
        return topo_error_set(err, -ENOENT, "KGDP_FAKE_INVENTORY is not set");
    return fake_inventory_load(path, o->dev_root, ret, err);
}

static int
check_ids(const struct inv_resource *res, const char *const *ids, size_t n, struct topo_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (inventory_find_device(res, ids[i]) < 0)
            return topo_error_set(err, -EINVAL, "unknown device %s for %s", ids[i], res->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                return topo_error_set(err, -EINVAL, "device %s requested twice", ids[i]);
    }
    return 0;
}

static bool
strv_has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static int
fake_preferred(const struct inventory *inv, size_t resource, const char *const *available,
               size_t n_available, const char *const *must, size_t n_must, size_t size,
               char ***ret_ids, size_t *ret_n, struct topo_error *err)
{
    const struct inv_resource *res = &inv->resources[resource];
    _cleanup_free_ const char **rest = calloc(n_available + 1, sizeof(*rest));
    char **out = calloc(size + 1, sizeof(*out));
    size_t n_rest = 0, n = 0;
    int r;

    if (!rest || !out) {
        free(out);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    if ((r = check_ids(res, must, n_must, err)) < 0 ||
        (r = check_ids(res, available, n_available, err)) < 0) {
        free(out);
        return r;
    }
    for (size_t i = 0; i < n_available; i++)
        if (!strv_has(must, n_must, available[i]))
            rest[n_rest++] = available[i];
    qsort(rest, n_rest, sizeof(*rest), cmp_str);
    for (size_t i = 0; i < n_must + n_rest && n < size; i++) {
        out[n] = strdup(i < n_must ? must[i] : rest[i - n_must]);
        if (!out[n]) {
            inventory_free_strv(out, n);
            return topo_error_set(err, -ENOMEM, "out of memory");
        }
        n++;
    }
    *ret_ids = out;
    *ret_n = n;
    return 0;
}

/* Fill a's device IDs (in request order); the nodes are added by the caller. */
static int
fill_ids(const char *const *ids, size_t n_ids, struct inv_allocation *a)
{
    if (!(a->ids = calloc(n_ids + 1, sizeof(char *))))
        return -ENOMEM;
    for (size_t i = 0; i < n_ids; i++, a->n_ids++)
        if (!(a->ids[i] = strdup(ids[i])))
            return -ENOMEM;
    return 0;
}

static int
cmp_node(const void *a, const void *b)
{
    return strcmp(((const struct inv_device_node *)a)->path,
                  ((const struct inv_device_node *)b)->path);
}

static int
add_nodes(const struct inv_device *d, struct inv_allocation *a)
{
    for (size_t i = 0; i < d->n_nodes; i++) {
        struct inv_device_node *nodes, *n;
        bool seen = false;

        for (size_t j = 0; j < a->n_nodes && !seen; j++)
            seen = strcmp(a->nodes[j].path, d->nodes[i].path) == 0;
        if (seen)
            continue;
        nodes = realloc(a->nodes, (a->n_nodes + 1) * sizeof(*nodes));
        if (!nodes)
            return -ENOMEM;
        a->nodes = nodes;
        n = &nodes[a->n_nodes];
        n->path = strdup(d->nodes[i].path);
        n->host_path = strdup(d->nodes[i].host_path);
        a->n_nodes++;
        if (!n->path || !n->host_path)
            return -ENOMEM;
    }
    return 0;
}

static int
fake_allocate(const struct inventory *inv, size_t resource, const char *const *ids, size_t n_ids,
              struct inv_allocation *ret, struct topo_error *err)
{
    const struct inv_resource *res = &inv->resources[resource];
    struct inv_allocation a = {0};
    int r;

    if ((r = check_ids(res, ids, n_ids, err)) < 0)
        return r;
    for (size_t i = 0; i < n_ids; i++) {
        const struct inv_device *d = &res->devices[inventory_find_device(res, ids[i])];

        if (!d->healthy)
            return topo_error_set(err, -ENODEV, "%s is unhealthy: %s", d->id,
                                  d->reason ? d->reason : "unknown reason");
    }
    r = fill_ids(ids, n_ids, &a);
    for (size_t i = 0; r == 0 && i < n_ids; i++)
        r = add_nodes(&res->devices[inventory_find_device(res, ids[i])], &a);
    if (r < 0) {
        inventory_allocation_clear(&a);
        return topo_error_set(err, r, "out of memory");
    }
    qsort(a.nodes, a.n_nodes, sizeof(*a.nodes), cmp_node);
    *ret = a;
    return 0;
}

static const struct inventory_ops fake_ops = {
    .preferred = fake_preferred,
    .allocate = fake_allocate,
    .free_priv = NULL,
};
