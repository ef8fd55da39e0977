#pragma once

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/api.pb-c.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* Checks that Allocate and GetPreferredAllocation requests pass before any
 * allocation work: every refusal is INVALID_ARGUMENT (-EINVAL) with a
 * message the user can act on. The caps bound the work one request can
 * cause (the kubelet sends one container request per call, and a node has
 * far fewer devices than PLUGIN_MAX_REQUEST_IDS). */

#define PLUGIN_MAX_CONTAINER_REQUESTS 4
#define PLUGIN_MAX_REQUEST_IDS 256

/* The raw request (len bytes of the message desc) holds no string with a
 * NUL byte: protobuf-c ends a string at its first NUL, so "0000:18:00.0\0x"
 * would otherwise pass for an ID we advertise. Malformed input is left to
 * the decoder. 0 or -EINVAL naming the field. */
int plugin_request_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                 size_t len, struct topo_error *err);

/* At least one and at most PLUGIN_MAX_CONTAINER_REQUESTS container
 * requests, at most PLUGIN_MAX_REQUEST_IDS IDs in all, no device named
 * twice (by one container request or by two). 0 or -EINVAL. */
int plugin_request_check_allocate(const V1beta1__AllocateRequest *req, struct topo_error *err);

/* The same caps per list and allocation size, no ID twice in one list;
 * 0 or -EINVAL. */
int plugin_request_check_preferred(const V1beta1__PreferredAllocationRequest *req,
                                   struct topo_error *err);
