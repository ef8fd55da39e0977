#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "plugin/grpc/pb_inventory.h"

/* One block per device keeps allocation and freeing trivial. */
struct pb_device {
    V1beta1__Device dev;
    V1beta1__TopologyInfo topo;
    V1beta1__NUMANode node;
    V1beta1__NUMANode *nodes[1];
};

V1beta1__ListAndWatchResponse *
pb_list_response_new(const struct inv_resource *res)
{
    V1beta1__ListAndWatchResponse *msg = calloc(1, sizeof(*msg));
    struct pb_device *blocks;

    if (!msg)
        return NULL;
    v1beta1__list_and_watch_response__init(msg);
    if (res->n_devices == 0)
        return msg;
    msg->devices = calloc(res->n_devices, sizeof(V1beta1__Device *));
    blocks = calloc(res->n_devices, sizeof(*blocks));
    if (!msg->devices || !blocks) {
        free(blocks);
        pb_list_response_free(msg);
        return NULL;
    }
    for (size_t i = 0; i < res->n_devices; i++) {
        const struct inv_device *d = &res->devices[i];
        struct pb_device *b = &blocks[i];

        v1beta1__device__init(&b->dev);
        b->dev.id = d->id;
        b->dev.health = d->healthy ? "Healthy" : "Unhealthy";
        /* Kubelet's topology manager treats an absent TopologyInfo as "any
         * node"; a made-up node 0 would mislead it. */
        if (d->numa_node >= 0) {
            v1beta1__topology_info__init(&b->topo);
            v1beta1__numanode__init(&b->node);
            b->node.id = d->numa_node;
            b->nodes[0] = &b->node;
            b->topo.n_nodes = 1;
            b->topo.nodes = b->nodes;
            b->dev.topology = &b->topo;
        }
        msg->devices[i] = &b->dev;
    }
    msg->n_devices = res->n_devices;
    return msg;
}

void
pb_list_response_free(V1beta1__ListAndWatchResponse *msg)
{
    if (!msg)
        return;
    /* devices[0] is the start of the block array (dev is its first member). */
    if (msg->n_devices && msg->devices)
        free(msg->devices[0]);
    free(msg->devices);
    free(msg);
}

struct pb_allocation {
    V1beta1__ContainerAllocateResponse resp;
    V1beta1__DeviceSpec *specs;
    V1beta1__CDIDevice *cdi;
    char **cdi_names; /* owned */
    size_t n_cdi_names;
    V1beta1__ContainerAllocateResponse__EnvsEntry env;
    V1beta1__ContainerAllocateResponse__EnvsEntry *envs[1];
    char *env_key, *env_value; /* owned */
};

/* The env variable the Go plugins set: "PCI_RESOURCE_NVIDIA_COM_PGPU". */
static int
env_key(const char *resource, char **ret)
{
    char *k;

    if (asprintf(&k, "PCI_RESOURCE_%s", resource) < 0)
        return -ENOMEM;
    for (char *p = k; *p; p++)
        *p = (char)((*p == '/' || *p == '.' || *p == '-') ? '_' : toupper((unsigned char)*p));
    *ret = k;
    return 0;
}

/* "ID,ID,...": the granted devices in the answer's order. */
static int
env_value(const struct inv_allocation *a, char **ret)
{
    size_t len = 1;
    char *v, *w;

    for (size_t i = 0; i < a->n_ids; i++)
        len += strlen(a->ids[i]) + 1;
    if (!(v = calloc(1, len)))
        return -ENOMEM;
    w = v; /* len counted each id and its comma */
    for (size_t i = 0; i < a->n_ids; i++) {
        if (i)
            *w++ = ',';
        w = stpcpy(w, a->ids[i]);
    }
    *ret = v;
    return 0;
}

static void
fill_specs(struct pb_allocation *p, const struct inv_allocation *a)
{
    V1beta1__ContainerAllocateResponse *r = &p->resp;

    for (size_t i = 0; i < a->n_nodes; i++) {
        v1beta1__device_spec__init(&p->specs[i]);
        p->specs[i].container_path = a->nodes[i].path;
        p->specs[i].host_path = a->nodes[i].host_path;
        p->specs[i].permissions = "mrw";
        r->devices[i] = &p->specs[i];
    }
    r->n_devices = a->n_nodes;
}

static int
fill_names(struct pb_allocation *p, const char *resource, const struct inv_allocation *a)
{
    V1beta1__ContainerAllocateResponse *r = &p->resp;

    for (size_t i = 0; i < a->n_ids; i++) {
        if (cdi_qualified_name(resource, a->ids[i], &p->cdi_names[i]) < 0)
            return -ENOMEM;
        p->n_cdi_names++;
        v1beta1__cdidevice__init(&p->cdi[i]);
        p->cdi[i].name = p->cdi_names[i];
        r->cdi_devices[i] = &p->cdi[i];
    }
    r->n_cdi_devices = a->n_ids;
    if (a->n_ids == 0)
        return 0;
    if (env_key(resource, &p->env_key) < 0 || env_value(a, &p->env_value) < 0)
        return -ENOMEM;
    v1beta1__container_allocate_response__envs_entry__init(&p->env);
    p->env.key = p->env_key;
    p->env.value = p->env_value;
    p->envs[0] = &p->env;
    r->envs = p->envs;
    r->n_envs = 1;
    return 0;
}

V1beta1__ContainerAllocateResponse *
pb_container_allocation_new(const char *resource, const struct inv_allocation *a)
{
    struct pb_allocation *p = calloc(1, sizeof(*p));
    V1beta1__ContainerAllocateResponse *r;

    if (!p)
        return NULL;
    r = &p->resp;
    v1beta1__container_allocate_response__init(r);
    p->specs = calloc(a->n_nodes + 1, sizeof(*p->specs));
    p->cdi = calloc(a->n_ids + 1, sizeof(*p->cdi));
    p->cdi_names = calloc(a->n_ids + 1, sizeof(*p->cdi_names));
    r->devices = calloc(a->n_nodes + 1, sizeof(V1beta1__DeviceSpec *));
    r->cdi_devices = calloc(a->n_ids + 1, sizeof(V1beta1__CDIDevice *));
    if (!p->specs || !p->cdi || !p->cdi_names || !r->devices || !r->cdi_devices) {
        pb_container_allocation_free(r);
        return NULL;
    }
    fill_specs(p, a);
    if (fill_names(p, resource, a) < 0) {
        pb_container_allocation_free(r);
        return NULL;
    }
    return r;
}

void
pb_container_allocation_free(V1beta1__ContainerAllocateResponse *msg)
{
    /* resp is the first member: the message pointer is the block. */
    struct pb_allocation *p = (struct pb_allocation *)msg;

    if (!p)
        return;
    free(p->specs);
    free(p->cdi);
    inventory_free_strv(p->cdi_names, p->n_cdi_names);
    free(p->env_key);
    free(p->env_value);
    free(msg->devices);
    free(msg->cdi_devices);
    free(p);
}
