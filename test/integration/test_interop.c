#include "test/integration/fixture.h"
#include "test/support/suite.h"

/* The daemon against an independent kubelet peer written with grpc-go. */

static void
test_go_peer(void)
{
    struct harness h;
    pid_t pid;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_write_inventory(&h, &fixture_inv), 0);
    CU_ASSERT_EQUAL_FATAL(harness_go_peer_start(&h, fixture_inv.n_res, &pid), 0);
    CU_ASSERT_EQUAL(harness_spawn_daemon(&h), 0);
    CU_ASSERT_EQUAL(harness_go_peer_finish(&h, pid), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

TEST_SUITE(integ_interop, NULL, NULL, {"grpc-go kubelet peer passes every check", test_go_peer})
