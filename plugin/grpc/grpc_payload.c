#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "plugin/grpc/grpc_payload.h"

int
grpc_payload_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **ret)
{
    grpc_byte_buffer_reader reader;
    grpc_slice flat;
    ProtobufCMessage *msg;

    if (!bb) {
        msg = protobuf_c_message_unpack(desc, NULL, 0, (const uint8_t *)"");
    } else {
        if (!grpc_byte_buffer_reader_init(&reader, bb))
            return -EBADMSG;
        flat = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(flat),
                                        GRPC_SLICE_START_PTR(flat));
        grpc_slice_unref(flat);
    }
    if (!msg)
        return -EBADMSG;
    *ret = msg;
    return 0;
}

grpc_byte_buffer *
grpc_payload_pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}
