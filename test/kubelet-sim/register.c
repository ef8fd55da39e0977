#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "plugin/grpc/grpc_payload.h"
#include "test/kubelet-sim/ksim-priv.h"

/* The Registration service: one thread, one completion queue. A Register
 * call is handled synchronously on that thread (dial back, options, start
 * the stream), as the kubelet does before it answers. */

#define REGISTER_METHOD "/v1beta1.Registration/Register"
#define API_VERSION "v1beta1"

static char shutdown_tag;

struct reg_call {
    bool responding;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_byte_buffer *resp;
    grpc_slice details;
    int cancelled;
};

static void
reg_call_free(struct reg_call *rc)
{
    if (rc->call)
        grpc_call_unref(rc->call);
    grpc_metadata_array_destroy(&rc->md);
    if (rc->payload)
        grpc_byte_buffer_destroy(rc->payload);
    if (rc->resp)
        grpc_byte_buffer_destroy(rc->resp);
    grpc_slice_unref(rc->details);
    free(rc);
}

static int
request_next(struct ksim *sim, void *method)
{
    struct reg_call *rc = calloc(1, sizeof(*rc));

    if (!rc)
        return -ENOMEM;
    grpc_metadata_array_init(&rc->md);
    rc->details = grpc_empty_slice();
    if (grpc_server_request_registered_call(sim->server, method, &rc->call, &rc->deadline,
                                            &rc->md, &rc->payload, sim->cq, sim->cq,
                                            rc) != GRPC_CALL_OK) {
        reg_call_free(rc);
        return -EIO;
    }
    return 0;
}

static void
note_rejection(struct ksim *sim, const char *msg)
{
    char *copy = strdup(msg);

    pthread_mutex_lock(&sim->mu);
    sim->rejections++;
    if (copy) {
        free(sim->last_reject);
        sim->last_reject = copy;
    }
    pthread_cond_broadcast(&sim->cond);
    pthread_mutex_unlock(&sim->mu);
}

/* Make reg the current registration of its resource; the replaced one is
 * closed outside the lock. */
static int
install(struct ksim *sim, struct ksim_reg *reg)
{
    struct ksim_reg *old;
    struct ksim_res *res;

    pthread_mutex_lock(&sim->mu);
    res = ksim_res_get(sim, reg->resource, true);
    if (!res) {
        pthread_mutex_unlock(&sim->mu);
        return -ENOMEM;
    }
    old = res->reg;
    res->reg = reg;
    res->registrations++;
    pthread_cond_broadcast(&sim->cond);
    pthread_mutex_unlock(&sim->mu);
    if (old) {
        ksim_reg_close(old);
        ksim_reg_unref(old, false);
    }
    return 0;
}

static int
validate(struct ksim *sim, const V1beta1__RegisterRequest *req, char *msg, size_t len)
{
    if (strcmp(req->version, API_VERSION) != 0) {
        snprintf(msg, len, "requested device plugin API version \"%s\" is not supported (want %s)",
                 req->version, API_VERSION);
        return -EINVAL;
    }
    if (ksim_validate_resource_name(req->resource_name, msg, len) < 0)
        return -EINVAL;
    return ksim_validate_endpoint(sim->dir, req->endpoint, msg, len);
}

