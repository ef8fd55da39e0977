#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/grpc/probe.h"
#include "plugin/grpc/socket_path.h"
#include "plugin/grpc/status.h"
#include "plugin/grpc/unary_ops.h"
#include "proto/api.pb-c.h"

#define OPTIONS_METHOD "/v1beta1.DevicePlugin/GetDevicePluginOptions"
/* The call's deadline bounds the wait; this guards a stuck transport. */
#define PROBE_GUARD_MS 1000

struct probe_call {
    grpc_metadata_array initial, trailing;
    grpc_byte_buffer *request, *response;
    grpc_status_code status;
    grpc_slice details;
};

static gpr_timespec
deadline_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_channel *
probe_dial(const char *path)
{
    grpc_arg arg = {.type = GRPC_ARG_STRING,
                    .key = (char *)GRPC_ARG_DEFAULT_AUTHORITY,
                    .value.string = (char *)"localhost"};
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = NULL;
    char *target;

    if (asprintf(&target, "unix:%s", path) >= 0) {
        ch = grpc_channel_create(target, creds, &args);
        free(target);
    }
    grpc_channel_credentials_release(creds);
    return ch;
}

/* Run the unary call to completion on a private queue. No wait-for-ready:
 * a socket nobody listens on fails at once with UNAVAILABLE. */
static int
probe_run(grpc_channel *ch, struct probe_call *pc, int timeout_ms)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string(OPTIONS_METHOD);
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               deadline_ms(timeout_ms), NULL);
    const struct plugin_unary_io io = {pc->request,   &pc->initial, &pc->trailing,
                                       &pc->response, &pc->status,  &pc->details};
    grpc_op ops[PLUGIN_UNARY_OPS];
    grpc_event ev;
    int r = -ENOMEM;

    plugin_unary_ops(ops, &io, 0);
    if (call && grpc_call_start_batch(call, ops, PLUGIN_UNARY_OPS, ops, NULL) == GRPC_CALL_OK) {
        ev = grpc_completion_queue_pluck(cq, ops, deadline_ms(timeout_ms + PROBE_GUARD_MS), NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            grpc_call_cancel(call, NULL);
            grpc_completion_queue_pluck(cq, ops, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
            pc->status = GRPC_STATUS_DEADLINE_EXCEEDED;
        }
        r = 0;
    }
    if (call)
        grpc_call_unref(call);
    plugin_unary_cq_destroy(cq);
    return r;
}

/* Turn the call's outcome into 0 or -errno with err. */
static int
probe_result(const char *path, struct probe_call *pc, int timeout_ms, struct topo_error *err)
{
    ProtobufCMessage *msg = NULL;
    char *details;
    int r;

    if (pc->status == GRPC_STATUS_OK) {
        r = grpc_payload_unpack(pc->response, &v1beta1__device_plugin_options__descriptor, &msg);
        if (r < 0)
            return topo_error_set(err, r,
                                  "%s: GetDevicePluginOptions answer is not "
                                  "DevicePluginOptions",
                                  path);
        protobuf_c_message_free_unpacked(msg, NULL);
        return 0;
    }
    if (pc->status == GRPC_STATUS_DEADLINE_EXCEEDED)
        return topo_error_set(err, -ETIMEDOUT, "%s: no answer to GetDevicePluginOptions in %d ms",
                              path, timeout_ms);
    if (pc->status == GRPC_STATUS_UNAVAILABLE)
        return topo_error_set(err, -ECONNREFUSED, "%s: nobody serves the socket", path);
    details = grpc_slice_to_c_string(pc->details);
    r = topo_error_set(err, -EPROTO, "%s: GetDevicePluginOptions failed: %s%s%s", path,
                       plugin_status_name(pc->status), details && *details ? ": " : "",
                       details ? details : "");
    gpr_free(details);
    return r;
}

/* A unix socket at path, or -errno with err (saves a dial to nowhere). */
static int
probe_check_path(const char *path, struct topo_error *err)
{
    struct stat st;

    if (strlen(path) > PLUGIN_SOCKET_PATH_MAX)
        return topo_error_set(err, -ENAMETOOLONG,
                              "%s: longer than the %d bytes of a unix socket "
                              "path",
                              path, PLUGIN_SOCKET_PATH_MAX);
    if (stat(path, &st) < 0)
        return topo_error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return topo_error_set(err, -ENOTSOCK, "%s: not a socket", path);
    return 0;
}

int
plugin_probe_socket(const char *path, int timeout_ms, struct topo_error *err)
{
    V1beta1__Empty empty = V1BETA1__EMPTY__INIT;
    struct probe_call pc = {.status = GRPC_STATUS_UNKNOWN};
    grpc_channel *ch;
    int r;

    if (timeout_ms < 1)
        return topo_error_set(err, -EINVAL, "probe timeout %d ms: must be at least 1", timeout_ms);
    r = probe_check_path(path, err);
    if (r < 0)
        return r;
    grpc_init();
    grpc_metadata_array_init(&pc.initial);
    grpc_metadata_array_init(&pc.trailing);
    pc.details = grpc_empty_slice();
    pc.request = grpc_payload_pack(&empty.base);
    ch = probe_dial(path);
    r = pc.request && ch ? probe_run(ch, &pc, timeout_ms) : -ENOMEM;
    r = r < 0 ? topo_error_set(err, r, "%s: out of memory", path)
              : probe_result(path, &pc, timeout_ms, err);
    if (ch)
        grpc_channel_destroy(ch);
    if (pc.request)
        grpc_byte_buffer_destroy(pc.request);
    if (pc.response)
        grpc_byte_buffer_destroy(pc.response);
    grpc_slice_unref(pc.details);
    grpc_metadata_array_destroy(&pc.initial);
    grpc_metadata_array_destroy(&pc.trailing);
    grpc_shutdown();
    return r;
}
