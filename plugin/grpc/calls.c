#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/status.h"
#include "topology/base/cleanup.h"

/* One outstanding "give me the next call" on a grpc_server, for a
 * registered method or (method == PLUGIN_M_COUNT) for any other path. */
struct plugin_request {
    struct plugin_tag tag;
    struct plugin_server *s;
    uint64_t gen;
    enum plugin_method method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details;
};

/* A unary answer in flight. */
struct plugin_answer {
    struct plugin_tag tag;
    grpc_call *call;
    grpc_byte_buffer *response;
    grpc_slice details;
    int cancelled;
};

static void request_done(struct plugin_tag *tag, bool ok);

static void
request_free(struct plugin_request *rq)
{
    grpc_metadata_array_destroy(&rq->md);
    if (rq->method == PLUGIN_M_COUNT)
        grpc_call_details_destroy(&rq->details);
    if (rq->payload)
        grpc_byte_buffer_destroy(rq->payload);
    plugin_server_unref(rq->s);
    free(rq);
}

static int
request_one(struct plugin_server *s, enum plugin_method m)
{
    struct plugin_request *rq = calloc(1, sizeof(*rq));
    grpc_call_error e;
    grpc_completion_queue *cq = s->loop->cq;

    if (!rq)
        return -ENOMEM;
    rq->tag.done = request_done;
    rq->s = plugin_server_ref(s);
    rq->gen = s->srv_gen;
    rq->method = m;
    grpc_metadata_array_init(&rq->md);
    if (m == PLUGIN_M_COUNT) {
        grpc_call_details_init(&rq->details);
        e = grpc_server_request_call(s->srv, &rq->call, &rq->details, &rq->md, cq, cq, &rq->tag);
    } else {
        e = grpc_server_request_registered_call(s->srv, s->methods[m], &rq->call, &rq->deadline,
                                                &rq->md, &rq->payload, cq, cq, &rq->tag);
    }
    if (e != GRPC_CALL_OK) {
        log_error("request_call_failed", "resource=%s grpc_call_error=%d", s->resource, (int)e);
        request_free(rq);
        return -EIO;
    }
    return 0;
}

int
plugin_calls_request_all(struct plugin_server *s)
{
    int r = 0;

    for (int m = 0; m <= PLUGIN_M_COUNT && r == 0; m++)
        r = request_one(s, (enum plugin_method)m);
    return r;
}

static void
unimplemented(struct plugin_server *s, grpc_call *call, const grpc_call_details *d)
{
    int len = (int)GRPC_SLICE_LENGTH(d->method);
    const char *method = (const char *)GRPC_SLICE_START_PTR(d->method);
    _cleanup_free_ char *msg = NULL;

    if (asprintf(&msg, "unknown method %.*s", len, method) < 0)
        msg = NULL;
    log_info("unimplemented", "resource=%s method=%.*s", s->resource, len, method);
    plugin_call_answer(call, NULL, GRPC_STATUS_UNIMPLEMENTED, msg ? msg : "unknown method");
}

static void
request_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_request *rq = plugin_container_of(tag, struct plugin_request, tag);
    struct plugin_server *s = rq->s;
    grpc_call *call = rq->call;

    if (!ok) { /* the server is shutting down */
        request_free(rq);
        return;
    }
    if (s->state != PLUGIN_SRV_SERVING || s->srv_gen != rq->gen || s->loop->stopping) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_UNAVAILABLE, "plugin stopping", NULL);
        grpc_call_unref(call);
        request_free(rq);
        return;
    }
    /* Ask for the next one first: a slow handler must not stall accepts. */
    request_one(s, rq->method);
    if (rq->method == PLUGIN_M_COUNT)
        unimplemented(s, call, &rq->details);
    else if (rq->method == PLUGIN_M_LIST_WATCH)
        plugin_list_watch_start(s, call);
    else
        plugin_handle_unary(s, rq->method, call, rq->payload);
    request_free(rq);
}

static void
answer_free(struct plugin_answer *a)
{
    grpc_call_unref(a->call);
    if (a->response)
        grpc_byte_buffer_destroy(a->response);
    grpc_slice_unref(a->details);
    free(a);
}

static void
answer_done(struct plugin_tag *tag, bool ok)
{
    (void)ok;
    answer_free(plugin_container_of(tag, struct plugin_answer, tag));
}

void
plugin_call_answer(grpc_call *call, grpc_byte_buffer *response, grpc_status_code code,
                   const char *message)
{
    struct plugin_answer *a = calloc(1, sizeof(*a));
    grpc_op ops[4];
    size_t n = 0;

    if (!a) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
        grpc_call_unref(call);
        if (response)
            grpc_byte_buffer_destroy(response);
        return;
    }
    a->tag.done = answer_done;
    a->call = call;
    a->response = code == GRPC_STATUS_OK ? response : NULL;
    if (code != GRPC_STATUS_OK && response)
        grpc_byte_buffer_destroy(response);
    a->details = grpc_slice_from_copied_string(message ? message : "");
    memset(ops, 0, sizeof(ops));
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (a->response) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = a->response;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = message ? &a->details : NULL;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &a->cancelled;
    if (grpc_call_start_batch(call, ops, n, &a->tag, NULL) != GRPC_CALL_OK) {
        log_error("answer_failed", "status=%s", plugin_status_name(code));
        answer_free(a);
    }
}
