#include <stdlib.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "plugin/grpc/grpc_payload.h"
#include "proto/api.pb-c.h"
#include "test/support/loop_fixture.h"
#include "test/support/suite.h"

/* ListAndWatch streams (plugin/grpc/list_watch.c) on the real loop, read by
 * a client call on the loop's own queue: the test drives both ends in one
 * thread, so it decides exactly when a send completes. */

#define DEV(n) "device 0000:0" #n ":00.0 Healthy -1 /dev/vfio/" #n "\n"
#define RES_A "resource example.com/a\n"

struct client;

struct client_tag {
    struct plugin_tag tag;
    struct client *c;
};

struct client {
    grpc_channel *channel;
    grpc_call *call;
    struct client_tag open_tag, recv_tag;
    int pending; /* tags not yet home */
    grpc_metadata_array md;
    grpc_byte_buffer *msg;
    size_t counts[8]; /* n_devices of each list received */
    size_t n;
};

static void client_recv(struct client *c);

static void
open_done(struct plugin_tag *tag, bool ok)
{
    struct client *c = ((struct client_tag *)tag)->c;

    (void)ok;
    c->pending--;
}

static void
recv_done(struct plugin_tag *tag, bool ok)
{
    struct client *c = ((struct client_tag *)tag)->c;
    ProtobufCMessage *m = NULL;

    c->pending--;
    if (!ok || !c->msg)
        return; /* the stream ended */
    CU_ASSERT_EQUAL(
        grpc_payload_unpack(c->msg, &v1beta1__list_and_watch_response__descriptor, &m), 0);
    grpc_byte_buffer_destroy(c->msg);
    c->msg = NULL;
    if (m && c->n < sizeof(c->counts) / sizeof(c->counts[0]))
        c->counts[c->n++] = ((V1beta1__ListAndWatchResponse *)m)->n_devices;
    protobuf_c_message_free_unpacked(m, NULL);
    client_recv(c);
}

static void
client_recv(struct client *c)
{
    grpc_op op;

    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->msg;
    CU_ASSERT_EQUAL_FATAL(grpc_call_start_batch(c->call, &op, 1, &c->recv_tag.tag, NULL),
                          GRPC_CALL_OK);
    c->pending++;
}

static void
client_open(struct client *c, struct loop_fixture *f, const char *socket_path)
{
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    char *target = NULL;
    grpc_op ops[3];

    memset(c, 0, sizeof(*c));
    c->open_tag = (struct client_tag){{open_done}, c};
    c->recv_tag = (struct client_tag){{recv_done}, c};
    grpc_metadata_array_init(&c->md);
    CU_ASSERT_FATAL(asprintf(&target, "unix:%s", socket_path) > 0);
    c->channel = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    free(target);
    c->call = grpc_channel_create_call(
        c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, f->loop->cq,
        grpc_slice_from_static_string("/v1beta1.DevicePlugin/ListAndWatch"), NULL,
        gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->call);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT; /* Empty request: no message */
    ops[2].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[2].data.recv_initial_metadata.recv_initial_metadata = &c->md;
    CU_ASSERT_EQUAL_FATAL(grpc_call_start_batch(c->call, ops, 3, &c->open_tag.tag, NULL),
                          GRPC_CALL_OK);
    c->pending++;
    client_recv(c);
}

static bool
client_idle(struct loop_fixture *f, const void *ctx)
{
    (void)f;
    return ((const struct client *)ctx)->pending == 0;
}

static void
client_close(struct client *c, struct loop_fixture *f)
{
    grpc_call_cancel(c->call, NULL);
    CU_ASSERT(lf_drive(f, client_idle, c, 5000));
    grpc_call_unref(c->call);
    grpc_channel_destroy(c->channel);
    grpc_metadata_array_destroy(&c->md);
}

struct want {
    const struct client *c;
    size_t n;
};

static bool
received(struct loop_fixture *f, const void *ctx)
{
    const struct want *w = ctx;

    (void)f;
    return w->c->n >= w->n;
}

static bool
never(struct loop_fixture *f, const void *ctx)
{
    (void)f;
    (void)ctx;
    return false;
}

static void
publish_now(struct loop_fixture *f, const char *text)
{
    /* Post and take the mailbox at once, without serving the queue: a send
     * started by the previous publish stays in flight meanwhile. */
    plugin_loop_post(f->loop, 0, lf_inventory(text));
    plugin_loop_handle_events(f->loop);
}

/* Serve resource a with one device and open a stream on it: the first
 * list has arrived on return. */
static void
start_streaming(struct loop_fixture *f, struct client *c)
{
    lf_start(f, RES_A DEV(1));
    client_open(c, f, lf_server(f, "example.com/a")->socket_path);
    CU_ASSERT_FATAL(lf_drive(f, received, &(struct want){c, 1}, 5000));
}

static void
test_changes_coalesce(void)
{
    struct loop_fixture f;
    struct client c;

    start_streaming(&f, &c);
    lf_drive(&f, never, NULL, 100); /* the first send's completion comes home */
    /* One change starts a send; two more arrive while it is in flight. */
    publish_now(&f, RES_A DEV(1) DEV(2));
    publish_now(&f, RES_A DEV(1) DEV(2) DEV(3));
    publish_now(&f, RES_A DEV(1) DEV(2) DEV(3) DEV(4));
    CU_ASSERT_FATAL(lf_drive(&f, received, &(struct want){&c, 3}, 5000));
    /* Nothing more comes: the list in between was never sent. */
    lf_drive(&f, never, NULL, 200);
    CU_ASSERT_EQUAL(c.n, 3);
    CU_ASSERT_EQUAL(c.counts[0], 1);
    CU_ASSERT_EQUAL(c.counts[1], 2);
    CU_ASSERT_EQUAL(c.counts[2], 4);
    client_close(&c, &f);
    lf_stop(&f);
}

static void
test_stream_ends_with_server(void)
{
    struct loop_fixture f;
    struct client c;

    start_streaming(&f, &c);
    /* The resource leaves the snapshot: its stream ends, the client's
     * pending read comes home empty. */
    lf_post(&f, 0, lf_inventory("resource example.com/b\n" DEV(2)));
    CU_ASSERT_FATAL(lf_drive(&f, client_idle, &c, 5000));
    CU_ASSERT_EQUAL(c.n, 1);
    CU_ASSERT_PTR_NULL(lf_server(&f, "example.com/a"));
    client_close(&c, &f);
    lf_stop(&f);
}

TEST_SUITE(grpc_list_watch, NULL, NULL, {"ListAndWatch changes coalesce", test_changes_coalesce},
           {"ListAndWatch stream ends with its resource", test_stream_ends_with_server})
