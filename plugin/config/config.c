#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "plugin/config/config.h"
#include "plugin/config/values.h"
#include "topology/base/cleanup.h"
#include "topology/base/macros.h"

#define CONFIG_MAX_BYTES (64 * 1024)

static int
read_all(const char *path, char **ret, struct topo_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    ssize_t n;

    if (fd < 0)
        return topo_error_set(err, -errno, "config %s: open: %s", path, strerror(errno));
    buf = malloc(CONFIG_MAX_BYTES + 1);
    if (!buf)
        return topo_error_set(err, -ENOMEM, "out of memory");
    while ((n = read(fd, buf + len, CONFIG_MAX_BYTES - len)) > 0)
        len += (size_t)n;
    if (n < 0)
        return topo_error_set(err, -errno, "config %s: read: %s", path, strerror(errno));
    if (len == CONFIG_MAX_BYTES)
        return topo_error_set(err, -EFBIG, "config %s: larger than %d bytes", path,
                              CONFIG_MAX_BYTES);
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
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
        {"sysfsRoot", &o->sysfs_root},  {"devRoot", &o->dev_root},
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
            return topo_error_set(err, -EINVAL,
                                  "config %s: \"logLevel\" must be debug, info, warn or error",
                                  path);
        return 0;
    }
    return topo_error_set(err, -EINVAL, "config %s: unknown key \"%s\"", path, key);
}

int
plugin_config_load(const char *path, struct plugin_options *o, struct topo_error *err)
{
    _cleanup_free_ char *text = NULL;
    struct json_tokener *tok;
    struct json_object *root;
    enum json_tokener_error jerr;
    int r;

    if ((r = read_all(path, &text, err)) < 0)
        return r;
    tok = json_tokener_new();
    if (!tok)
        return topo_error_set(err, -ENOMEM, "out of memory");
    root = json_tokener_parse_ex(tok, text, (int)strlen(text));
    jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success ||
        text[json_tokener_get_parse_end(tok) + strspn(text + json_tokener_get_parse_end(tok),
                                                       " \t\r\n")] != '\0') {
        r = topo_error_set(err, -EINVAL, "config %s: not valid JSON (%s at byte %zu)", path,
                           jerr == json_tokener_success ? "trailing data"
                                                        : json_tokener_error_desc(jerr),
                           json_tokener_get_parse_end(tok));
        json_tokener_free(tok);
        json_object_put(root);
        return r;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return topo_error_set(err, -EINVAL, "config %s: top level must be a JSON object", path);
    }
    r = 0;
    json_object_object_foreach(root, key, val)
    {
        if ((r = apply_key(path, key, val, o, err)) < 0)
            break;
    }
    json_object_put(root);
    return r;
}
