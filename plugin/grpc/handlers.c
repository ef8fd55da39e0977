#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/metrics/metrics.h"
#include "plugin/grpc/pb_inventory.h"
#include "plugin/grpc/status.h"
#include "proto/api.pb-c.h"

/* What a handler hands back: a packed response or an error status. */
struct plugin_reply {
    grpc_byte_buffer *response;
    grpc_status_code code;
    char message[512];
};

static void
reply_error(struct plugin_reply *rep, grpc_status_code code, const char *msg)
{
    rep->code = code;
    snprintf(rep->message, sizeof(rep->message), "%s", msg);
}

static void
reply_pack(struct plugin_reply *rep, const ProtobufCMessage *msg)
{
    rep->response = grpc_payload_pack(msg);
    if (!rep->response)
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
}

/* "a,b,c" for logs, quoted as a key=value field; buf always terminated. */
static const char *
ids_field(char *const *ids, size_t n, char *buf, size_t len)
{
    char joined[1024];
    size_t o = 0;

    joined[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof(joined); i++)
        o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s%s", i ? "," : "", ids[i]);
    return log_quote(joined, buf, len);
}

static void
handle_options(struct plugin_reply *rep)
{
    V1beta1__DevicePluginOptions o = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;

    o.pre_start_required = 0;
    o.get_preferred_allocation_available = 1;
    reply_pack(rep, &o.base);
}

static void
preferred_one(const struct inventory *inv, int res,
              const V1beta1__ContainerPreferredAllocationRequest *cr,
              V1beta1__ContainerPreferredAllocationResponse *out, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **ids = NULL;
    size_t n = 0;
    int r;

    if (cr->allocation_size < 0) {
        reply_error(rep, GRPC_STATUS_INVALID_ARGUMENT, "allocation_size is negative");
        return;
    }
    r = inventory_preferred(
        inv, (size_t)res, (const char *const *)cr->available_deviceids, cr->n_available_deviceids,
        (const char *const *)cr->must_include_deviceids, cr->n_must_include_deviceids,
        (size_t)cr->allocation_size, &ids, &n, &err);
    if (r < 0) {
        reply_error(rep, plugin_status_from_errno(r), err.msg);
        return;
    }
    out->deviceids = ids;
    out->n_deviceids = n;
}

static void
handle_preferred(struct plugin_server *s, const struct inventory *inv, int res,
                 grpc_byte_buffer *payload, struct plugin_reply *rep)
{
    V1beta1__PreferredAllocationResponse resp = V1BETA1__PREFERRED_ALLOCATION_RESPONSE__INIT;
    V1beta1__PreferredAllocationRequest *req = NULL;
    V1beta1__ContainerPreferredAllocationResponse *outs = NULL;
    size_t n;

    if (grpc_payload_unpack(payload, &v1beta1__preferred_allocation_request__descriptor,
                            (ProtobufCMessage **)&req) < 0) {
        reply_error(rep, GRPC_STATUS_INVALID_ARGUMENT, "malformed PreferredAllocationRequest");
        return;
    }
    n = req->n_container_requests;
    outs = calloc(n + 1, sizeof(*outs));
    resp.container_responses = calloc(n + 1, sizeof(*resp.container_responses));
    if (!outs || !resp.container_responses)
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; outs && resp.container_responses && i < n && rep->code == GRPC_STATUS_OK;
         i++) {
        v1beta1__container_preferred_allocation_response__init(&outs[i]);
        resp.container_responses[i] = &outs[i];
        resp.n_container_responses = i + 1;
        preferred_one(inv, res, req->container_requests[i], &outs[i], rep);
    }
    if (rep->code == GRPC_STATUS_OK) {
        reply_pack(rep, &resp.base);
        for (size_t i = 0; i < resp.n_container_responses; i++) {
            char buf[1100];

            log_info("preferred", "resource=%s size=%d ids=%s", s->resource,
                     req->container_requests[i]->allocation_size,
                     ids_field(outs[i].deviceids, outs[i].n_deviceids, buf, sizeof(buf)));
        }
    } else {
        log_warn("preferred_refused", "resource=%s code=%s error=%s", s->resource,
                 plugin_status_name(rep->code), log_quote(rep->message, (char[600]){0}, 600));
    }
    plugin_metrics_inc(s->loop->metrics, PLUGIN_CTR_PREFERRED, s->resource,
                       rep->code == GRPC_STATUS_OK ? "ok" : "refused");
    for (size_t i = 0; i < resp.n_container_responses; i++)
        inventory_free_strv(outs[i].deviceids, outs[i].n_deviceids);
    free(outs);
    free(resp.container_responses);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void
