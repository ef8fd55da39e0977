#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "plugin/grpc/handlers.h"
#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/metrics/metrics.h"
#include "plugin/grpc/pb_inventory.h"
#include "plugin/grpc/request_check.h"
#include "plugin/grpc/status.h"
#include "proto/api.pb-c.h"
#include "topology/base/cleanup.h"

static void
reply_error(struct plugin_reply *rep, grpc_status_code code, const char *msg)
{
    rep->code = code;
    snprintf(rep->message, sizeof(rep->message), "%s", msg);
}

static void
reply_pack(struct plugin_reply *rep, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);

    rep->data = malloc(len ? len : 1);
    if (!rep->data) {
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    rep->len = protobuf_c_message_pack(msg, rep->data);
}

void
plugin_reply_clear(struct plugin_reply *rep)
{
    if (!rep)
        return;
    free(rep->data);
    rep->data = NULL;
    rep->len = 0;
}

/* Decode the request: no string cut short at a NUL byte, then protobuf-c.
 * 0 and *ret, or the refusal in rep. */
static int
unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
       ProtobufCMessage **ret, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    ProtobufCMessage *msg;

    if (plugin_request_check_strings(desc, data, len, &err) < 0) {
        reply_error(rep, GRPC_STATUS_INVALID_ARGUMENT, err.msg);
        return -EINVAL;
    }
    msg = protobuf_c_message_unpack(desc, NULL, len, data ? data : (const uint8_t *)"");
    if (!msg) {
        snprintf(rep->message, sizeof(rep->message), "malformed %s", desc->short_name);
        rep->code = GRPC_STATUS_INVALID_ARGUMENT;
        return -EBADMSG;
    }
    *ret = msg;
    return 0;
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

/* The IDs of list that res has (the kubelet intersects the answer with
 * what it offered, so others are ignored), in a new array of borrowed
 * strings: the counts in refusals are then those of real devices. */
static const char **
known_ids(const struct inv_resource *res, char *const *list, size_t n, size_t *ret_n)
{
    const char **v = calloc(n ? n : 1, sizeof(*v));
    size_t k = 0;

    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (inventory_find_device(res, list[i]) >= 0)
            v[k++] = list[i];
    *ret_n = k;
    return v;
}

static void
preferred_one(const struct inventory *inv, int res,
              const V1beta1__ContainerPreferredAllocationRequest *cr,
              V1beta1__ContainerPreferredAllocationResponse *out, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    size_t n_avail = 0;
    _cleanup_free_ const char **avail = known_ids(&inv->resources[res], cr->available_deviceids,
                                                  cr->n_available_deviceids, &n_avail);
    char **ids = NULL;
    size_t n = 0;
    int r;

    if (!avail) {
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    r = inventory_preferred(
        inv, (size_t)res, avail, n_avail, (const char *const *)cr->must_include_deviceids,
        cr->n_must_include_deviceids, (size_t)cr->allocation_size, &ids, &n, &err);
    if (r < 0) {
        reply_error(rep, plugin_status_from_errno(r), err.msg);
        return;
    }
    out->deviceids = ids;
    out->n_deviceids = n;
}

static void
preferred_all(const struct plugin_served *sv, const struct inventory *inv, int res,
              const V1beta1__PreferredAllocationRequest *req, struct plugin_reply *rep)
{
    V1beta1__PreferredAllocationResponse resp = V1BETA1__PREFERRED_ALLOCATION_RESPONSE__INIT;
    size_t n = req->n_container_requests;
    V1beta1__ContainerPreferredAllocationResponse *outs = calloc(n + 1, sizeof(*outs));

    resp.container_responses =
        calloc(n + 1, sizeof(V1beta1__ContainerPreferredAllocationResponse *));
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

            log_info("preferred", "resource=%s size=%d ids=%s", sv->resource,
                     req->container_requests[i]->allocation_size,
                     ids_field(outs[i].deviceids, outs[i].n_deviceids, buf, sizeof(buf)));
        }
    }
    plugin_metrics_inc(sv->metrics, PLUGIN_CTR_PREFERRED, sv->resource,
                       rep->code == GRPC_STATUS_OK ? "ok" : "refused");
    for (size_t i = 0; i < resp.n_container_responses; i++)
        inventory_free_strv(outs[i].deviceids, outs[i].n_deviceids);
    free(outs);
    free(resp.container_responses);
}

