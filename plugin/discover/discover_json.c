#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "plugin/discover/discover.h"
#include "topology/base/cleanup_json.h"

/* json-c objects: json_object_object_add takes ownership of the value even
 * when it is NULL (a JSON null), so a NULL from a failed constructor would
 * silently become null; every constructor result is checked instead. */

/* Add key -> child (owned); child NULL means JSON null on purpose. */
static int
add(struct json_object *parent, const char *key, struct json_object *child)
{
    if (json_object_object_add(parent, key, child) < 0) {
        json_object_put(child);
        return -ENOMEM;
    }
    return 0;
}

/* Add a string, or null when s is NULL. */
static int
add_str(struct json_object *obj, const char *key, const char *s)
{
    struct json_object *v = NULL;

    if (s && !(v = json_object_new_string(s)))
        return -ENOMEM;
    return add(obj, key, v);
}

/* PCI IDs as the lower-case hex strings of sysfs without "0x": "10de". */
static int
add_id(struct json_object *obj, const char *key, uint16_t value)
{
    char buf[8];

    snprintf(buf, sizeof(buf), "%04x", (unsigned)value);
    return add_str(obj, key, buf);
}

/* The class as sysfs writes it: "0x030200". */
static int
add_class(struct json_object *obj, uint32_t value)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "0x%06x", (unsigned)(value & 0xffffffu));
    return add_str(obj, "class", buf);
}

static int
add_int_or_null(struct json_object *obj, const char *key, int v)
{
    struct json_object *o = NULL;

    if (v >= 0 && !(o = json_object_new_int(v)))
        return -ENOMEM;
    return add(obj, key, o);
}

static int
add_bool(struct json_object *obj, const char *key, bool b)
{
    struct json_object *o = json_object_new_boolean(b);

    return o ? add(obj, key, o) : -ENOMEM;
}

static const char *
bdf_at(const struct topo_host *host, int index)
{
    return index >= 0 && (size_t)index < host->n_functions ? host->functions[index].bdf : NULL;
}

static int
add_assignable(struct json_object *obj, const struct topo_host *host, size_t i)
{
    char reason[256] = "";
    bool ok = false;
    int r = 0;

    if (host->functions[i].kind == TOPO_KIND_COMPANION) {
        int gpu = discover_companion_of(host, i);

        snprintf(reason, sizeof(reason), "companion function: assigned with %s",
                 gpu >= 0 ? host->functions[gpu].bdf : "no GPU of its IOMMU group");
        r |= add_str(obj, "companionOf", bdf_at(host, gpu));
    } else {
        ok = topo_assignable(host, i, reason, sizeof(reason));
        r |= add_str(obj, "companionOf", NULL);
    }
    r |= add_bool(obj, "assignable", ok);
    r |= add_str(obj, "reason", ok ? NULL : reason[0] ? reason : "not assignable");
    return r ? -ENOMEM : 0;
}

static int
add_count(struct json_object *obj, const char *key, bool known, int64_t v)
{
    return add(obj, key, known ? json_object_new_int64(v) : NULL);
}

static int
add_speed(struct json_object *obj, const char *key, int tenths)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%d.%d GT/s", tenths / 10, tenths % 10);
    return add_str(obj, key, tenths ? buf : NULL);
}

/* "pcie": the PCIe layer of a GPU/NVSwitch PF (null for other functions);
 * unknown facts are null. */
static int
add_pcie(struct json_object *obj, const struct topo_function *f)
{
    const struct topo_pcie *p = &f->pcie;
    struct json_object *o;
    int r = 0;

    if ((f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH) || f->is_vf)
        return add(obj, "pcie", NULL);
    if (!(o = json_object_new_object()) || add(obj, "pcie", o) < 0)
        return -ENOMEM;
    r |= add_count(o, "aerFatal", p->aer_fatal_known, p->aer_fatal);
    r |= add_count(o, "aerNonfatal", p->aer_nonfatal_known, p->aer_nonfatal);
    r |= add_str(o, "powerState", p->power ? topo_power_name(p->power) : NULL);
    r |= add_str(o, "resetMethod", p->reset == TOPO_RESET_SOME  ? p->reset_method
                                   : p->reset == TOPO_RESET_NONE ? ""
                                                                 : NULL);
    r |= add_speed(o, "linkSpeed", p->link_speed);
    r |= add_int_or_null(o, "linkWidth", p->link_width ? p->link_width : -1);
    r |= add_speed(o, "maxLinkSpeed", p->link_max_speed);
    r |= add_int_or_null(o, "maxLinkWidth", p->link_max_width ? p->link_max_width : -1);
    r |= add_bool(o, "linkDegraded", topo_pcie_link_degraded(p));
    r |= add_str(o, "configSpace", p->config == TOPO_CONFIG_ALL_ONES ? "all-ones"
                                   : p->config == TOPO_CONFIG_OK      ? "ok"
                                                                      : NULL);
    return r ? -ENOMEM : 0;
}

