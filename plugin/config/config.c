#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "plugin/config/config.h"
#include "plugin/config/values.h"
#include "topology/base/cleanup.h"
#include "topology/base/regular.h"
#include "topology/base/macros.h"

/* The whole file; one byte more than the limit is read to tell a file of
 * exactly the limit from a larger one. */
static int
read_all(const char *path, char **ret, size_t *ret_len, struct topo_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int r;

    /* Never blocks: a FIFO given as config is refused, not waited on. */
    r = topo_open_regular(AT_FDCWD, path, &fd);
    if (r == -EISDIR || r == -EBADFD)
        return topo_error_set(err, r, "config %s: not a regular file", path);
    if (r < 0)
        return topo_error_set(err, r, "config %s: open: %s", path, strerror(-r));
    buf = malloc(PLUGIN_CONFIG_MAX_BYTES + 1);
    if (!buf)
        return topo_error_set(err, -ENOMEM, "out of memory");
    while (len <= PLUGIN_CONFIG_MAX_BYTES &&
           (n = read(fd, buf + len, PLUGIN_CONFIG_MAX_BYTES + 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return topo_error_set(err, -errno, "config %s: read: %s", path, strerror(errno));
        len += (size_t)n;
    }
    *ret = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

static int
want_string(const char *path, const char *key, struct json_object *v, char **dst,
            struct topo_error *err)
{
    char *copy;

    if (!json_object_is_type(v, json_type_string))
        return topo_error_set(err, -EINVAL, "config %s: \"%s\" must be a string", path, key);
    copy = strdup(json_object_get_string(v));
    if (!copy)
        return topo_error_set(err, -ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

static int
want_seconds(const char *path, const char *key, struct json_object *v, unsigned *dst,
             struct topo_error *err)
{
    int64_t n = json_object_get_int64(v);

    if (!json_object_is_type(v, json_type_int) || n < 0 || n > 86400)
        return topo_error_set(err, -EINVAL, "config %s: \"%s\" must be seconds (0-86400)", path,
                              key);
    *dst = (unsigned)n;
    return 0;
}

static int
want_address(const char *path, const char *key, struct json_object *v, char **dst,
             struct topo_error *err)
{
    if (!json_object_is_type(v, json_type_string) ||
        plugin_parse_address(json_object_get_string(v), err) < 0)
        return topo_error_set(err, -EINVAL, "config %s: \"%s\" must be \"HOST:PORT\"", path, key);
    return want_string(path, key, v, dst, err);
}

static int
apply_key(const char *path, const char *key, struct json_object *v, struct plugin_options *o,
          struct topo_error *err)
{
    struct {
        const char *key;
        char **dst;
    } strings[] = {
        {"sysfsRoot", &o->sysfs_root},   {"devRoot", &o->dev_root},
        {"kubeletDir", &o->kubelet_dir}, {"cdiDir", &o->cdi_dir},
        {"gpuAlias", &o->gpu_alias},    {"nvswitchAlias", &o->nvswitch_alias},
        {"nfdFeaturesDir", &o->nfd_dir},
    };
    struct {
        const char *key;
        unsigned *dst;
    } seconds[] = {{"rescanInterval", &o->rescan_interval}, {"aerQuietPeriod", &o->aer_quiet}};
    const char *s;

    for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
        if (strcmp(key, strings[i].key) == 0)
            return want_string(path, key, v, strings[i].dst, err);
    for (size_t i = 0; i < ARRAY_SIZE(seconds); i++)
        if (strcmp(key, seconds[i].key) == 0)
            return want_seconds(path, key, v, seconds[i].dst, err);
    if (strcmp(key, "metricsAddress") == 0)
        return want_address(path, key, v, &o->metrics_address, err);
    if (strcmp(key, "cdiTakeover") == 0) {
        if (!json_object_is_type(v, json_type_boolean))
            return topo_error_set(err, -EINVAL, "config %s: \"cdiTakeover\" must be true or false",
                                  path);
        o->cdi_takeover = json_object_get_boolean(v);
        return 0;
    }
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (strcmp(key, "mode") == 0) {
        if (!s || plugin_parse_mode(s, &o->mode) < 0)
            return topo_error_set(err, -EINVAL,
                                  "config %s: \"mode\" must be passthrough, multi or ppcie", path);
        return 0;
    }
    if (strcmp(key, "iommu") == 0) {
        if (!s || plugin_parse_iommu(s, &o->iommu) < 0)
            return topo_error_set(err, -EINVAL,
                                  "config %s: \"iommu\" must be auto, iommufd or legacy", path);
        return 0;
    }
    if (strcmp(key, "logLevel") == 0) {
        if (!s || log_level_parse(s, &o->log_level) < 0)
            return topo_error_set(
                err, -EINVAL, "config %s: \"logLevel\" must be debug, info, warn or error", path);
        return 0;
    }
    return topo_error_set(err, -EINVAL, "config %s: unknown key \"%s\"", path, key);
}

/* The NUL-terminated text as one JSON object (nothing after it). */
static int
parse_json(const char *path, const char *text, struct json_object **ret, struct topo_error *err)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root;
    enum json_tokener_error jerr;
    size_t end;

    if (!tok)
        return topo_error_set(err, -ENOMEM, "out of memory");
    root = json_tokener_parse_ex(tok, text, (int)strlen(text));
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success || text[end + strspn(text + end, " \t\r\n")]) {
        json_object_put(root);
        return topo_error_set(err, -EINVAL, "config %s: not valid JSON (%s at byte %zu)", path,
                              jerr == json_tokener_success ? "trailing data"
                                                           : json_tokener_error_desc(jerr),
                              end);
    }
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return topo_error_set(err, -EINVAL, "config %s: top level must be a JSON object", path);
    }
    *ret = root;
    return 0;
}

int
plugin_config_parse(const char *path, const char *text, size_t len, struct plugin_options *o,
                    struct topo_error *err)
{
    _cleanup_free_ char *copy = NULL;
    struct json_object *root = NULL;
    const char *nul;
    int r;

    if (len > PLUGIN_CONFIG_MAX_BYTES)
        return topo_error_set(err, -EFBIG, "config %s: larger than %zu bytes", path,
                              PLUGIN_CONFIG_MAX_BYTES);
    /* The analyzer takes a failed open()'s -errno for a success. */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    if ((nul = memchr(text, '\0', len)))
        return topo_error_set(err, -EINVAL, "config %s: NUL byte at offset %zu", path,
                              (size_t)(nul - text));
    copy = strndup(text, len);
    if (!copy)
        return topo_error_set(err, -ENOMEM, "out of memory");
    if ((r = parse_json(path, copy, &root, err)) < 0)
        return r;
    json_object_object_foreach(root, key, val)
    {
        if ((r = apply_key(path, key, val, o, err)) < 0)
            break;
    }
    json_object_put(root);
    return r;
}

int
plugin_config_load(const char *path, struct plugin_options *o, struct topo_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r;

    if ((r = read_all(path, &text, &len, err)) < 0)
        return r;
    return plugin_config_parse(path, text, len, o, err);
}
