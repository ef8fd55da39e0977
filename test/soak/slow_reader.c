#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "test/kubelet-sim/ksim-priv.h"
#include "test/soak/soak.h"

#define LAW "/v1beta1.DevicePlugin/ListAndWatch"
#define PAUSE_MS 5
#define WINDOW_BYTES 1024

struct soak_slow_reader {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    pthread_t thread;
    pthread_mutex_t lock;
    int lists;
    bool stop;
    bool started;
    bool status_started;
    grpc_metadata_array initial, trailing;
    grpc_status_code status;
    grpc_slice details;
};

static grpc_channel *
dial(const char *path)
{
    grpc_arg a[] = {
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
         .value.integer = 1},
        {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_HTTP2_BDP_PROBE, .value.integer = 0},
        {.type = GRPC_ARG_INTEGER,
         .key = (char *)GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
         .value.integer = WINDOW_BYTES},
    };
    grpc_channel_args args = {.num_args = sizeof(a) / sizeof(a[0]), .args = a};
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

static bool
stopping(struct soak_slow_reader *r)
{
    bool stop;

    pthread_mutex_lock(&r->lock);
    stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

/* Wait for one message; the thread cancels its own call when asked to
 * stop. NULL when the stream ended. */
static grpc_byte_buffer *
recv_one(struct soak_slow_reader *r)
{
    grpc_byte_buffer *bb = NULL;
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    bool cancelled = false;
    grpc_event ev;

    op.data.recv_message.recv_message = &bb;
    if (grpc_call_start_batch(r->call, &op, 1, &op, NULL) != GRPC_CALL_OK)
        return NULL;
    for (;;) {
        ev = grpc_completion_queue_pluck(r->cq, &op, ksim_deadline_ms(100), NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            break;
        if (!cancelled && stopping(r)) {
            grpc_call_cancel(r->call, NULL);
            cancelled = true;
        }
    }
    if (!ev.success && bb) {
        grpc_byte_buffer_destroy(bb);
        bb = NULL;
    }
    return bb;
}

/* Receive until the stream ends or we stop, sleeping between messages. */
static void *
reader_main(void *arg)
{
    struct soak_slow_reader *r = arg;
    struct timespec pause = {.tv_nsec = PAUSE_MS * 1000000L};
    grpc_byte_buffer *bb;

    while (!stopping(r) && (bb = recv_one(r))) {
        grpc_byte_buffer_destroy(bb);
        pthread_mutex_lock(&r->lock);
        r->lists++;
        pthread_mutex_unlock(&r->lock);
        nanosleep(&pause, NULL);
    }
    grpc_call_cancel(r->call, NULL);
    return NULL;
}

static char start_tag, status_tag;

int
soak_slow_reader_start(const char *socket_path, struct soak_slow_reader **ret)
{
    struct soak_slow_reader *r = calloc(1, sizeof(*r));
    grpc_slice empty = grpc_empty_slice();
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&empty, 1);
    grpc_op ops[4], st;

    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->ch = dial(socket_path);
    r->cq = grpc_completion_queue_create_for_pluck(NULL);
    r->call = grpc_channel_create_call(r->ch, NULL, GRPC_PROPAGATE_DEFAULTS, r->cq,
                                       grpc_slice_from_static_string(LAW), NULL,
                                       gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &r->initial;
    memset(&st, 0, sizeof(st));
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &r->trailing;
    st.data.recv_status_on_client.status = &r->status;
    st.data.recv_status_on_client.status_details = &r->details;
    grpc_metadata_array_init(&r->initial);
    grpc_metadata_array_init(&r->trailing);
    r->details = grpc_empty_slice();
    if (grpc_call_start_batch(r->call, ops, 4, &start_tag, NULL) != GRPC_CALL_OK ||
        !(r->status_started =
              grpc_call_start_batch(r->call, &st, 1, &status_tag, NULL) == GRPC_CALL_OK) ||
        grpc_completion_queue_pluck(r->cq, &start_tag, ksim_deadline_ms(5000), NULL).type !=
            GRPC_OP_COMPLETE ||
        !(r->started = pthread_create(&r->thread, NULL, reader_main, r) == 0)) {
        grpc_byte_buffer_destroy(req);
        grpc_slice_unref(empty);
        soak_slow_reader_stop(r);
        return -EIO;
    }
    grpc_byte_buffer_destroy(req);
    grpc_slice_unref(empty);
    *ret = r;
    return 0;
}

int
soak_slow_reader_lists(struct soak_slow_reader *r)
{
    int n;

    pthread_mutex_lock(&r->lock);
    n = r->lists;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void
soak_slow_reader_stop(struct soak_slow_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_mutex_unlock(&r->lock);
    if (r->started)
        pthread_join(r->thread, NULL);
    else if (r->call)
        grpc_call_cancel(r->call, NULL);
    if (r->status_started)
        grpc_completion_queue_pluck(r->cq, &status_tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (r->call)
        grpc_call_unref(r->call);
    grpc_metadata_array_destroy(&r->initial);
    grpc_metadata_array_destroy(&r->trailing);
    grpc_slice_unref(r->details);
    grpc_completion_queue_shutdown(r->cq);
    while (
        grpc_completion_queue_pluck(r->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
        GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(r->cq);
    if (r->ch)
        grpc_channel_destroy(r->ch);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
