#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "test/kubelet-sim/ksim-priv.h"

#define OPTIONS_METHOD "/v1beta1.DevicePlugin/GetDevicePluginOptions"
#define LAW_METHOD "/v1beta1.DevicePlugin/ListAndWatch"
#define DIAL_TIMEOUT_MS 10000

static grpc_channel *
reg_dial(const char *dir, const char *endpoint)
{
    grpc_arg arg = {.type = GRPC_ARG_STRING,
                    .key = (char *)GRPC_ARG_DEFAULT_AUTHORITY,
                    .value.string = (char *)"localhost"};
    grpc_channel_args args = {.num_args = 1, .args = &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch;
    char *target;

    if (asprintf(&target, "unix:%s/%s", dir, endpoint) < 0) {
        grpc_channel_credentials_release(creds);
        return NULL;
    }
    ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    free(target);
    return ch;
}

static void
reg_free(struct ksim_reg *reg)
{
    if (reg->channel)
        grpc_channel_destroy(reg->channel);
    free(reg->last);
    free(reg->resource);
    free(reg->endpoint);
    free(reg);
}

void
ksim_reg_unref(struct ksim_reg *reg, bool locked)
{
    struct ksim *sim;
    bool last;

    if (!reg)
        return;
    sim = reg->sim;
    if (!locked)
        pthread_mutex_lock(&sim->mu);
    last = --reg->refs == 0;
    if (!locked)
        pthread_mutex_unlock(&sim->mu);
    if (last)
        reg_free(reg);
}

int
ksim_reg_open(struct ksim *sim, const char *resource, const char *endpoint,
              struct ksim_reg **ret, char *msg, size_t msg_len)
{
    V1beta1__DevicePluginOptions *opts = NULL;
    grpc_status_code status;
    struct ksim_reg *reg;
    char *details = NULL;
    int r;

    reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    reg->resource = strdup(resource);
    reg->endpoint = strdup(endpoint);
    if (!reg->resource || !reg->endpoint) {
        reg_free(reg);
        return -ENOMEM;
    }
    reg->refs = 1;
    reg->sim = sim;
    reg->channel = reg_dial(sim->dir, endpoint);
    if (!reg->channel) {
        reg_free(reg);
        return -ENOMEM;
    }
    r = ksim_unary(reg->channel, OPTIONS_METHOD, NULL, &v1beta1__device_plugin_options__descriptor,
                   DIAL_TIMEOUT_MS, (ProtobufCMessage **)&opts, &status, &details);
    if (r < 0) {
        snprintf(msg, msg_len, "GetDevicePluginOptions: %s", strerror(-r));
    } else if (status != GRPC_STATUS_OK) {
        snprintf(msg, msg_len, "GetDevicePluginOptions: status %d: %s", (int)status, details);
        r = -ECONNREFUSED;
    } else {
        reg->pre_start = opts->pre_start_required;
        reg->preferred = opts->get_preferred_allocation_available;
        protobuf_c_message_free_unpacked(&opts->base, NULL);
    }
    free(details);
    if (r < 0) {
        reg_free(reg);
        return r;
    }
    *ret = reg;
    return 0;
}

/* Record one received list (a copy of its bytes) and wake the waiters. */
static void
reg_record(struct ksim_reg *reg, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader reader;
    grpc_slice flat;
    uint8_t *copy;
    size_t len;

    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return;
    flat = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    len = GRPC_SLICE_LENGTH(flat);
    copy = malloc(len ? len : 1);
    if (copy)
        memcpy(copy, GRPC_SLICE_START_PTR(flat), len);
    grpc_slice_unref(flat);
    pthread_mutex_lock(&reg->sim->mu);
    if (copy) {
        free(reg->last);
        reg->last = copy;
        reg->last_len = len;
        reg->n_lists++;
    }
    pthread_cond_broadcast(&reg->sim->cond);
    pthread_mutex_unlock(&reg->sim->mu);
}

static bool
reg_recv(grpc_call *call, grpc_byte_buffer **bb, void *tag)
{
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};

    *bb = NULL;
    op.data.recv_message.recv_message = bb;
    return grpc_call_start_batch(call, &op, 1, tag, NULL) == GRPC_CALL_OK;
}

