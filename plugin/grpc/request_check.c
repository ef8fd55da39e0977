#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/request_check.h"
#include "topology/base/cleanup.h"

/* Nested messages of the v1beta1 API are three deep; anything deeper is
 * left to the decoder. */
#define WIRE_MAX_DEPTH 8

struct wire {
    const uint8_t *p, *end;
};

static int
wire_varint(struct wire *w, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64 && w->p < w->end; shift += 7) {
        uint8_t b = *w->p++;

        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -EBADMSG;
}

/* Skip a field of wire type t; -EBADMSG when it does not fit. */
static int
wire_skip(struct wire *w, unsigned t)
{
    uint64_t v;
    size_t n;

    switch (t) {
    case 0:
        return wire_varint(w, &v);
    case 1:
        n = 8;
        break;
    case 5:
        n = 4;
        break;
    default:
        return -EBADMSG; /* groups and unknown types: the decoder decides */
    }
    if ((size_t)(w->end - w->p) < n)
        return -EBADMSG;
    w->p += n;
    return 0;
}

static int
check_message(const ProtobufCMessageDescriptor *desc, struct wire w, unsigned depth,
              struct topo_error *err)
{
    while (w.p < w.end && depth < WIRE_MAX_DEPTH) {
        const ProtobufCFieldDescriptor *f;
        uint64_t key, len;
        const uint8_t *nul;

        if (wire_varint(&w, &key) < 0)
            return 0;
        if ((key & 7) != 2) {
            if (wire_skip(&w, (unsigned)(key & 7)) < 0)
                return 0;
            continue;
        }
        if (wire_varint(&w, &len) < 0 || len > (uint64_t)(w.end - w.p))
            return 0;
        f = key >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                : NULL;
        if (f && f->type == PROTOBUF_C_TYPE_STRING && (nul = memchr(w.p, 0, (size_t)len)))
            return topo_error_set(err, -EINVAL,
                                  "%s.%s holds a NUL byte at position %zu of a %zu-byte string; "
                                  "device IDs must be exactly the IDs the plugin lists, such as "
                                  "0000:18:00.0",
                                  desc->short_name, f->name, (size_t)(nul - w.p), (size_t)len);
        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            int r = check_message(f->descriptor, (struct wire){w.p, w.p + len}, depth + 1, err);

            if (r < 0)
                return r;
        }
        w.p += len;
    }
    return 0;
}

int
plugin_request_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                             size_t len, struct topo_error *err)
{
    if (!data)
        return 0;
    return check_message(desc, (struct wire){data, data + len}, 0, err);
}

struct named_id {
    const char *id;
    size_t container; /* 1-based, for messages */
};

static int
named_cmp(const void *a, const void *b)
{
    const struct named_id *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c ? c : (x->container > y->container) - (x->container < y->container);
}

/* Sort and look for an ID named twice; ids is reordered. */
static int
check_twice(struct named_id *ids, size_t n, const char *what, struct topo_error *err)
{
    qsort(ids, n, sizeof(*ids), named_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ids[i - 1].id, ids[i].id) != 0)
            continue;
        if (ids[i - 1].container == ids[i].container)
            return topo_error_set(err, -EINVAL,
                                  "device %s is named twice in %s of container "
                                  "request %zu; name each device once",
                                  ids[i].id, what, ids[i].container);
        return topo_error_set(err, -EINVAL,
                              "device %s is named by container requests %zu and "
                              "%zu; a device can go to one container only",
                              ids[i].id, ids[i - 1].container, ids[i].container);
    }
    return 0;
}

static int
check_containers(const char *what, size_t n, struct topo_error *err)
{
    if (n == 0)
        return topo_error_set(err, -EINVAL,
                              "%s has no container requests; send one per "
                              "container",
                              what);
    if (n > PLUGIN_MAX_CONTAINER_REQUESTS)
        return topo_error_set(err, -EINVAL,
                              "%s has %zu container requests; at most %d are "
                              "accepted (the kubelet sends one)",
                              what, n, PLUGIN_MAX_CONTAINER_REQUESTS);
    return 0;
}

int
plugin_request_check_allocate(const V1beta1__AllocateRequest *req, struct topo_error *err)
{
    _cleanup_free_ struct named_id *ids = NULL;
    size_t total = 0, k = 0;
    int r = check_containers("AllocateRequest", req->n_container_requests, err);

    if (r < 0)
        return r;
    for (size_t c = 0; c < req->n_container_requests; c++)
        total += req->container_requests[c]->n_devices_ids;
    if (total > PLUGIN_MAX_REQUEST_IDS)
        return topo_error_set(err, -EINVAL,
                              "AllocateRequest names %zu device IDs; at most %d "
                              "are accepted",
                              total, PLUGIN_MAX_REQUEST_IDS);
    ids = calloc(total ? total : 1, sizeof(*ids));
    if (!ids)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t c = 0; c < req->n_container_requests; c++)
        for (size_t i = 0; i < req->container_requests[c]->n_devices_ids; i++)
            ids[k++] = (struct named_id){req->container_requests[c]->devices_ids[i], c + 1};
    return check_twice(ids, total, "devices_ids", err);
}

/* One list of one container request: the cap, and no ID twice. */
static int
check_list(char *const *list, size_t n, const char *what, size_t container, struct topo_error *err)
{
    _cleanup_free_ struct named_id *ids = NULL;

    if (n > PLUGIN_MAX_REQUEST_IDS)
        return topo_error_set(err, -EINVAL,
                              "container request %zu lists %zu %s; at most %d are "
                              "accepted",
                              container, n, what, PLUGIN_MAX_REQUEST_IDS);
    ids = calloc(n ? n : 1, sizeof(*ids));
    if (!ids)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = (struct named_id){list[i], container};
    return check_twice(ids, n, what, err);
}

int
plugin_request_check_preferred(const V1beta1__PreferredAllocationRequest *req,
                               struct topo_error *err)
{
    int r = check_containers("PreferredAllocationRequest", req->n_container_requests, err);

    for (size_t c = 0; r == 0 && c < req->n_container_requests; c++) {
        const V1beta1__ContainerPreferredAllocationRequest *cr = req->container_requests[c];

        if (cr->allocation_size < 0 || cr->allocation_size > PLUGIN_MAX_REQUEST_IDS)
            return topo_error_set(err, -EINVAL,
                                  "container request %zu asks for %d devices; "
                                  "allocation_size must be 1 to %d",
                                  c + 1, cr->allocation_size, PLUGIN_MAX_REQUEST_IDS);
        r = check_list(cr->available_deviceids, cr->n_available_deviceids, "available_deviceIDs",
                       c + 1, err);
        if (r == 0)
            r = check_list(cr->must_include_deviceids, cr->n_must_include_deviceids,
                           "must_include_deviceIDs", c + 1, err);
    }
    return r;
}
