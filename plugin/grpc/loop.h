#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "plugin/events/sink.h"
#include "plugin/grpc/backoff.h"
#include "plugin/config/options.h"
#include "topology/units/inventory.h"

/* Internals of the serving daemon shared by the plugin/ files that make it
 * up. Everything here belongs to the one gRPC thread unless marked
 * "any thread". */

#define plugin_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Every completion-queue tag is one of these, embedded in its owner. */
struct plugin_tag {
    void (*done)(struct plugin_tag *tag, bool ok);
};

enum plugin_method {
    PLUGIN_M_OPTIONS = 0,
    PLUGIN_M_LIST_WATCH,
    PLUGIN_M_PREFERRED,
    PLUGIN_M_ALLOCATE,
    PLUGIN_M_PRESTART,
    PLUGIN_M_COUNT,
};

enum plugin_server_state {
    PLUGIN_SRV_SERVING = 0,
    PLUGIN_SRV_STOPPING, /* shutdown requested, waiting for its tag */
    PLUGIN_SRV_DOWN,     /* no grpc_server (binding failed); retried on kubelet events */
};

enum plugin_reg_state {
    PLUGIN_REG_IDLE = 0,
    PLUGIN_REG_IN_FLIGHT,
    PLUGIN_REG_WAITING, /* retry at retry_at */
};

struct plugin_listener;
struct plugin_loop;
struct plugin_stream;

/* Register retries: a kubelet's socket file appears a moment before it
 * listens, so the first retry comes soon; failures double it up to max. */
#define PLUGIN_REGISTER_RETRY_FIRST_MS 10
#define PLUGIN_REGISTER_RETRY_MAX_MS 5000

/* The async Register client of one resource. */
struct plugin_register {
    enum plugin_reg_state state;
    bool again; /* asked while in flight: register once more afterwards */
    struct plugin_backoff backoff;
    gpr_timespec retry_at;
    struct plugin_tag tag;
    grpc_channel *channel;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *request, *response;
    grpc_status_code status;
    grpc_slice details;
};

/* One resource's grpc_server on its socket; survives restarts of the
 * grpc_server underneath (srv_gen counts them). Reference counted: pending
 * requests, calls and the loop hold references. */
struct plugin_server {
    int refs;
    struct plugin_loop *loop;
    struct plugin_server *next;
    char *resource;
    char *socket_name;
    char *socket_path;
    grpc_server *srv;
    struct plugin_listener *listener; /* our socket in front of srv */
    uint64_t srv_gen;
    void *methods[PLUGIN_M_COUNT];
    enum plugin_server_state state;
    bool need_restart; /* socket vanished: re-create it after the shutdown */
    bool need_register;
    bool removed; /* resource gone or daemon stopping: no restart */
    struct plugin_tag shutdown_tag;
    struct plugin_register reg;
    struct plugin_stream *streams; /* open ListAndWatch streams */
};

struct plugin_loop {
    const struct plugin_options *opts;
    grpc_completion_queue *cq;
    struct inventory *inv; /* current snapshot (one reference) */
    struct plugin_server *servers;
    char *kubelet_sock; /* "<dir>/kubelet.sock" */
    struct plugin_metrics *metrics; /* any thread (locks inside); NULL: off */
    bool stopping;

    /* Mailbox and wake-up; any thread, under lock. */
    pthread_mutex_t lock;
    unsigned events;
    struct inventory *pending_inv;
    uint64_t generation;
    bool wake_pending;
    bool wake_closed;
    grpc_channel *wake_channel;
    grpc_call *wake_call;
    struct plugin_tag wake_tag;

    /* Self-probe (self_probe.c), under lock: the sockets to probe, as the
     * loop last published them, and those that did not answer. */
    struct plugin_probe_target *probe_targets;
    size_t n_probe_targets;
    struct plugin_probe_target *probe_failed;
    size_t n_probe_failed;
};

/* A socket of a serving grpc_server: its path and generation (srv_gen). */
struct plugin_probe_target {
    char *path;
    uint64_t gen;
};

/* self_probe.c */

/* Publish the sockets that serve now as the probe's targets (loop thread;
 * after every change of a server's state). */
