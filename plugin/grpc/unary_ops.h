#pragma once

#include <stdint.h>

#include <grpc/grpc.h>

/* The one batch of a unary client call (registration, probes, test peers). */

#define PLUGIN_UNARY_OPS 6

/* Where the batch takes its request from and puts the answer (all set). */
struct plugin_unary_io {
    grpc_byte_buffer *request;
    grpc_metadata_array *initial_md, *trailing_md;
    grpc_byte_buffer **response;
    grpc_status_code *status;
    grpc_slice *details;
};

/* Fill ops[PLUGIN_UNARY_OPS]: send initial metadata (with initial_flags,
 * e.g. GRPC_INITIAL_METADATA_WAIT_FOR_READY), the request and close; receive
 * initial metadata, the response and the status. Nothing is allocated. */
void plugin_unary_ops(grpc_op *ops, const struct plugin_unary_io *io, uint32_t initial_flags);

/* Shut down the pluck queue of a finished blocking call, drain it to
 * GRPC_QUEUE_SHUTDOWN and destroy it. */
void plugin_unary_cq_destroy(grpc_completion_queue *cq);
