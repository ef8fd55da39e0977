#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/log/log.h"
#include "plugin/grpc/loop.h"
#include "plugin/grpc/pb_inventory.h"

/* One open ListAndWatch stream. At most one send is in flight; a change
 * that arrives meanwhile marks the stream dirty and the next send carries
 * the list current at that time (changes coalesce). */
struct plugin_stream {
    struct plugin_stream *next;
    struct plugin_server *s;
    grpc_call *call;
    struct plugin_tag send_tag, close_tag;
    grpc_byte_buffer *out;
    bool sending, dirty, closed, sent_metadata;
    int cancelled;
};

static void
stream_maybe_free(struct plugin_stream *st)
{
    struct plugin_server *s = st->s;

    if (!st->closed || st->sending)
        return;
    for (struct plugin_stream **p = &s->streams; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
    log_debug("list_closed", "resource=%s", s->resource);
    grpc_call_unref(st->call);
    free(st);
    plugin_server_unref(s);
}

static grpc_byte_buffer *
stream_pack(struct plugin_stream *st, size_t *ret_n, size_t *ret_healthy)
{
    const struct inventory *inv = st->s->loop->inv;
    int r = inventory_find_resource(inv, st->s->resource);
    static const struct inv_resource none = {0};
    const struct inv_resource *res = r >= 0 ? &inv->resources[r] : &none;
    V1beta1__ListAndWatchResponse *msg = pb_list_response_new(res);
    grpc_byte_buffer *bb;

    if (!msg)
        return NULL;
    bb = grpc_payload_pack(&msg->base);
    pb_list_response_free(msg);
    *ret_n = res->n_devices;
    *ret_healthy = 0;
    for (size_t i = 0; i < res->n_devices; i++)
        *ret_healthy += res->devices[i].healthy;
    return bb;
}

static void
stream_send(struct plugin_stream *st)
{
    grpc_op ops[2];
    size_t n = 0, n_dev = 0, n_healthy = 0;

    st->dirty = false;
    st->out = stream_pack(st, &n_dev, &n_healthy);
    if (!st->out) {
        log_error("list_failed", "resource=%s error=\"out of memory\"", st->s->resource);
        grpc_call_cancel(st->call, NULL);
        return;
    }
    memset(ops, 0, sizeof(ops));
    if (!st->sent_metadata)
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = st->out;
    if (grpc_call_start_batch(st->call, ops, n, &st->send_tag, NULL) != GRPC_CALL_OK) {
        log_error("list_failed", "resource=%s error=\"start_batch\"", st->s->resource);
        grpc_byte_buffer_destroy(st->out);
        st->out = NULL;
        grpc_call_cancel(st->call, NULL);
        return;
    }
    st->sent_metadata = true;
    st->sending = true;
    log_info("list_sent", "resource=%s devices=%zu healthy=%zu generation=%llu", st->s->resource,
             n_dev, n_healthy, (unsigned long long)st->s->loop->inv->generation);
}

static void
send_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_stream *st = plugin_container_of(tag, struct plugin_stream, send_tag);

    grpc_byte_buffer_destroy(st->out);
    st->out = NULL;
    st->sending = false;
    /* A failed send means the stream is going away; the close tag says when. */
    if (ok && st->dirty && !st->closed && !st->s->loop->stopping)
        stream_send(st);
    stream_maybe_free(st);
}

static void
close_done(struct plugin_tag *tag, bool ok)
{
    struct plugin_stream *st = plugin_container_of(tag, struct plugin_stream, close_tag);

    (void)ok;
    st->closed = true;
    stream_maybe_free(st);
}

void
plugin_list_watch_start(struct plugin_server *s, grpc_call *call)
{
    struct plugin_stream *st = calloc(1, sizeof(*st));
    grpc_op op;

    if (!st) {
        grpc_call_cancel_with_status(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", NULL);
        grpc_call_unref(call);
        return;
    }
    st->s = plugin_server_ref(s);
    st->call = call;
    st->send_tag.done = send_done;
    st->close_tag.done = close_done;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &st->cancelled;
    if (grpc_call_start_batch(call, &op, 1, &st->close_tag, NULL) != GRPC_CALL_OK) {
        grpc_call_cancel(call, NULL);
        grpc_call_unref(call);
        plugin_server_unref(s);
        free(st);
        return;
    }
    st->next = s->streams;
    s->streams = st;
    log_info("list_open", "resource=%s", s->resource);
    stream_send(st);
}

void
plugin_list_watch_push(struct plugin_server *s)
{
    for (struct plugin_stream *st = s->streams; st; st = st->next) {
        if (st->closed)
            continue;
        if (st->sending)
            st->dirty = true;
        else
            stream_send(st);
    }
}