static void
handle_preferred(const struct plugin_served *sv, const struct inventory *inv, int res,
                 const uint8_t *data, size_t len, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    V1beta1__PreferredAllocationRequest *req = NULL;

    if (unpack(&v1beta1__preferred_allocation_request__descriptor, data, len,
               (ProtobufCMessage **)&req, rep) == 0) {
        if (plugin_request_check_preferred(req, &err) < 0)
            reply_error(rep, plugin_status_from_errno(err.code), err.msg);
        else
            preferred_all(sv, inv, res, req, rep);
    }
    if (rep->code != GRPC_STATUS_OK)
        log_warn("preferred_refused", "resource=%s code=%s error=%s", sv->resource,
                 plugin_status_name(rep->code), LOG_QUOTED(rep->message));
    if (req)
        protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void
allocate_one(const struct plugin_served *sv, const struct inventory *inv, int res,
             const V1beta1__ContainerAllocateRequest *cr, struct inv_allocation *alloc,
             V1beta1__ContainerAllocateResponse **out, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char buf[1100];
    int r;

    r = inventory_allocate(inv, (size_t)res, (const char *const *)cr->devices_ids,
                           cr->n_devices_ids, alloc, &err);
    ids_field(cr->devices_ids, cr->n_devices_ids, buf, sizeof(buf));
    plugin_metrics_allocation(sv->metrics, sv->resource, r);
    if (r < 0) {
        reply_error(rep, plugin_status_from_errno(r), err.msg);
        log_warn("allocate_refused", "resource=%s ids=%s code=%s error=%s", sv->resource, buf,
                 plugin_status_name(rep->code), LOG_QUOTED(err.msg));
        return;
    }
    *out = pb_container_allocation_new(sv->resource, alloc);
    if (!*out) {
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    log_info("allocate", "resource=%s ids=%s nodes=%zu", sv->resource, buf, alloc->n_nodes);
}

static void
allocate_all(const struct plugin_served *sv, const struct inventory *inv, int res,
             const V1beta1__AllocateRequest *req, struct plugin_reply *rep)
{
    V1beta1__AllocateResponse resp = V1BETA1__ALLOCATE_RESPONSE__INIT;
    size_t n = req->n_container_requests;
    struct inv_allocation *allocs = calloc(n + 1, sizeof(*allocs));

    resp.container_responses = calloc(n + 1, sizeof(V1beta1__ContainerAllocateResponse *));
    if (!allocs || !resp.container_responses)
        reply_error(rep, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; allocs && resp.container_responses && i < n && rep->code == GRPC_STATUS_OK;
         i++) {
        allocate_one(sv, inv, res, req->container_requests[i], &allocs[i],
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
}

static void
handle_allocate(const struct plugin_served *sv, const struct inventory *inv, int res,
                const uint8_t *data, size_t len, struct plugin_reply *rep)
{
    struct topo_error err = TOPO_ERROR_INIT;
    V1beta1__AllocateRequest *req = NULL;

    if (unpack(&v1beta1__allocate_request__descriptor, data, len, (ProtobufCMessage **)&req, rep) <
            0 ||
        plugin_request_check_allocate(req, &err) < 0) {
        if (err.code)
            reply_error(rep, plugin_status_from_errno(err.code), err.msg);
        plugin_metrics_allocation(sv->metrics, sv->resource, err.code ? err.code : -EBADMSG);
        log_warn("allocate_refused", "resource=%s code=%s error=%s", sv->resource,
                 plugin_status_name(rep->code), LOG_QUOTED(rep->message));
    } else {
        allocate_all(sv, inv, res, req, rep);
    }
    if (req)
        protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void
handle_prestart(const uint8_t *data, size_t len, struct plugin_reply *rep)
{
    V1beta1__PreStartContainerResponse resp = V1BETA1__PRE_START_CONTAINER_RESPONSE__INIT;
    ProtobufCMessage *req;

    if (unpack(&v1beta1__pre_start_container_request__descriptor, data, len, &req, rep) < 0)
        return;
    protobuf_c_message_free_unpacked(req, NULL);
    reply_pack(rep, &resp.base);
}

void
plugin_handle_request(const struct plugin_served *sv, const struct inventory *inv,
                      enum plugin_unary m, const uint8_t *data, size_t len,
                      struct plugin_reply *rep)
{
    int res = inventory_find_resource(inv, sv->resource);

    *rep = (struct plugin_reply){.code = GRPC_STATUS_OK};
    if (m != PLUGIN_UNARY_OPTIONS && m != PLUGIN_UNARY_PRESTART && res < 0) {
        snprintf(rep->message, sizeof(rep->message), "resource %s is no longer served",
                 sv->resource);
        rep->code = GRPC_STATUS_FAILED_PRECONDITION;
        return;
    }
    switch (m) {
    case PLUGIN_UNARY_OPTIONS:
        handle_options(rep);
        break;
    case PLUGIN_UNARY_PREFERRED:
        handle_preferred(sv, inv, res, data, len, rep);
        break;
    case PLUGIN_UNARY_ALLOCATE:
        handle_allocate(sv, inv, res, data, len, rep);
        break;
    case PLUGIN_UNARY_PRESTART:
        handle_prestart(data, len, rep);
        break;
    default:
        reply_error(rep, GRPC_STATUS_INTERNAL, "not a unary method");
        break;
    }
}

/* The method of the server's table as a unary one, or -EINVAL. */
static int
unary_of(enum plugin_method m, enum plugin_unary *ret)
{
    switch (m) {
    case PLUGIN_M_OPTIONS:
        *ret = PLUGIN_UNARY_OPTIONS;
        return 0;
    case PLUGIN_M_PREFERRED:
        *ret = PLUGIN_UNARY_PREFERRED;
        return 0;
    case PLUGIN_M_ALLOCATE:
        *ret = PLUGIN_UNARY_ALLOCATE;
        return 0;
    case PLUGIN_M_PRESTART:
        *ret = PLUGIN_UNARY_PRESTART;
        return 0;
    case PLUGIN_M_LIST_WATCH:
    case PLUGIN_M_COUNT:
    default:
        return -EINVAL;
    }
}

void
plugin_handle_unary(struct plugin_server *s, enum plugin_method m, grpc_call *call,
                    grpc_byte_buffer *payload)
{
    /* The call answers from the snapshot current at its arrival. */
    struct inventory *inv = inventory_ref(s->loop->inv);
    struct plugin_reply rep = {.code = GRPC_STATUS_OK};
    grpc_slice flat = grpc_empty_slice();
    grpc_byte_buffer_reader reader;
    grpc_byte_buffer *response = NULL;
    enum plugin_unary u;

    if (unary_of(m, &u) < 0) {
        reply_error(&rep, GRPC_STATUS_INTERNAL, "not a unary method");
    } else if (payload && !grpc_byte_buffer_reader_init(&reader, payload)) {
        reply_error(&rep, GRPC_STATUS_INVALID_ARGUMENT, "unreadable request");
    } else {
        if (payload) {
            flat = grpc_byte_buffer_reader_readall(&reader);
            grpc_byte_buffer_reader_destroy(&reader);
        }
        plugin_handle_request(&(struct plugin_served){s->resource, s->loop->metrics}, inv, u,
                              GRPC_SLICE_START_PTR(flat), GRPC_SLICE_LENGTH(flat), &rep);
    }
    grpc_slice_unref(flat);
    if (rep.code == GRPC_STATUS_OK) {
        grpc_slice out = grpc_slice_from_copied_buffer((const char *)rep.data, rep.len);

        response = grpc_raw_byte_buffer_create(&out, 1);
        grpc_slice_unref(out);
    }
    plugin_call_answer(call, response, rep.code, rep.code == GRPC_STATUS_OK ? NULL : rep.message);
    plugin_reply_clear(&rep);
    inventory_unref(inv);
}
