#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/metrics/metrics.h"
#include "plugin/grpc/status.h"
#include "plugin/grpc/unary_ops.h"
#include "proto/api.pb-c.h"
#include "topology/base/cleanup.h"
#include "topology/base/macros.h"

/* Registration with the kubelet runs as an ordinary client call on the
 * loop's queue: the loop must keep serving, because the kubelet dials back
 * and calls GetDevicePluginOptions before its Register returns. */

#define REGISTER_TIMEOUT_MS 10000

static void register_done(struct plugin_tag *tag, bool ok);

static void
attempt_clear(struct plugin_register *reg)
{
    if (reg->call)
        grpc_call_unref(reg->call);
    if (reg->channel)
        grpc_channel_destroy(reg->channel);
    if (reg->request)
        grpc_byte_buffer_destroy(reg->request);
    if (reg->response)
        grpc_byte_buffer_destroy(reg->response);
    grpc_metadata_array_destroy(&reg->initial_md);
    grpc_metadata_array_destroy(&reg->trailing_md);
    grpc_slice_unref(reg->details);
    reg->call = NULL;
    reg->channel = NULL;
    reg->request = reg->response = NULL;
    reg->details = grpc_empty_slice();
}

static grpc_byte_buffer *
register_request_pack(const struct plugin_server *s)
{
    V1beta1__RegisterRequest req = V1BETA1__REGISTER_REQUEST__INIT;
    V1beta1__DevicePluginOptions opts = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;

    req.version = "v1beta1";
    req.endpoint = s->socket_name;
    req.resource_name = s->resource;
    /* Ignored by the kubelet (it asks GetDevicePluginOptions), sent for
     * consistency with what we serve. */
    opts.get_preferred_allocation_available = 1;
    req.options = &opts;
    return grpc_payload_pack(&req.base);
}

static int
register_start_batch(struct plugin_server *s)
{
    struct plugin_register *reg = &s->reg;
    const struct plugin_unary_io io = {reg->request,   &reg->initial_md, &reg->trailing_md,
                                       &reg->response, &reg->status,     &reg->details};
    grpc_op ops[PLUGIN_UNARY_OPS];

    plugin_unary_ops(ops, &io, 0);
    if (grpc_call_start_batch(reg->call, ops, PLUGIN_UNARY_OPS, &reg->tag, NULL) != GRPC_CALL_OK)
        return -EIO;
    return 0;
}

/* A channel of its own for one attempt. A restarted kubelet is a new peer:
 * a subchannel shared with an earlier channel (libgrpc's global pool)
 * would carry that one's reconnect backoff, ~1 s after a dial refused in
 * the moment between the kubelet's bind() and listen(). Retrying is ours
 * (register_retry_later), so libgrpc's own backoff is kept short. */
static grpc_channel *
register_channel(const char *kubelet_sock)
{
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
         .value.integer = 1},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
         .value.integer = PLUGIN_REGISTER_RETRY_FIRST_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
         .value.integer = PLUGIN_REGISTER_RETRY_FIRST_MS},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
         .value.integer = PLUGIN_REGISTER_RETRY_MAX_MS},
    };
    grpc_channel_args channel_args = {.num_args = ARRAY_SIZE(args), .args = args};
    grpc_channel_credentials *creds;
    grpc_channel *ch;
    char *target;

    if (asprintf(&target, "unix:%s", kubelet_sock) < 0)
        return NULL;
    creds = grpc_insecure_credentials_create();
    ch = grpc_channel_create(target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    free(target);
    return ch;
}

