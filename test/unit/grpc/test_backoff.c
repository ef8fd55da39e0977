#include <stdint.h>

#include "plugin/grpc/backoff.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static void
test_backoff(void)
{
    struct plugin_backoff b = PLUGIN_BACKOFF_INIT(100, 5000);
    static const uint32_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};

    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        CU_ASSERT_EQUAL(plugin_backoff_next(&b), want[i]);
    plugin_backoff_reset(&b);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 100);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 200);
}

static void
test_backoff_saturates(void)
{
    struct plugin_backoff b = PLUGIN_BACKOFF_INIT(3000000000u, 4000000000u);

    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 3000000000u);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 4000000000u);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 4000000000u);
}

TEST_SUITE(grpc_backoff, NULL, NULL, {"backoff schedule", test_backoff},
           {"backoff saturates", test_backoff_saturates})