static struct json_object *
function_json(const struct topo_host *host, size_t i)
{
    const struct topo_function *f = &host->functions[i];
    struct json_object *o = json_object_new_object();
    int r = 0;

    if (!o)
        return NULL;
    r |= add_str(o, "bdf", f->bdf);
    r |= add_str(o, "kind", discover_kind_name(f->kind));
    r |= add_id(o, "vendor", f->vendor);
    r |= add_id(o, "device", f->device);
    r |= add_class(o, f->class_code);
    r |= add_str(o, "model", f->model);
    r |= add_str(o, "family", discover_family_name(f->family));
    r |= add_str(o, "driver", f->driver);
    r |= add_bool(o, "vfio", f->vfio);
    r |= add_int_or_null(o, "iommuGroup", f->iommu_group);
    r |= add_int_or_null(o, "vfioCdev", f->vfio_cdev);
    r |= add_bool(o, "vfioCdevNode", f->cdev_node);
    r |= add_int_or_null(o, "numaNode", f->numa_node);
    r |= add_bool(o, "isVf", f->is_vf);
    r |= add_str(o, "physfn", f->is_vf ? bdf_at(host, f->physfn) : NULL);
    r |= add_str(o, "parent", bdf_at(host, f->parent));
    r |= add_str(o, "rootPort", bdf_at(host, f->root_port));
    r |= add_str(o, "hostBridge", f->host_bridge);
    r |= add_assignable(o, host, i);
    r |= add_pcie(o, f);
    if (r) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int
functions_json(const struct topo_host *host, struct json_object *root)
{
    struct json_object *arr = json_object_new_array();

    if (!arr || add(root, "functions", arr) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < host->n_functions; i++) {
        struct json_object *f;

        if (!discover_is_nvidia(&host->functions[i]))
            continue;
        if (!(f = function_json(host, i)) || json_object_array_add(arr, f) < 0) {
            json_object_put(f);
            return -ENOMEM;
        }
    }
    return 0;
}

static struct json_object *
group_json(const struct topo_host *host, const struct topo_group *g)
{
    struct json_object *o = json_object_new_object();
    struct json_object *members = json_object_new_array();
    int r = 0;

    if (!o || !members || add_int_or_null(o, "id", g->id) < 0) {
        json_object_put(o);
        json_object_put(members);
        return NULL;
    }
    r |= add_bool(o, "viable", g->viable);
    r |= add_str(o, "reason", g->viable ? NULL : g->not_viable ? g->not_viable : "not viable");
    r |= add_bool(o, "devNode", g->dev_node);
    r |= add(o, "members", members);
    for (size_t m = 0; r == 0 && m < g->n_members; m++) {
        const char *bdf = bdf_at(host, (int)g->members[m]);
        struct json_object *s = bdf ? json_object_new_string(bdf) : NULL;

        if (!s || json_object_array_add(members, s) < 0) {
            json_object_put(s);
            r = -ENOMEM;
        }
    }
    if (r) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int
groups_json(const struct topo_host *host, struct json_object *root)
{
    struct json_object *arr = json_object_new_array();

    if (!arr || add(root, "groups", arr) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < host->n_groups; i++) {
        struct json_object *g;

        if (!discover_group_has_nvidia(host, &host->groups[i]))
            continue;
        if (!(g = group_json(host, &host->groups[i])) || json_object_array_add(arr, g) < 0) {
            json_object_put(g);
            return -ENOMEM;
        }
    }
    return 0;
}

static int
distances_json(const struct topo_host *host, struct json_object *root)
{
    struct json_object *all = json_object_new_object();

    if (!all || add(root, "distances", all) < 0)
        return -ENOMEM;
    for (size_t a = 0; a < host->n_functions; a++) {
        struct json_object *row;

        if (host->functions[a].kind != TOPO_KIND_GPU)
            continue;
        if (!(row = json_object_new_object()) || add(all, host->functions[a].bdf, row) < 0)
            return -ENOMEM;
        for (size_t b = 0; b < host->n_functions; b++) {
            if (host->functions[b].kind != TOPO_KIND_GPU)
                continue;
            if (add_str(row, host->functions[b].bdf,
                        discover_distance_name(topo_distance(host, a, b))) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* "numaDistances": the SLIT table, one row per node (null when unknown). */
static int
numa_json(const struct topo_host *host, struct json_object *root)
{
    struct json_object *rows;

    if (!host->numa_distance)
        return add(root, "numaDistances", NULL);
    if (!(rows = json_object_new_array()) || add(root, "numaDistances", rows) < 0)
        return -ENOMEM;
    for (size_t a = 0; a < host->n_numa_nodes; a++) {
        struct json_object *row = json_object_new_array();

        if (!row || json_object_array_add(rows, row) < 0) {
            json_object_put(row);
            return -ENOMEM;
        }
        for (size_t b = 0; b < host->n_numa_nodes; b++) {
            struct json_object *v =
                json_object_new_int(topo_numa_distance(host, (int)a, (int)b));

            if (!v || json_object_array_add(row, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
            }
        }
    }
    return 0;
}

static int
warnings_json(const struct topo_host *host, struct json_object *root)
{
    struct json_object *arr = json_object_new_array();

    if (!arr || add(root, "warnings", arr) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < host->n_warnings; i++) {
        struct json_object *s = json_object_new_string(host->warnings[i]);

        if (!s || json_object_array_add(arr, s) < 0) {
            json_object_put(s);
            return -ENOMEM;
        }
    }
    return 0;
}

int
discover_json(const struct topo_host *host, FILE *out)
{
    _cleanup_json_ struct json_object *root = json_object_new_object();
    const char *text;

    if (!root || add_str(root, "iommu", host->iommufd ? "iommufd" : "legacy") < 0 ||
        functions_json(host, root) < 0 || groups_json(host, root) < 0 ||
        distances_json(host, root) < 0 || numa_json(host, root) < 0 ||
        warnings_json(host, root) < 0)
        return -ENOMEM;
    text = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text)
        return -ENOMEM;
    fprintf(out, "%s\n", text);
    return ferror(out) ? -EIO : 0;
}
