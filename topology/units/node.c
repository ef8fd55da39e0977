#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"

/* Node facts for labels: what models are on the bus, how many GPUs and
 * NVSwitches, and which multi-GPU confidential modes the node can run.
 * Counted over physical functions on the bus, whatever their driver: a
 * label describes the hardware; assignability only enters the
 * capabilities, which need every device in one VM. */

static bool
counted(const struct topo_function *f)
{
    return (f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) && !f->is_vf;
}

static int
model_cmp(const void *a, const void *b)
{
    const struct inv_model *x = a, *y = b;

    if (x->kind != y->kind)
        return x->kind == TOPO_KIND_GPU ? -1 : 1;
    return (int)x->device_id - (int)y->device_id;
}

static int
add_model(struct inv_node *node, const struct topo_function *f)
{
    char token[64];

    for (size_t i = 0; i < node->n_models; i++)
        if (node->models[i].kind == f->kind && node->models[i].device_id == f->device) {
            node->models[i].count++;
            return 0;
        }
    alloc_model_token(f->model, f->device, token, sizeof(token));
    node->models[node->n_models] = (struct inv_model){
        .name = strdup(f->model ? f->model : "unknown"),
        .token = strdup(token),
        .device_id = f->device,
        .kind = f->kind,
        .family = f->family,
        .count = 1,
    };
    node->n_models++;
    if (!node->models[node->n_models - 1].name || !node->models[node->n_models - 1].token)
        return -ENOMEM;
    return 0;
}

/* ppcie needs Hopper GPUs and NVSwitches, multi Blackwell GPUs; both need
 * every one of them assignable. */
static void
capabilities(const struct topo_host *host, struct inv_node *node)
{
    bool hopper = node->n_gpus > 0, blackwell = node->n_gpus > 1, all_gpus = true,
         all_switches = true;

    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_function *f = &host->functions[i];
        bool ok;

        if (!counted(f))
            continue;
        ok = topo_assignable(host, i, NULL, 0);
        if (f->kind == TOPO_KIND_NVSWITCH) {
            all_switches &= ok;
            continue;
        }
        all_gpus &= ok;
        hopper &= f->family == TOPO_FAMILY_HOPPER;
        blackwell &= f->family == TOPO_FAMILY_BLACKWELL;
    }
    node->ppcie_capable = hopper && node->n_nvswitches > 0 && all_gpus && all_switches;
    node->multi_capable = blackwell && all_gpus;
}

int
alloc_node_facts(const struct topo_host *host, const struct inv_policy *policy,
                 struct inv_node *ret)
{
    struct inv_node node = {.mode = policy->mode, .iommufd = host->iommufd};

    node.models = calloc(host->n_functions ? host->n_functions : 1, sizeof(*node.models));
    if (!node.models)
        return -ENOMEM;
    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_function *f = &host->functions[i];

        if (!counted(f))
            continue;
        if (f->kind == TOPO_KIND_GPU)
            node.n_gpus++;
        else
            node.n_nvswitches++;
        if (add_model(&node, f) < 0) {
            inventory_node_clear(&node);
            return -ENOMEM;
        }
    }
    qsort(node.models, node.n_models, sizeof(*node.models), model_cmp);
    capabilities(host, &node);
    *ret = node;
    return 0;
}