static char start_tag, status_tag, recv_tag;

/* Start the stream; *bb (the request) must live until the start tag. */
static bool
reg_begin(grpc_call *call, grpc_byte_buffer *bb, grpc_metadata_array *initial,
          grpc_metadata_array *trailing, grpc_status_code *status, grpc_slice *details)
{
    grpc_op ops[4], st;

    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = initial;
    memset(&st, 0, sizeof(st));
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = trailing;
    st.data.recv_status_on_client.status = status;
    st.data.recv_status_on_client.status_details = details;
    return grpc_call_start_batch(call, ops, 4, &start_tag, NULL) == GRPC_CALL_OK &&
           grpc_call_start_batch(call, &st, 1, &status_tag, NULL) == GRPC_CALL_OK;
}

/* Read lists until the stream ends (plugin closed it, or ksim_reg_close
 * cancelled it). Every op is tracked so the queue drains cleanly. */
static void
reg_loop(struct ksim_reg *reg, grpc_completion_queue *cq, grpc_call *call,
         grpc_status_code *status)
{
    grpc_metadata_array initial, trailing;
    grpc_slice empty = grpc_empty_slice(), details = grpc_empty_slice();
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&empty, 1), *bb = NULL;
    int pending = 0;
    bool done = false;

    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    *status = GRPC_STATUS_UNKNOWN;
    if (reg_begin(call, req, &initial, &trailing, status, &details)) {
        pending = 2;
        if (reg_recv(call, &bb, &recv_tag))
            pending++;
    }
    while (pending > 0) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);

        if (ev.type != GRPC_OP_COMPLETE)
            break;
        pending--;
        if (ev.tag == &status_tag) {
            done = true;
        } else if (ev.tag == &recv_tag) {
            if (bb) {
                reg_record(reg, bb);
                grpc_byte_buffer_destroy(bb);
                bb = NULL;
                if (!done && ev.success && reg_recv(call, &bb, &recv_tag))
                    pending++;
            }
        }
    }
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(empty);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
}

static void *
reg_thread(void *arg)
{
    struct ksim_reg *reg = arg;
    grpc_completion_queue *cq = reg->cq;
    grpc_call *call = reg->stream_owned;
    grpc_status_code status;

    reg_loop(reg, cq, call, &status);
    pthread_mutex_lock(&reg->sim->mu);
    reg->stream = NULL;
    reg->ended = true;
    reg->end_status = status;
    pthread_cond_broadcast(&reg->sim->cond);
    pthread_mutex_unlock(&reg->sim->mu);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    reg->cq = NULL;
    reg->stream_owned = NULL;
    return NULL;
}

int
ksim_reg_start_stream(struct ksim_reg *reg)
{
    grpc_slice path = grpc_slice_from_static_string(LAW_METHOD);
    int r;

    reg->cq = grpc_completion_queue_create_for_next(NULL);
    reg->stream_owned = grpc_channel_create_call(reg->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                 reg->cq, path, NULL,
                                                 gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (!reg->stream_owned) {
        grpc_completion_queue_shutdown(reg->cq);
        grpc_completion_queue_destroy(reg->cq);
        reg->cq = NULL;
        return -ENOMEM;
    }
    reg->stream = reg->stream_owned;
    r = -pthread_create(&reg->thread, NULL, reg_thread, reg);
    if (r < 0) {
        grpc_call_unref(reg->stream_owned);
        reg->stream = reg->stream_owned = NULL;
        grpc_completion_queue_shutdown(reg->cq);
        grpc_completion_queue_destroy(reg->cq);
        reg->cq = NULL;
        return r;
    }
    reg->thread_started = true;
    return 0;
}

void
ksim_reg_close(struct ksim_reg *reg)
{
    pthread_mutex_lock(&reg->sim->mu);
    if (reg->stream)
        grpc_call_cancel(reg->stream, NULL);
    pthread_mutex_unlock(&reg->sim->mu);
    if (reg->thread_started) {
        pthread_join(reg->thread, NULL);
        reg->thread_started = false;
    }
}