allocate_one(struct plugin_server *s, const struct inventory *inv, int res,
             const V1beta1__ContainerAllocateRequest *cr, struct inv_allocation *alloc,
             V1beta1__ContainerAllocateResponse **out, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char buf[1100];
    int r;

    r = inventory_allocate(inv, (size_t)res, (const char *const *)cr->devices_ids,
                           cr->n_devices_ids, alloc, &err);
    ids_field(cr->devices_ids, cr->n_devices_ids, buf, sizeof(buf));
    plugin_metrics_allocation(s->loop->metrics, s->resource, r);
    if (r < 0) {
        reply_error(rep, plugin_status_from_errno(r), err.msg);
        log_warn("allocate_refused", "resource=%s ids=%s code=%s error=%s", s->resource, buf,
                 plugin_status_name(rep->code), log_quote(err.msg, (char[600]){0}, 600));
        return;
    }
    *out = pb_container_allocation_new(s->resource, alloc);
    if (!*out) {
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    log_info("allocate", "resource=%s ids=%s nodes=%zu", s->resource, buf, alloc->n_nodes);
}

static void
handle_allocate(struct plugin_server *s, const struct inventory *inv, int res,
                grpc_byte_buffer *payload, struct plugin_reply *rep)
{
    V1beta1__AllocateResponse resp = V1BETA1__ALLOCATE_RESPONSE__INIT;
    V1beta1__AllocateRequest *req = NULL;
    struct inv_allocation *allocs;
    size_t n;

    if (grpc_payload_unpack(payload, &v1beta1__allocate_request__descriptor,
                            (ProtobufCMessage **)&req) < 0) {
        reply_error(rep, GRPC_STATUS_INVALID_ARGUMENT, "malformed AllocateRequest");
        return;
    }
    n = req->n_container_requests;
    allocs = calloc(n + 1, sizeof(*allocs));
    resp.container_responses = calloc(n + 1, sizeof(*resp.container_responses));
    if (!allocs || !resp.container_responses)
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; allocs && resp.container_responses && i < n && rep->code == GRPC_STATUS_OK;
         i++) {
        allocate_one(s, inv, res, req->container_requests[i], &allocs[i],
                     &resp.container_responses[i], rep);
        if (resp.container_responses[i])
            resp.n_container_responses = i + 1;
    }
    if (rep->code == GRPC_STATUS_OK)
        reply_pack(rep, &resp.base);
    for (size_t i = 0; i < resp.n_container_responses; i++)
        pb_container_allocation_free(resp.container_responses[i]);
    for (size_t i = 0; allocs && i < n; i++)
        inventory_allocation_clear(&allocs[i]);
    free(allocs);
    free(resp.container_responses);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void
handle_prestart(grpc_byte_buffer *payload, struct plugin_reply *rep)
{
    V1beta1__PreStartContainerResponse resp = V1BETA1__PRE_START_CONTAINER_RESPONSE__INIT;
    ProtobufCMessage *req;

    if (grpc_payload_unpack(payload, &v1beta1__pre_start_container_request__descriptor, &req) < 0) {
        reply_error(rep, GRPC_STATUS_INVALID_ARGUMENT, "malformed PreStartContainerRequest");
        return;
    }
    protobuf_c_message_free_unpacked(req, NULL);
    reply_pack(rep, &resp.base);
}

void
plugin_handle_unary(struct plugin_server *s, enum plugin_method m, grpc_call *call,
                    grpc_byte_buffer *payload)
{
    /* The call answers from the snapshot current at its arrival. */
    struct inventory *inv = inventory_ref(s->loop->inv);
    struct plugin_reply rep = {.code = GRPC_STATUS_OK};
    int res = inventory_find_resource(inv, s->resource);

    if (m != PLUGIN_M_OPTIONS && m != PLUGIN_M_PRESTART && res < 0) {
        snprintf(rep.message, sizeof(rep.message), "resource %s is no longer served", s->resource);
        rep.code = GRPC_STATUS_FAILED_PRECONDITION;
    } else {
        switch (m) {
        case PLUGIN_M_OPTIONS: handle_options(&rep); break;
        case PLUGIN_M_PREFERRED: handle_preferred(s, inv, res, payload, &rep); break;
        case PLUGIN_M_ALLOCATE: handle_allocate(s, inv, res, payload, &rep); break;
        case PLUGIN_M_PRESTART: handle_prestart(payload, &rep); break;
        case PLUGIN_M_LIST_WATCH:
        case PLUGIN_M_COUNT: reply_error(&rep, GRPC_STATUS_INTERNAL, "not a unary method"); break;
        }
    }
    plugin_call_answer(call, rep.response, rep.code,
                       rep.code == GRPC_STATUS_OK ? NULL : rep.message);
    inventory_unref(inv);
}
