#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "plugin/daemon/nfd.h"
#include "plugin/config/values.h"
#include "topology/base/cleanup.h"

/* Label names (after the prefix) and values follow the Kubernetes rules
 * NFD applies: names and values at most 63 characters of [A-Za-z0-9._-],
 * alphanumeric at both ends. Model keys are the PCI device ID (4 hex
 * digits), values of models the per-model resource token, which both
 * satisfy them by construction. */

static const char *
family_value(enum topo_family f)
{
    switch (f) {
    case TOPO_FAMILY_HOPPER: return "hopper";
    case TOPO_FAMILY_BLACKWELL: return "blackwell";
    case TOPO_FAMILY_OTHER: break;
    }
    return "other";
}

static const char *
kind_key(enum topo_kind k)
{
    return k == TOPO_KIND_NVSWITCH ? "nvswitch" : "gpu";
}

/* The one value every GPU shares (family, token or device id), or NULL. */
static const struct inv_model *
single_gpu_model(const struct inv_node *n)
{
    const struct inv_model *one = NULL;

    for (size_t i = 0; i < n->n_models; i++) {
        if (n->models[i].kind != TOPO_KIND_GPU)
            continue;
        if (one)
            return NULL;
        one = &n->models[i];
    }
    return one;
}

static bool
single_gpu_family(const struct inv_node *n, enum topo_family *ret)
{
    bool any = false;

    for (size_t i = 0; i < n->n_models; i++) {
        if (n->models[i].kind != TOPO_KIND_GPU)
            continue;
        if (any && n->models[i].family != *ret)
            return false;
        *ret = n->models[i].family;
        any = true;
    }
    return any;
}

static void
label(FILE *f, const char *name, const char *value)
{
    fprintf(f, NFD_LABEL_PREFIX "%s=%s\n", name, value);
}

static void
models(FILE *f, const struct inv_node *n)
{
    for (size_t i = 0; i < n->n_models; i++) {
        const struct inv_model *m = &n->models[i];
        const char *k = kind_key(m->kind);

        fprintf(f, NFD_LABEL_PREFIX "%s.%04x.count=%zu\n", k, m->device_id, m->count);
        fprintf(f, NFD_LABEL_PREFIX "%s.%04x.model=%s\n", k, m->device_id, m->token);
        if (m->kind == TOPO_KIND_GPU)
            fprintf(f, NFD_LABEL_PREFIX "%s.%04x.family=%s\n", k, m->device_id,
                    family_value(m->family));
    }
}

int
nfd_labels_render(const struct inventory *inv, char **ret)
{
    const struct inv_node *n = &inv->node;
    const struct inv_model *one = single_gpu_model(n);
    enum topo_family fam = TOPO_FAMILY_OTHER;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return -ENOMEM;
    fprintf(f, NFD_LABEL_PREFIX "gpu.count=%zu\n", n->n_gpus);
    fprintf(f, NFD_LABEL_PREFIX "nvswitch.count=%zu\n", n->n_nvswitches);
    if (single_gpu_family(n, &fam))
        label(f, "gpu.family", family_value(fam));
    if (one) {
        fprintf(f, NFD_LABEL_PREFIX "gpu.device-id=%04x\n", one->device_id);
        label(f, "gpu.model", one->token);
    }
    models(f, n);
    label(f, "iommufd", n->iommufd ? "true" : "false");
    label(f, "ppcie.capable", n->ppcie_capable ? "true" : "false");
    label(f, "multi-gpu.capable", n->multi_capable ? "true" : "false");
    label(f, "mode", plugin_mode_name(n->mode));
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return -ENOMEM;
    }
    *ret = buf;
    return 0;
}
