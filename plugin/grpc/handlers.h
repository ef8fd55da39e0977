#pragma once

#include <stddef.h>
#include <stdint.h>

#include <grpc/status.h>

#include "topology/units/inventory.h"

/* The unary DevicePlugin methods, from request bytes to response bytes,
 * without any gRPC call: the server and the fuzz targets share it. */

enum plugin_unary {
    PLUGIN_UNARY_OPTIONS = 0,
    PLUGIN_UNARY_PREFERRED,
    PLUGIN_UNARY_ALLOCATE,
    PLUGIN_UNARY_PRESTART,
};

/* What a handler hands back: a packed response or an error status. */
struct plugin_reply {
    uint8_t *data; /* packed response (malloc'ed) when code is OK */
    size_t len;
    grpc_status_code code;
    char message[512];
};

struct plugin_metrics;

/* Who answers: the resource served and where its answers are counted. */
struct plugin_served {
    const char *resource;
    struct plugin_metrics *metrics; /* NULL: not counted */
};

/* Answer the request (len bytes, data may be NULL when len is 0) of
 * method m for sv->resource from the snapshot inv (borrowed). Logs one
 * line per answer or refusal and counts it. rep is filled; free it with
 * plugin_reply_clear. */
void plugin_handle_request(const struct plugin_served *sv, const struct inventory *inv,
                           enum plugin_unary m, const uint8_t *data, size_t len,
                           struct plugin_reply *rep);

void plugin_reply_clear(struct plugin_reply *rep);
