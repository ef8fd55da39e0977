#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "topology/base/macros.h"

/* The versions Debian's CDI library (0.5.x) loads; later ones are rejected
 * there and by containerd 1.7.0-1.7.11 (FACTS.md "CDI"). */
static const char *const supported_versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"};

static bool
is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_alnum(char c)
{
    return is_letter(c) || (c >= '0' && c <= '9');
}

/* Shared shape of the three name rules: first char, middle chars from the
 * allowed extras, last char alphanumeric. */
static int
check_label(const char *what, const char *s, size_t len, bool first_digit_ok, const char *extras,
            struct topo_error *err)
{
    if (len == 0)
        return topo_error_set(err, -EINVAL, "invalid (empty) %s", what);
    if (!(first_digit_ok ? is_alnum(s[0]) : is_letter(s[0])))
        return topo_error_set(err, -EINVAL, "invalid %s \"%.*s\": must start with a %s", what,
                              (int)len, s, first_digit_ok ? "letter or digit" : "letter");
    for (size_t i = 1; i + 1 < len; i++)
        if (!is_alnum(s[i]) && !strchr(extras, s[i]))
            return topo_error_set(err, -EINVAL, "invalid character 0x%02x in %s \"%.*s\"",
                                  (unsigned char)s[i], what, (int)len, s);
    if (!is_alnum(s[len - 1]))
        return topo_error_set(err, -EINVAL, "invalid %s \"%.*s\": must end with a letter or digit",
                              what, (int)len, s);
    return 0;
}

int
cdi_validate_vendor(const char *vendor, struct topo_error *err)
{
    size_t len = vendor ? strlen(vendor) : 0;

    /* The library's parser slices vendor[1:len-1] and panics on one byte. */
    if (len == 1)
        return topo_error_set(err, -EINVAL, "invalid vendor \"%s\": too short", vendor);
    return check_label("vendor", vendor ? vendor : "", len, false, "_.-", err);
}

int
cdi_validate_class(const char *class_name, struct topo_error *err)
{
    size_t len = class_name ? strlen(class_name) : 0;

    if (len == 1)
        return topo_error_set(err, -EINVAL, "invalid class \"%s\": too short", class_name);
    /* '.' in a class needs cdiVersion 0.6.0. */
    return check_label("class", class_name ? class_name : "", len, false, "_-", err);
}

int
cdi_validate_kind(const char *kind, struct topo_error *err)
{
    const char *slash = kind ? strchr(kind, '/') : NULL;
    char vendor[256];
    size_t vlen;
    int r;

    if (!slash)
        return topo_error_set(err, -EINVAL, "invalid kind \"%s\": not vendor/class",
                              kind ? kind : "");
    vlen = (size_t)(slash - kind);
    if (vlen >= sizeof(vendor))
        return topo_error_set(err, -EINVAL, "invalid kind \"%s\": vendor too long", kind);
    memcpy(vendor, kind, vlen);
    vendor[vlen] = '\0';
    r = cdi_validate_vendor(vendor, err);
    if (r >= 0)
        r = cdi_validate_class(slash + 1, err);
    if (r < 0)
        topo_error_add_prefix(err, "kind \"%s\"", kind);
    return r;
}

int
cdi_validate_device_name(const char *name, struct topo_error *err)
{
    return check_label("device name", name ? name : "", name ? strlen(name) : 0, true, "_.:-",
                       err);
}

/* Parse "X.Y.Z" with plain decimal numbers; false when malformed. */
static bool
parse_version(const char *s, unsigned long v[3])
{
    for (int i = 0; i < 3; i++) {
        char *end;

        if (!s || *s < '0' || *s > '9')
            return false;
        errno = 0;
        v[i] = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != (i < 2 ? '.' : '\0'))
            return false;
        s = i < 2 ? end + 1 : end;
    }
    return true;
}

int
cdi_version_compare(const char *a, const char *b)
{
    unsigned long va[3], vb[3];
    bool oka = parse_version(a, va), okb = parse_version(b, vb);

    if (!oka || !okb)
        return (int)oka - (int)okb;
    for (int i = 0; i < 3; i++)
        if (va[i] != vb[i])
            return va[i] < vb[i] ? -1 : 1;
    return 0;
}

const char *
cdi_spec_min_version(const struct cdi_spec *spec)
{
    for (size_t d = 0; d < spec->n_devices; d++) {
        const struct cdi_device *dev = &spec->devices[d];

        if (dev->name && dev->name[0] && !is_letter(dev->name[0]))
            return "0.5.0";
        for (size_t n = 0; n < dev->n_nodes; n++)
            if (dev->nodes[n].host_path)
                return "0.5.0";
    }
    return "0.3.0";
}

static int
validate_version(const struct cdi_spec *spec, struct topo_error *err)
{
    const char *min = cdi_spec_min_version(spec);
    bool known = false;

    for (size_t i = 0; i < ARRAY_SIZE(supported_versions); i++)
        known = known || (spec->version && strcmp(spec->version, supported_versions[i]) == 0);
    if (!known)
        return topo_error_set(err, -EINVAL, "unsupported cdiVersion \"%s\" (at most %s)",
                              spec->version ? spec->version : "", CDI_VERSION);
    if (cdi_version_compare(spec->version, min) < 0)
        return topo_error_set(err, -EINVAL,
                              "cdiVersion %s too low: hostPath and device names starting "
                              "with a digit need %s",
                              spec->version, min);
    return 0;
}

static int
validate_device(const struct cdi_device *dev, struct topo_error *err)
{
    int r = cdi_validate_device_name(dev->name, err);

    if (r < 0)
        return r;
    if (dev->n_nodes == 0)
        return topo_error_set(err, -EINVAL, "device \"%s\": no container edits", dev->name);
    for (size_t n = 0; n < dev->n_nodes; n++) {
        const struct cdi_node *node = &dev->nodes[n];

        if (!node->path || node->path[0] != '/')
            return topo_error_set(err, -EINVAL, "device \"%s\": device node path \"%s\" not absolute",
                                  dev->name, node->path ? node->path : "");
        if (node->host_path && node->host_path[0] != '/')
            return topo_error_set(err, -EINVAL, "device \"%s\": host path \"%s\" not absolute",
                                  dev->name, node->host_path);
        for (size_t m = 0; m < n; m++)
            if (strcmp(dev->nodes[m].path, node->path) == 0)
                return topo_error_set(err, -EINVAL, "device \"%s\": device node %s twice",
                                      dev->name, node->path);
    }
    return 0;
}

int
cdi_spec_validate(const struct cdi_spec *spec, struct topo_error *err)
{
    int r = cdi_validate_kind(spec->kind, err);

    if (r >= 0)
        r = validate_version(spec, err);
    for (size_t d = 0; r >= 0 && d < spec->n_devices; d++) {
        r = validate_device(&spec->devices[d], err);
        for (size_t e = 0; r >= 0 && e < d; e++)
            if (strcmp(spec->devices[e].name, spec->devices[d].name) == 0)
                r = topo_error_set(err, -EINVAL, "device \"%s\" defined twice",
                                   spec->devices[d].name);
    }
    if (r < 0)
        topo_error_add_prefix(err, "CDI spec %s", spec->kind ? spec->kind : "(no kind)");
    return r;
}

int
cdi_qualified_name(const char *kind, const char *name, char **ret)
{
    char *q;

    if (asprintf(&q, "%s=%s", kind, name) < 0)
        return -ENOMEM;
    *ret = q;
    return 0;
}
