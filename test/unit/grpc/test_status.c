#include <errno.h>

#include "plugin/grpc/status.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static void
test_status_mapping(void)
{
    static const struct {
        int err;
        grpc_status_code code;
    } cases[] = {
        {0, GRPC_STATUS_OK},
        {-EINVAL, GRPC_STATUS_INVALID_ARGUMENT},
        {-EPERM, GRPC_STATUS_FAILED_PRECONDITION},
        {-ENODEV, GRPC_STATUS_FAILED_PRECONDITION},
        {-ENOMEM, GRPC_STATUS_INTERNAL},
        {-EIO, GRPC_STATUS_INTERNAL},
        {-EOPNOTSUPP, GRPC_STATUS_INTERNAL},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        CU_ASSERT_EQUAL(plugin_status_from_errno(cases[i].err), cases[i].code);
    CU_ASSERT_STRING_EQUAL(plugin_status_name(GRPC_STATUS_FAILED_PRECONDITION),
                           "FAILED_PRECONDITION");
}

TEST_SUITE(grpc_status, NULL, NULL, {"errno to gRPC status", test_status_mapping})
