#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "topology/base/cleanup.h"

static void
device_clear(struct cdi_device *dev)
{
    for (size_t n = 0; n < dev->n_nodes; n++) {
        free(dev->nodes[n].path);
        free(dev->nodes[n].host_path);
    }
    free(dev->nodes);
    free(dev->name);
    memset(dev, 0, sizeof(*dev));
}

void
cdi_spec_clear(struct cdi_spec *spec)
{
    if (!spec)
        return;
    for (size_t d = 0; d < spec->n_devices; d++)
        device_clear(&spec->devices[d]);
    free(spec->devices);
    free(spec->version);
    free(spec->kind);
    memset(spec, 0, sizeof(*spec));
}

/* strdup that keeps NULL as NULL; false on allocation failure. */
static bool
dup_opt(const char *s, char **ret)
{
    *ret = s ? strdup(s) : NULL;
    return !s || *ret;
}

static int
device_copy(const struct inv_device *src, struct cdi_device *dst)
{
    memset(dst, 0, sizeof(*dst));
    if (!dup_opt(src->id, &dst->name))
        return -ENOMEM;
    if (src->n_nodes == 0)
        return 0;
    dst->nodes = calloc(src->n_nodes, sizeof(*dst->nodes));
    if (!dst->nodes)
        return -ENOMEM;
    for (size_t n = 0; n < src->n_nodes; n++) {
        dst->n_nodes = n + 1;
        if (!dup_opt(src->nodes[n].path, &dst->nodes[n].path) ||
            !dup_opt(src->nodes[n].host_path, &dst->nodes[n].host_path))
            return -ENOMEM;
    }
    return 0;
}

static int
device_cmp(const void *a, const void *b)
{
    const struct cdi_device *da = a, *db = b;

    /* NULL names are refused by validation; order them first meanwhile. */
    if (!da->name || !db->name)
        return (da->name != NULL) - (db->name != NULL);
    return strcmp(da->name, db->name);
}

int
cdi_spec_from_resource(const struct inv_resource *res, struct cdi_spec *ret, struct topo_error *err)
{
    struct cdi_spec spec = {0};
    int r = 0;

    spec.version = strdup(CDI_VERSION);
    if (!spec.version || !dup_opt(res->name, &spec.kind))
        r = -ENOMEM;
    if (r == 0 && res->n_devices > 0) {
        spec.devices = calloc(res->n_devices, sizeof(*spec.devices));
        if (!spec.devices)
            r = -ENOMEM;
    }
    for (size_t d = 0; r == 0 && d < res->n_devices; d++) {
        /* A device without nodes (no VFIO node: unhealthy, never
         * allocated) has nothing to inject, and the CDI library refuses a
         * device with empty edits, which would lose the whole spec. */
        if (res->devices[d].n_nodes == 0)
            continue;
        r = device_copy(&res->devices[d], &spec.devices[spec.n_devices++]);
    }
    if (r < 0) {
        cdi_spec_clear(&spec);
        return topo_error_set(err, r, "CDI spec %s: out of memory", res->name ? res->name : "");
    }
    if (spec.n_devices > 1)
        qsort(spec.devices, spec.n_devices, sizeof(*spec.devices), device_cmp);
    *ret = spec;
    return 0;
}

int
cdi_spec_file_name(const char *kind, char **ret, struct topo_error *err)
{
    const char *slash = kind ? strchr(kind, '/') : NULL;
    char *name = NULL;

    if (!slash || slash == kind || !slash[1])
        return topo_error_set(err, -EINVAL, "invalid kind \"%s\": not vendor/class",
                              kind ? kind : "");
    /* The name must stay one path component. */
    if (strchr(slash + 1, '/'))
        return topo_error_set(err, -EINVAL, "invalid kind \"%s\": more than one '/'", kind);
    if (asprintf(&name, "%s%.*s-%s%s", CDI_FILE_PREFIX, (int)(slash - kind), kind, slash + 1,
                 CDI_FILE_SUFFIX) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    *ret = name;
    return 0;
}
