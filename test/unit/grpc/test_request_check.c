#include <errno.h>
#include <string.h>

#include "plugin/grpc/request_check.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* The raw-request string check (NUL bytes that protobuf-c would cut at),
 * on hand-encoded wire bytes: nested messages, other wire types, and
 * malformed input, which is left to the decoder. */

struct wire_case {
    const char *name;
    const ProtobufCMessageDescriptor *desc;
    const char *bytes;
    size_t len;
    int want;
    const char *msg;
};

#define W(s) s, sizeof(s) - 1

static void
test_strings(void)
{
    static const struct wire_case cases[] = {
        {"clean ID", &v1beta1__container_allocate_request__descriptor,
         W("\x0a\x0c"
           "0000:18:00.0"),
         0, NULL},
        {"NUL in ID", &v1beta1__container_allocate_request__descriptor,
         W("\x0a\x0e"
           "0000:18:00.0\0x"),
         -EINVAL,
         "ContainerAllocateRequest.devices_ids holds a NUL byte at position 12 of a 14-byte"},
        {"NUL two levels down", &v1beta1__allocate_request__descriptor,
         W("\x0a\x04"
           "\x0a\x02"
           "a\0"),
         -EINVAL, "devices_ids holds a NUL byte at position 1"},
        {"NUL in must_include after a varint", &v1beta1__preferred_allocation_request__descriptor,
         W("\x0a\x07"
           "\x18\x02"
           "\x12\x03"
           "\0ab"),
         -EINVAL,
         "ContainerPreferredAllocationRequest.must_include_deviceIDs holds a NUL byte at "
         "position 0"},
        {"NUL in an unknown field", &v1beta1__allocate_request__descriptor,
         W("\x7a\x02"
           "\0\0"),
         0, NULL},
        {"fixed64 and fixed32 skipped", &v1beta1__allocate_request__descriptor,
         W("\x79"
           "\0\0\0\0\0\0\0\0"
           "\x7d"
           "\0\0\0\0"),
         0, NULL},
        {"length past the end", &v1beta1__allocate_request__descriptor,
         W("\x0a\x7f"
           "\0"),
         0, NULL},
        {"truncated varint", &v1beta1__allocate_request__descriptor, W("\x0a\xff"), 0, NULL},
        {"group", &v1beta1__allocate_request__descriptor, W("\x0b\x0a\x01\0"), 0, NULL},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct topo_error err = TOPO_ERROR_INIT;
        int r = plugin_request_check_strings(cases[i].desc, (const uint8_t *)cases[i].bytes,
                                             cases[i].len, &err);

        if (r != cases[i].want || (cases[i].msg && !strstr(err.msg, cases[i].msg)))
            fprintf(stderr, "\n%s: %d \"%s\"\n", cases[i].name, r, err.msg);
        CU_ASSERT_EQUAL(r, cases[i].want);
        if (cases[i].msg)
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].msg));
    }
    CU_ASSERT_EQUAL(
        plugin_request_check_strings(&v1beta1__allocate_request__descriptor, NULL, 0, NULL), 0);
}

static void
test_allocate_caps(void)
{
    char *ids[PLUGIN_MAX_REQUEST_IDS + 1];
    V1beta1__ContainerAllocateRequest cr[PLUGIN_MAX_CONTAINER_REQUESTS + 1];
    V1beta1__ContainerAllocateRequest *ptrs[PLUGIN_MAX_CONTAINER_REQUESTS + 1];
    V1beta1__AllocateRequest req = V1BETA1__ALLOCATE_REQUEST__INIT;
    struct topo_error err = TOPO_ERROR_INIT;
    char names[PLUGIN_MAX_REQUEST_IDS + 1][16];

    for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
        snprintf(names[i], sizeof(names[i]), "0000:%02zx:%02zx.0", i >> 8, i & 0xff);
        ids[i] = names[i];
    }
    for (size_t c = 0; c < ARRAY_SIZE(cr); c++) {
        v1beta1__container_allocate_request__init(&cr[c]);
        ptrs[c] = &cr[c];
    }
    req.container_requests = ptrs;
    /* exactly the caps: accepted */
    req.n_container_requests = PLUGIN_MAX_CONTAINER_REQUESTS;
    cr[0].devices_ids = ids;
    cr[0].n_devices_ids = PLUGIN_MAX_REQUEST_IDS;
    CU_ASSERT_EQUAL(plugin_request_check_allocate(&req, &err), 0);
    /* one ID more, spread over two containers */
    cr[1].devices_ids = ids + PLUGIN_MAX_REQUEST_IDS;
    cr[1].n_devices_ids = 1;
    CU_ASSERT_EQUAL(plugin_request_check_allocate(&req, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "names 257 device IDs; at most 256"));
    /* the same ID in the last two containers */
    cr[0].n_devices_ids = 3;
    cr[2].devices_ids = ids + PLUGIN_MAX_REQUEST_IDS;
    cr[2].n_devices_ids = 1;
    CU_ASSERT_EQUAL(plugin_request_check_allocate(&req, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "named by container requests 2 and 3"));
    req.n_container_requests = PLUGIN_MAX_CONTAINER_REQUESTS + 1;
    CU_ASSERT_EQUAL(plugin_request_check_allocate(&req, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "has 5 container requests; at most 4"));
}

TEST_SUITE(grpc_request_check, NULL, NULL, {"NUL bytes in strings", test_strings},
           {"Allocate caps and duplicates", test_allocate_caps})