void plugin_self_probe_targets(struct plugin_loop *loop);
/* Take the failed probes and restart what did not answer; retry servers
 * left without a socket. Loop thread. */
void plugin_self_probe_apply(struct plugin_loop *loop);
/* Free the lists (teardown). */
void plugin_self_probe_destroy(struct plugin_loop *loop);

/* wake.c */

/* Create the lame channel and its call on loop->cq. 0 or -ENOMEM. */
int plugin_wake_init(struct plugin_loop *loop);
/* Post events (and optionally a snapshot, whose reference moves to the
 * loop) and wake the loop. Any thread; dropped once the wake is closed. */
void plugin_loop_post(struct plugin_loop *loop, unsigned events, struct inventory *inv);
/* Stop accepting posts; the loop still drains a pending wake. */
void plugin_wake_close(struct plugin_loop *loop);
/* True while a wake tag is still on its way to the queue. */
bool plugin_wake_busy(struct plugin_loop *loop);
/* Release the call, the channel and an unclaimed snapshot (not busy). */
void plugin_wake_destroy(struct plugin_loop *loop);

/* server.c */

/* New server for resource on socket_name in the kubelet dir (one
 * reference, the caller's; not started), or NULL (out of memory, socket
 * path too long: logged). */
struct plugin_server *plugin_server_new(struct plugin_loop *loop, const char *resource,
                                        const char *socket_name);
/* Bind the socket, start a grpc_server and accept calls (DOWN -> SERVING).
 * 0, or -errno with the server left DOWN (logged). */
int plugin_server_start(struct plugin_server *s);
/* Cancel registration and calls, begin the shutdown (SERVING -> STOPPING);
 * plugin_loop_server_stopped follows. No-op in other states. */
void plugin_server_stop(struct plugin_server *s);
struct plugin_server *plugin_server_ref(struct plugin_server *s);
void plugin_server_unref(struct plugin_server *s);
/* Whether our socket file is still in the kubelet dir. */
bool plugin_server_socket_exists(const struct plugin_server *s);

/* calls.c: accept calls of every method on the current grpc_server. */
int plugin_calls_request_all(struct plugin_server *s);
/* Finish a unary call: response (owned, may be NULL) and status. */
void plugin_call_answer(grpc_call *call, grpc_byte_buffer *response, grpc_status_code code,
                        const char *message);

/* handlers.c: answer one unary call (takes the call). */
void plugin_handle_unary(struct plugin_server *s, enum plugin_method m, grpc_call *call,
                         grpc_byte_buffer *payload);

/* list_watch.c */

/* Open a ListAndWatch stream on call (taken) and send the current list. */
void plugin_list_watch_start(struct plugin_server *s, grpc_call *call);
/* Send the current list on every open stream of s (coalesced). */
void plugin_list_watch_push(struct plugin_server *s);

/* register.c */

/* Register s with the kubelet now (fresh backoff); once more after an
 * attempt in flight. Failures retry with backoff while s serves. */
void plugin_register_request(struct plugin_server *s);
/* Cancel an attempt in flight and any pending retry. */
void plugin_register_cancel(struct plugin_server *s);
/* Start the retry of s when it is due at now. */
void plugin_register_fire_due(struct plugin_server *s, gpr_timespec now);
/* Forget registration state (s is being freed; nothing in flight). */
void plugin_register_destroy(struct plugin_server *s);

/* runtime.c: hand a completion-queue event to its tag's owner. */
void plugin_loop_dispatch(grpc_event ev);

/* loop.c */

/* Take the mailbox (events, new snapshot) and act on it; never blocks. */
void plugin_loop_handle_events(struct plugin_loop *loop);
/* Fire due register retries; the next retry time (infinite when none). */
gpr_timespec plugin_loop_deadline(struct plugin_loop *loop);
/* Act on the servers' need_restart/need_register flags. */
void plugin_loop_reconcile(struct plugin_loop *loop);
/* Called by server.c once a grpc_server has shut down: restart or drop s. */
void plugin_loop_server_stopped(struct plugin_server *s);
/* Stop serving: every server shuts down and leaves the list. Idempotent. */
void plugin_loop_stop(struct plugin_loop *loop);