static int
register_start(struct plugin_server *s)
{
    struct plugin_register *reg = &s->reg;
    gpr_timespec deadline;

    reg->tag.done = register_done;
    grpc_metadata_array_init(&reg->initial_md);
    grpc_metadata_array_init(&reg->trailing_md);
    reg->details = grpc_empty_slice();
    reg->request = register_request_pack(s);
    reg->channel = register_channel(s->loop->kubelet_sock);
    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_millis(REGISTER_TIMEOUT_MS, GPR_TIMESPAN));
    if (reg->channel)
        reg->call = grpc_channel_create_call(
            reg->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->loop->cq,
            grpc_slice_from_static_string("/v1beta1.Registration/Register"), NULL, deadline, NULL);
    if (!reg->request || !reg->call || register_start_batch(s) < 0) {
        attempt_clear(reg);
        return -ENOMEM;
    }
    reg->state = PLUGIN_REG_IN_FLIGHT;
    reg->again = false;
    plugin_server_ref(s);
    log_debug("register_start", "resource=%s kubelet=%s", s->resource, s->loop->kubelet_sock);
    return 0;
}

static void
register_retry_later(struct plugin_server *s)
{
    uint32_t ms = plugin_backoff_next(&s->reg.backoff);

    s->reg.state = PLUGIN_REG_WAITING;
    s->reg.retry_at =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
    log_debug("register_retry", "resource=%s in_ms=%u", s->resource, ms);
}

static void
register_attempt(struct plugin_server *s)
{
    if (register_start(s) < 0) {
        log_error("register_failed", "resource=%s error=\"cannot start the call\"", s->resource);
        register_retry_later(s);
    }
}

static void
register_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_register *reg = plugin_container_of(tag, struct plugin_register, tag);
    struct plugin_server *s = plugin_container_of(reg, struct plugin_server, reg);
    bool alive = s->state == PLUGIN_SRV_SERVING && !s->loop->stopping;
    char details[300];

    snprintf(details, sizeof(details), "%.*s", (int)GRPC_SLICE_LENGTH(reg->details),
             (const char *)GRPC_SLICE_START_PTR(reg->details));
    reg->state = PLUGIN_REG_IDLE;
    if (ok && reg->status == GRPC_STATUS_OK) {
        log_info("registered", "resource=%s endpoint=%s", s->resource, s->socket_name);
        plugin_metrics_inc(s->loop->metrics, PLUGIN_CTR_REGISTRATIONS, s->resource, "ok");
        plugin_backoff_reset(&reg->backoff);
    } else if (alive || reg->status != GRPC_STATUS_CANCELLED) {
        log_warn("register_failed", "resource=%s code=%s error=%s", s->resource,
                 plugin_status_name(reg->status), LOG_QUOTED(details));
        plugin_metrics_inc(s->loop->metrics, PLUGIN_CTR_REGISTRATIONS, s->resource, "failed");
        if (alive && !reg->again)
            register_retry_later(s);
    }
    attempt_clear(reg);
    if (alive && reg->again)
        register_attempt(s);
    plugin_server_unref(s);
}

void
plugin_register_request(struct plugin_server *s)
{
    struct plugin_register *reg = &s->reg;

    if (s->state != PLUGIN_SRV_SERVING || s->loop->stopping)
        return;
    plugin_backoff_reset(&reg->backoff);
    switch (reg->state) {
    case PLUGIN_REG_IN_FLIGHT:
        reg->again = true;
        break;
    case PLUGIN_REG_WAITING:
    case PLUGIN_REG_IDLE:
        register_attempt(s);
        break;
    }
}

void
plugin_register_cancel(struct plugin_server *s)
{
    switch (s->reg.state) {
    case PLUGIN_REG_IN_FLIGHT:
        s->reg.again = false;
        grpc_call_cancel(s->reg.call, NULL);
        break;
    case PLUGIN_REG_WAITING:
        s->reg.state = PLUGIN_REG_IDLE;
        break;
    case PLUGIN_REG_IDLE:
        break;
    }
}

void
plugin_register_fire_due(struct plugin_server *s, gpr_timespec now)
{
    if (s->reg.state == PLUGIN_REG_WAITING && gpr_time_cmp(now, s->reg.retry_at) >= 0)
        register_attempt(s);
}

void
plugin_register_destroy(struct plugin_server *s)
{
    /* Only reached with no call in flight (the call holds a reference). */
    s->reg.state = PLUGIN_REG_IDLE;
}