/* Decide the answer to one Register; returns the status, msg set on error. */
static grpc_status_code
handle_register(struct ksim *sim, grpc_byte_buffer *payload, char *msg, size_t len)
{
    V1beta1__RegisterRequest *req = NULL;
    struct ksim_reg *reg = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    int r;

    if (grpc_payload_unpack(payload, &v1beta1__register_request__descriptor,
                            (ProtobufCMessage **)&req) < 0) {
        snprintf(msg, len, "cannot parse RegisterRequest");
        note_rejection(sim, msg);
        return GRPC_STATUS_INVALID_ARGUMENT;
    }
    r = validate(sim, req, msg, len);
    if (r >= 0)
        r = ksim_reg_open(sim, req->resource_name, req->endpoint, &reg, msg, len);
    if (r >= 0 && (r = ksim_reg_start_stream(reg)) < 0)
        snprintf(msg, len, "ListAndWatch: %s", strerror(-r));
    if (r >= 0 && (r = install(sim, reg)) < 0)
        snprintf(msg, len, "%s", strerror(-r));
    if (r >= 0) {
        status = GRPC_STATUS_OK;
        msg[0] = '\0';
    } else {
        if (reg) {
            ksim_reg_close(reg);
            ksim_reg_unref(reg, false);
        }
        note_rejection(sim, msg);
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return status;
}

static int
respond(struct ksim *sim, struct reg_call *rc)
{
    V1beta1__Empty empty = V1BETA1__EMPTY__INIT;
    grpc_status_code status;
    grpc_op ops[4];
    char msg[512];
    size_t n = 0;

    status = handle_register(sim, rc->payload, msg, sizeof(msg));
    rc->details = grpc_slice_from_copied_string(msg);
    memset(ops, 0, sizeof(ops));
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (status == GRPC_STATUS_OK) {
        rc->resp = grpc_payload_pack(&empty.base);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = rc->resp;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n++].data.send_status_from_server.status_details = &rc->details;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &rc->cancelled;
    rc->responding = true;
    if (grpc_call_start_batch(rc->call, ops, n, rc, NULL) != GRPC_CALL_OK)
        return -EIO;
    return 0;
}

static void *
server_thread(void *arg)
{
    struct ksim *sim = arg;
    int outstanding = 0;
    bool shutting = false;

    if (request_next(sim, sim->method) == 0)
        outstanding++;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(sim->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                                   NULL);
        struct reg_call *rc = ev.tag;

        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &shutdown_tag) {
            shutting = true;
        } else if (!rc->responding && ev.success) {
            if (!shutting && request_next(sim, sim->method) == 0)
                outstanding++;
            if (respond(sim, rc) < 0) {
                reg_call_free(rc);
                outstanding--;
            }
        } else {
            reg_call_free(rc);
            outstanding--;
        }
        if (shutting && outstanding == 0)
            grpc_completion_queue_shutdown(sim->cq);
    }
    return NULL;
}

int
ksim_server_start(struct ksim *sim)
{
    int r;

    sim->listen_fd = sim->listen_stop_fd = -1;
    sim->cq = grpc_completion_queue_create_for_next(NULL);
    sim->server = grpc_server_create(NULL, NULL);
    sim->method = grpc_server_register_method(sim->server, REGISTER_METHOD, NULL,
                                              GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_register_completion_queue(sim->server, sim->cq, NULL);
    grpc_server_start(sim->server);
    r = -pthread_create(&sim->thread, NULL, server_thread, sim);
    if (r < 0) {
        grpc_server_shutdown_and_notify(sim->server, sim->cq, &shutdown_tag);
        grpc_completion_queue_next(sim->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        grpc_server_destroy(sim->server);
        grpc_completion_queue_shutdown(sim->cq);
        while (grpc_completion_queue_next(sim->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
                   .type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(sim->cq);
        sim->server = NULL;
        sim->cq = NULL;
        return r;
    }
    sim->serving = true;
    r = ksim_listen_start(sim);
    if (r < 0)
        ksim_server_stop(sim);
    return r;
}

void
ksim_server_stop(struct ksim *sim)
{
    if (!sim->serving)
        return;
    ksim_listen_stop(sim);
    grpc_server_shutdown_and_notify(sim->server, sim->cq, &shutdown_tag);
    grpc_server_cancel_all_calls(sim->server);
    pthread_join(sim->thread, NULL);
    grpc_server_destroy(sim->server);
    grpc_completion_queue_destroy(sim->cq);
    sim->server = NULL;
    sim->cq = NULL;
    sim->serving = false;
}
