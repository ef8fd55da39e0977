#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin/grpc/handlers.h"
#include "plugin/grpc/request_check.h"
#include "plugin/log/log.h"
#include "proto/api.pb-c.h"
#include "test/bench/bench.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* The worst single GetPreferredAllocation and Allocate this plugin accepts
 * on the 64-GPU host: PLUGIN_MAX_CONTAINER_REQUESTS container requests,
 * every GPU available, each allocation size in turn; the time one request
 * holds the serving thread (decoding, checks, allocation, packing), as the
 * thread's CPU time (median of REPEAT runs), so that other processes on a
 * busy machine do not count. */

#define REPEAT 5

static struct inventory *
large_inventory(void)
{
    const char *base = getenv("KGDP_FIXTURES");
    char sys[4096], dev[4096];
    struct topo_scan_options so = {.sysfs_root = sys, .dev_root = dev};
    struct inv_policy p = {.domain = "nvidia.com",
                           .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch",
                           .sysfs_root = sys,
                           .dev_root = dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    struct inventory *inv = NULL;

    if (!base)
        return NULL;
    snprintf(sys, sizeof(sys), "%s/large/sys", base);
    snprintf(dev, sizeof(dev), "%s/large/dev", base);
    if (topo_scan(&so, &host, &err) < 0 || inventory_build(host, &p, &inv, &err) < 0)
        fprintf(stderr, "large fixture: %s\n", err.msg);
    topo_host_free(host);
    return inv;
}

/* Median CPU time of REPEAT runs of one packed request, in ms; -1 when
 * refused. */
static double
time_request(const struct inventory *inv, enum plugin_unary m, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    double t[REPEAT];

    if (!buf)
        return -1;
    protobuf_c_message_pack(msg, buf);
    for (int i = 0; i < REPEAT; i++) {
        struct plugin_reply rep;
        double t0 = bench_thread_cpu_ms();
        bool ok;

        plugin_handle_request(&(struct plugin_served){.resource = "nvidia.com/pgpu"}, inv, m, buf,
                              len, &rep);
        t[i] = bench_thread_cpu_ms() - t0;
        ok = rep.code == GRPC_STATUS_OK;
        plugin_reply_clear(&rep);
        if (!ok) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return bench_median(t, REPEAT);
}

static double
worst_preferred(const struct inv_resource *res, const struct inventory *inv, size_t *ret_size)
{
    V1beta1__ContainerPreferredAllocationRequest cr[PLUGIN_MAX_CONTAINER_REQUESTS];
    V1beta1__ContainerPreferredAllocationRequest *ptrs[PLUGIN_MAX_CONTAINER_REQUESTS];
    V1beta1__PreferredAllocationRequest req = V1BETA1__PREFERRED_ALLOCATION_REQUEST__INIT;
    char **ids = calloc(res->n_devices, sizeof(*ids));
    double worst = -1;

    for (size_t d = 0; ids && d < res->n_devices; d++)
        ids[d] = res->devices[d].id;
    for (size_t size = 1; ids && size <= res->n_devices; size++) {
        double t;

        for (size_t c = 0; c < PLUGIN_MAX_CONTAINER_REQUESTS; c++) {
            v1beta1__container_preferred_allocation_request__init(&cr[c]);
            cr[c].available_deviceids = ids;
            cr[c].n_available_deviceids = res->n_devices;
            cr[c].allocation_size = (int32_t)size;
            ptrs[c] = &cr[c];
        }
        req.container_requests = ptrs;
        req.n_container_requests = PLUGIN_MAX_CONTAINER_REQUESTS;
        t = time_request(inv, PLUGIN_UNARY_PREFERRED, &req.base);
        if (t > worst) {
            worst = t;
            *ret_size = size;
        }
    }
    free(ids);
    return worst;
}

/* Allocate: every GPU, split over the most container requests. */
static double
worst_allocate(const struct inv_resource *res, const struct inventory *inv)
{
    V1beta1__ContainerAllocateRequest cr[PLUGIN_MAX_CONTAINER_REQUESTS];
    V1beta1__ContainerAllocateRequest *ptrs[PLUGIN_MAX_CONTAINER_REQUESTS];
    V1beta1__AllocateRequest req = V1BETA1__ALLOCATE_REQUEST__INIT;
    size_t per = res->n_devices / PLUGIN_MAX_CONTAINER_REQUESTS;
    char **ids = calloc(res->n_devices, sizeof(*ids));
    double t;

    if (!ids || per == 0) {
        free(ids);
        return -1;
    }
    for (size_t d = 0; d < res->n_devices; d++)
        ids[d] = res->devices[d].id;
    for (size_t c = 0; c < PLUGIN_MAX_CONTAINER_REQUESTS; c++) {
        v1beta1__container_allocate_request__init(&cr[c]);
        cr[c].devices_ids = ids + c * per;
        cr[c].n_devices_ids = per;
        ptrs[c] = &cr[c];
    }
    req.container_requests = ptrs;
    req.n_container_requests = PLUGIN_MAX_CONTAINER_REQUESTS;
    t = time_request(inv, PLUGIN_UNARY_ALLOCATE, &req.base);
    free(ids);
    return t;
}

BENCH(request_worst_case)
{
    struct inventory *inv;
    int ri;
    size_t size = 0;
    double pref, alloc;

    log_set_level(LOG_LEVEL_ERROR);
    inv = large_inventory();
    ri = inv ? inventory_find_resource(inv, "nvidia.com/pgpu") : -1;
    if (ri < 0) {
        inventory_unref(inv);
        return 1;
    }
    pref = worst_preferred(&inv->resources[ri], inv, &size);
    alloc = worst_allocate(&inv->resources[ri], inv);
    if (pref >= 0 && alloc >= 0) {
        char fig[128];

        snprintf(fig, sizeof(fig), "worst request: %d x GetPreferredAllocation of %zu, CPU",
                 PLUGIN_MAX_CONTAINER_REQUESTS, size);
        bench_row(&(struct bench_row){.figure = fig, .value = pref, .unit = "ms",
                                      .baseline = "worst Allocate request, CPU",
                                      .base = alloc});
        snprintf(fig, sizeof(fig), "worst request: %d x Allocate (%zu GPUs), CPU",
                 PLUGIN_MAX_CONTAINER_REQUESTS, inv->resources[ri].n_devices);
        bench_row(&(struct bench_row){.figure = fig, .value = alloc, .unit = "ms"});
    }
    inventory_unref(inv);
    return pref < 0 || alloc < 0;
}
