#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/grpc/unary_ops.h"
#include "test/kubelet-sim/ksim-priv.h"

gpr_timespec
ksim_deadline_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_byte_buffer *
unary_payload(const ProtobufCMessage *req)
{
    grpc_slice empty;
    grpc_byte_buffer *bb;

    if (req)
        return grpc_payload_pack(req);
    empty = grpc_empty_slice();
    bb = grpc_raw_byte_buffer_create(&empty, 1);
    grpc_slice_unref(empty);
    return bb;
}

/* Wait for the batch tag; the deadline of the call bounds it, the extra
 * second and the cancel are a guard against a stuck transport. */
static void
unary_wait(grpc_completion_queue *cq, grpc_call *call, void *tag, int timeout_ms)
{
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, ksim_deadline_ms(timeout_ms + 1000), NULL);

    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        grpc_call_cancel(call, NULL);
        grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
}

static int
unary_result(grpc_status_code status, grpc_slice details, grpc_byte_buffer *resp,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret,
             grpc_status_code *ret_status, char **ret_msg)
{
    ProtobufCMessage *msg = NULL;
    char *text;
    int r;

    if (status == GRPC_STATUS_OK && resp_desc) {
        r = grpc_payload_unpack(resp, resp_desc, &msg);
        if (r < 0)
            return r;
    }
    text = grpc_slice_to_c_string(details);
    if (!text) {
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        return -ENOMEM;
    }
    /* grpc_slice_to_c_string allocates with gpr_malloc: hand out a malloc copy. */
    *ret_msg = strdup(text);
    gpr_free(text);
    if (!*ret_msg) {
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        return -ENOMEM;
    }
    *ret_status = status;
    if (ret)
        *ret = msg;
    else if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}

int
ksim_unary(grpc_channel *ch, const char *method, const ProtobufCMessage *req,
           const ProtobufCMessageDescriptor *resp_desc, int timeout_ms, ProtobufCMessage **ret,
           grpc_status_code *ret_status, char **ret_msg)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice path = grpc_slice_from_copied_string(method);
    grpc_metadata_array initial, trailing;
    grpc_byte_buffer *send = unary_payload(req), *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const struct plugin_unary_io io = {send, &initial, &trailing, &resp, &status, &details};
    grpc_op ops[PLUGIN_UNARY_OPS];
    grpc_call *call;
    int r = -EIO;

    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, path, NULL,
                                    ksim_deadline_ms(timeout_ms), NULL);
    plugin_unary_ops(ops, &io, GRPC_INITIAL_METADATA_WAIT_FOR_READY);
    if (call && send &&
        grpc_call_start_batch(call, ops, PLUGIN_UNARY_OPS, ops, NULL) == GRPC_CALL_OK) {
        unary_wait(cq, call, ops, timeout_ms);
        r = unary_result(status, details, resp, resp_desc, ret, ret_status, ret_msg);
    }
    if (call)
        grpc_call_unref(call);
    plugin_unary_cq_destroy(cq);
    if (send)
        grpc_byte_buffer_destroy(send);
    if (resp)
        grpc_byte_buffer_destroy(resp);
    grpc_slice_unref(details);
    grpc_slice_unref(path);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    return r;
}
