#pragma once

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

/* Conversions between gRPC core byte buffers and protobuf-c messages,
 * shared by the server and the test peers. */

/* Unpack bb into a new message of type desc. A NULL or empty buffer is the
 * empty message (grpc-go sends 0 bytes for Empty). Returns 0 and *ret (free
 * with protobuf_c_message_free_unpacked(*ret, NULL)), or -EBADMSG. */
int grpc_payload_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **ret);

/* Pack a message into a new byte buffer (caller destroys it with
 * grpc_byte_buffer_destroy), or NULL when out of memory. */
grpc_byte_buffer *grpc_payload_pack(const ProtobufCMessage *msg);
