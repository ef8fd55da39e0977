#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/cleanup.h"

/* Resource naming. Per-model names follow the Go sandbox
 * plugin: upper-case, '/', '.' and runs of white space become '_', any
 * other character outside [A-Z0-9_] is dropped. The Go plugin starts from
 * the pci.ids string, which carries the chip ("GH100 [H100 SXM5 80GB]" ->
 * GH100_H100_SXM5_80GB); we start from our own model string
 * ("H100 SXM5 80GB" -> H100_SXM5_80GB), so the chip prefix is absent. */

#define RES_NAME_MAX 63

static bool
name_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool
name_part_valid(const char *s, size_t len)
{
    if (len == 0 || len > RES_NAME_MAX)
        return false;
    if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char_ok(s[i]))
            return false;
    return true;
}

static bool
domain_valid(const char *d, size_t len)
{
    static const char k8s[] = "kubernetes.io";
    size_t kl = sizeof(k8s) - 1;

    if (len == 0 || len > 253 || !isalnum((unsigned char)d[0]) ||
        !isalnum((unsigned char)d[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)d[i]) || isdigit((unsigned char)d[i]) || d[i] == '-' ||
              d[i] == '.'))
            return false;
    /* kubelet refuses the kubernetes.io namespace for extended resources */
    if (len >= kl && memcmp(d + len - kl, k8s, kl) == 0 && (len == kl || d[len - kl - 1] == '.'))
        return false;
    return true;
}

bool
alloc_resource_name_valid(const char *name)
{
    const char *slash = name ? strchr(name, '/') : NULL;

    if (!slash || strchr(slash + 1, '/'))
        return false;
    return domain_valid(name, (size_t)(slash - name)) &&
           name_part_valid(slash + 1, strlen(slash + 1));
}

/* Go plugin rule into out (at most RES_NAME_MAX chars), trimmed to start
 * and end alphanumeric. */
void
alloc_model_token(const char *model, uint16_t device, char *out, size_t outlen)
{
    size_t n = 0;
    bool space = false;

    for (const char *p = model ? model : ""; *p && n + 1 < outlen; p++) {
        char c = *p;

        if (isspace((unsigned char)c)) {
            space = true;
            continue;
        }
        if (space && n > 0)
            out[n++] = '_';
        space = false;
        if (n + 1 >= outlen)
            break;
        if (c == '/' || c == '.')
            out[n++] = '_';
        else if (isalnum((unsigned char)c) || c == '_')
            out[n++] = (char)toupper((unsigned char)c);
    }
    out[n] = '\0';
    while (n > 0 && out[n - 1] == '_')
        out[--n] = '\0';
    size_t skip = strspn(out, "_");
    memmove(out, out + skip, n - skip + 1);
    if (out[0] == '\0')
        snprintf(out, outlen, "DEVICE_%04X", device);
}

static bool
same_model(const struct topo_function *a, const struct topo_function *b)
{
    if (a->kind != b->kind || a->device != b->device)
        return false;
    return (a->model && b->model) ? strcmp(a->model, b->model) == 0 : a->model == b->model;
}

/* Two different models that sanitise to one name are told apart by their
 * PCI device ID, so no two resources share a name. */
static int
per_model_names(const struct topo_host *host, const char *domain, const size_t *fns, size_t n,
                char **ret, struct topo_error *err)
{
    char base[RES_NAME_MAX + 1];

    for (size_t i = 0; i < n; i++) {
        const struct topo_function *f = &host->functions[fns[i]];
        bool clash = false;
        char tmp[RES_NAME_MAX + 1];

        alloc_model_token(f->model, f->device, base, sizeof(base));
        for (size_t j = 0; j < n && !clash; j++) {
            const struct topo_function *g = &host->functions[fns[j]];

            alloc_model_token(g->model, g->device, tmp, sizeof(tmp));
            clash = strcmp(tmp, base) == 0 && !same_model(f, g);
        }
        if (clash) {
            /* keep room for "_XXXX" */
            base[RES_NAME_MAX - 5] = '\0';
            size_t l = strlen(base);
            while (l > 0 && base[l - 1] == '_')
                base[--l] = '\0';
            snprintf(base + l, sizeof(base) - l, "_%04X", f->device);
        }
        if (asprintf(&ret[i], "%s/%s", domain, base) < 0) {
            ret[i] = NULL;
            return topo_error_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Per-model names for the functions whose kind has an empty alias
 * (names[i] still NULL). */
static int
fill_per_model(const struct topo_host *host, const char *domain, const size_t *fns, size_t n,
               char **names, struct topo_error *err)
{
    _cleanup_free_ size_t *sub = calloc(n ? n : 1, sizeof(*sub));
    _cleanup_free_ char **subn = calloc(n ? n : 1, sizeof(*subn));
    size_t m = 0;
    int r;

    if (!sub || !subn)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t j = 0; j < n; j++)
        if (!names[j])
            sub[m++] = fns[j];
    r = per_model_names(host, domain, sub, m, subn, err);
    for (size_t j = 0, k = 0; j < n && r == 0; j++)
        if (!names[j]) {
            names[j] = TAKE_PTR(subn[k]);
            k++;
        }
    for (size_t k = 0; k < m; k++)
        free(subn[k]);
    return r;
}

static int
check_names(const struct topo_host *host, const size_t *fns, size_t n, char **names,
            struct topo_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!alloc_resource_name_valid(names[i]))
            return topo_error_set(err, -EINVAL,
                                  "resource name %s is not a valid extended resource name "
                                  "(name part <= 63 of [A-Za-z0-9_.-], alphanumeric at both ends)",
                                  names[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0 &&
                host->functions[fns[i]].kind != host->functions[fns[j]].kind)
                return topo_error_set(err, -EINVAL,
                                      "GPUs and NVSwitches would share resource %s; "
                                      "choose different aliases",
                                      names[i]);
    }
    return 0;
}

int
alloc_resource_names(const struct topo_host *host, const struct inv_policy *policy,
                     const size_t *fns, size_t n, char **ret_names, struct topo_error *err)
{
    const char *domain = policy->domain ? policy->domain : "nvidia.com";
    char **names = calloc(n ? n : 1, sizeof(*names));
    int r = 0;

    if (!names)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct topo_function *f = &host->functions[fns[i]];
        const char *alias = f->kind == TOPO_KIND_NVSWITCH ? policy->nvswitch_alias
                                                          : policy->gpu_alias;

        if (alias && alias[0] && asprintf(&names[i], "%s/%s", domain, alias) < 0) {
            names[i] = NULL;
            r = topo_error_set(err, -ENOMEM, "out of memory");
        }
    }
    if (r == 0)
        r = fill_per_model(host, domain, fns, n, names, err);
    if (r == 0)
        r = check_names(host, fns, n, names, err);
    if (r < 0) {
        inventory_free_strv(names, n);
        return r;
    }
    memcpy(ret_names, names, n * sizeof(*names));
    free(names);
    return 0;
}
