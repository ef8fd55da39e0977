#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "proto/api.pb-c.h"

/* A kubelet simulator for tests: serves /v1beta1.Registration/Register on
 * <dir>/kubelet.sock, validates each request like the kubelet, dials the
 * plugin back and calls GetDevicePluginOptions before answering, then keeps
 * one ListAndWatch stream per registered resource and records every list.
 * All calls are thread-safe and bounded by timeouts. */

struct ksim;

/* Default deadline of the unary calls made for the caller (ms). */
#define KSIM_CALL_TIMEOUT_MS 10000

/* Start serving <dir>/kubelet.sock (dir must exist). Returns 0 and *ret
 * (stop with ksim_stop), or -errno. */
int ksim_start(const char *dir, struct ksim **ret);

/* Stop serving, end every stream, remove kubelet.sock (like a clean kubelet
 * stop) and free sim. NULL is ignored. */
void ksim_stop(struct ksim *sim);

/* Kubelet restart: stop serving, drop every registration and stream, delete
 * every socket file in the dir, then listen on a new kubelet.sock.
 * Returns 0 or -errno (the sim is then not serving; ksim_stop still frees). */
int ksim_restart(struct ksim *sim);

/* From the next (re)start on, wait ms between bind() of kubelet.sock and
 * listen(): a dial in that gap is refused, as with a real kubelet whose
 * socket file appears a moment before it listens. 0 by default. */
void ksim_set_listen_delay(struct ksim *sim, int ms);

/* Wait until resource has a current registration (one made after the last
 * restart). Returns 0 or -ETIMEDOUT. */
int ksim_wait_registered(struct ksim *sim, const char *resource, int timeout_ms);

/* Wait until resource has been registered at least min_count times in the
 * sim's life (restarts included). Returns 0 or -ETIMEDOUT. */
int ksim_wait_registrations(struct ksim *sim, const char *resource, unsigned min_count,
                            int timeout_ms);

/* Number of successful registrations of resource so far (0 if never). */
unsigned ksim_registrations(struct ksim *sim, const char *resource);

/* Names of the resources currently registered, sorted; caller frees each
 * string and the array. Returns the count or -ENOMEM. */
int ksim_registered(struct ksim *sim, char ***ret_names);

/* Rejected Register requests so far, and a copy of the last rejection
 * message (caller frees; NULL when none). */
unsigned ksim_rejections(struct ksim *sim, char **ret_last_msg);

/* Wait until the current registration of resource received at least
 * min_count ListAndWatch lists. Returns 0, -ETIMEDOUT, or -EPIPE when the
 * stream ended before that. */
int ksim_wait_lists(struct ksim *sim, const char *resource, size_t min_count, int timeout_ms);

/* The last list received on the current registration and the number of
 * lists so far. Returns 0 and *ret (free with
 * protobuf_c_message_free_unpacked), -ENOENT when not registered, or
 * -ENODATA when no list arrived yet. ret_count may be NULL. */
int ksim_last_list(struct ksim *sim, const char *resource, V1beta1__ListAndWatchResponse **ret,
                   size_t *ret_count);

/* The DevicePluginOptions returned at registration. 0 or -ENOENT. */
int ksim_options(struct ksim *sim, const char *resource, bool *ret_pre_start,
                 bool *ret_preferred);

/* Whether the ListAndWatch stream of the current registration ended, with
 * its status. Returns 1 (ended), 0 (open) or -ENOENT. */
int ksim_stream_ended(struct ksim *sim, const char *resource, grpc_status_code *ret_status);

/* Call method_path on the plugin registered for resource with request req
 * (NULL sends zero bytes, like an Empty from grpc-go). The call always
 * completes within timeout_ms. Returns 0 when the call completed (whatever
 * its status): *ret_status, *ret_msg (caller frees) and, for status OK with
 * resp_desc set, *ret (free with protobuf_c_message_free_unpacked; NULL
 * otherwise). Returns -ENOENT when not registered, -EBADMSG when an OK
 * answer does not parse, other -errno on local failure. ret may be NULL. */
int ksim_call(struct ksim *sim, const char *resource, const char *method_path,
              const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
              int timeout_ms, ProtobufCMessage **ret, grpc_status_code *ret_status,
              char **ret_msg);

/* Allocate of ids (one container request). Same contract as ksim_call. */
int ksim_allocate(struct ksim *sim, const char *resource, const char *const *ids, size_t n,
                  V1beta1__AllocateResponse **ret, grpc_status_code *ret_status, char **ret_msg);

/* GetPreferredAllocation (one container request). Same contract as ksim_call. */
int ksim_preferred(struct ksim *sim, const char *resource, const char *const *available,
                   size_t n_available, const char *const *must, size_t n_must, int size,
                   V1beta1__PreferredAllocationResponse **ret, grpc_status_code *ret_status,
                   char **ret_msg);

/* Kubelet's Register validation, exposed for tests. Returns 0 or -EINVAL
 * with a reason in msg (msg_len bytes). */
int ksim_validate_resource_name(const char *name, char *msg, size_t msg_len);
int ksim_validate_endpoint(const char *dir, const char *endpoint, char *msg, size_t msg_len);

/* The endpoint (socket file name) of the current registration of resource
 * (caller frees), or NULL when not registered. */
char *ksim_endpoint(struct ksim *sim, const char *resource);
