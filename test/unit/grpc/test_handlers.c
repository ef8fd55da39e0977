#include <string.h>

#include "plugin/grpc/handlers.h"
#include "plugin/log/log.h"
#include "proto/api.pb-c.h"
#include "test/support/alloc_fixture.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* The request core (bytes in, reply out) on a fixture snapshot: the counts
 * in a GetPreferredAllocation refusal are those of the devices offered
 * that exist, whatever else the list holds. */

static void
preferred(const struct inventory *inv, const char *resource, char **avail, size_t n, int size,
          struct plugin_reply *rep)
{
    V1beta1__ContainerPreferredAllocationRequest cr =
        V1BETA1__CONTAINER_PREFERRED_ALLOCATION_REQUEST__INIT;
    V1beta1__ContainerPreferredAllocationRequest *ptr = &cr;
    V1beta1__PreferredAllocationRequest req = V1BETA1__PREFERRED_ALLOCATION_REQUEST__INIT;
    uint8_t buf[1024];
    size_t len;

    cr.available_deviceids = avail;
    cr.n_available_deviceids = n;
    cr.allocation_size = size;
    req.container_requests = &ptr;
    req.n_container_requests = 1;
    len = protobuf_c_message_get_packed_size(&req.base);
    CU_ASSERT_FATAL(len <= sizeof(buf));
    protobuf_c_message_pack(&req.base, buf);
    plugin_handle_request(&(struct plugin_served){.resource = resource}, inv, PLUGIN_UNARY_PREFERRED,
                          buf, len, rep);
}

static void
test_preferred_counts(void)
{
    struct alloc_fixture fx;
    char *avail[] = {"0000:05:00.0", "0000:06:00.0", "0000:07:00.0", "0000:08:00.0",
                     "0000:99:00.0", "0000:98:00.0", "0000:05:00.0x"};
    struct plugin_reply rep;

    log_set_level(LOG_LEVEL_ERROR);
    CU_ASSERT_EQUAL_FATAL(
        alloc_fixture_open(&fx, "hgx-h200-legacy", INV_MODE_PASSTHROUGH, "pgpu", "nvswitch"), 0);
    /* the four switches share one IOMMU group: one alone never fits */
    preferred(fx.inv, "nvidia.com/nvswitch", avail, ARRAY_SIZE(avail), 1, &rep);
    CU_ASSERT_EQUAL(rep.code, GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "(4 available)"));
    plugin_reply_clear(&rep);
    preferred(fx.inv, "nvidia.com/nvswitch", avail, 4, 4, &rep);
    CU_ASSERT_EQUAL(rep.code, GRPC_STATUS_OK);
    CU_ASSERT_PTR_NOT_NULL(rep.data);
    plugin_reply_clear(&rep);
    preferred(fx.inv, "nvidia.com/gone", avail, 4, 4, &rep);
    CU_ASSERT_EQUAL(rep.code, GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "no longer served"));
    plugin_reply_clear(&rep);
    alloc_fixture_close(&fx);
    log_set_level(LOG_LEVEL_INFO);
}

TEST_SUITE(grpc_handlers, NULL, NULL, {"GetPreferredAllocation counts", test_preferred_counts})
