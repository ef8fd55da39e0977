#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cdi/cdi.h"
#include "topology/base/cleanup.h"
#include "topology/base/cleanup_json.h"

/* json-c takes ownership of a value only when adding it succeeds. */
static bool
add_owned(json_object *obj, const char *key, json_object **value)
{
    if (!*value || json_object_object_add(obj, key, *value) != 0)
        return false;
    *value = NULL;
    return true;
}

static bool
add_string(json_object *obj, const char *key, const char *value)
{
    _cleanup_json_ json_object *s = json_object_new_string(value);

    return add_owned(obj, key, &s);
}

static json_object *
render_node(const struct cdi_node *node)
{
    json_object *o = json_object_new_object();

    /* No type/major/minor: the runtime stats the host node at injection,
     * so a renumbered vfio cdev never leaves a stale major:minor behind. */
    if (!o || !add_string(o, "path", node->path) ||
        (node->host_path && !add_string(o, "hostPath", node->host_path))) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *
render_device(const struct cdi_device *dev)
{
    _cleanup_json_ json_object *nodes = json_object_new_array();
    _cleanup_json_ json_object *edits = json_object_new_object();
    _cleanup_json_ json_object *o = json_object_new_object();

    if (!nodes || !edits || !o)
        return NULL;
    for (size_t n = 0; n < dev->n_nodes; n++) {
        _cleanup_json_ json_object *node = render_node(&dev->nodes[n]);

        if (!node || json_object_array_add(nodes, node) != 0)
            return NULL;
        node = NULL;
    }
    if (!add_string(o, "name", dev->name) || !add_owned(edits, "deviceNodes", &nodes) ||
        !add_owned(o, "containerEdits", &edits))
        return NULL;
    return TAKE_PTR(o);
}

static json_object *
render_spec(const struct cdi_spec *spec)
{
    _cleanup_json_ json_object *o = json_object_new_object();
    _cleanup_json_ json_object *devices = json_object_new_array();

    if (!o || !devices)
        return NULL;
    for (size_t d = 0; d < spec->n_devices; d++) {
        _cleanup_json_ json_object *dev = render_device(&spec->devices[d]);

        if (!dev || json_object_array_add(devices, dev) != 0)
            return NULL;
        dev = NULL;
    }
    /* json-c keeps insertion order: the key order below is the file's. */
    if (!add_string(o, "cdiVersion", spec->version) || !add_string(o, "kind", spec->kind) ||
        !add_owned(o, "devices", &devices))
        return NULL;
    return TAKE_PTR(o);
}

int
cdi_spec_render(const struct cdi_spec *spec, char **ret, size_t *ret_len, struct topo_error *err)
{
    _cleanup_json_ json_object *o = NULL;
    const char *text;
    size_t len;
    char *out;
    int r = cdi_spec_validate(spec, err);

    if (r < 0)
        return r;
    o = render_spec(spec);
    text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE)
             : NULL;
    if (!text)
        return topo_error_set(err, -ENOMEM, "CDI spec %s: rendering failed", spec->kind);
    /* text is borrowed from o: copy it, with the trailing newline. */
    len = strlen(text);
    out = malloc(len + 2);
    if (!out)
        return topo_error_set(err, -ENOMEM, "CDI spec %s: out of memory", spec->kind);
    memcpy(out, text, len);
    out[len] = '\n';
    out[len + 1] = '\0';
    *ret = out;
    *ret_len = len + 1;
    return 0;
}

/* Append src to the growing buffer *buf (length *len). */
static int
append(char **buf, size_t *len, const char *src, size_t n)
{
    char *p = realloc(*buf, *len + n + 1);

    if (!p)
        return -ENOMEM;
    memcpy(p + *len, src, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
    return 0;
}

int
cdi_render_all(const struct inventory *inv, char **ret, size_t *ret_len, struct topo_error *err)
{
    _cleanup_free_ char *all = strdup("");
    size_t len = 0;

    if (!all)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < inv->n_resources; i++) {
        struct cdi_spec spec;
        _cleanup_free_ char *text = NULL;
        size_t n;
        int r = cdi_spec_from_resource(&inv->resources[i], &spec, err);

        if (r < 0)
            return r;
        r = cdi_spec_render(&spec, &text, &n, err);
        cdi_spec_clear(&spec);
        if (r < 0)
            return r;
        if (append(&all, &len, text, n) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = TAKE_PTR(all);
    *ret_len = len;
    return 0;
}
