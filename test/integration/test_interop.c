#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/fixture.h"
#include "test/unit/suite.h"

/* The daemon against an independent kubelet peer written with grpc-go. */

#define PEER_TIMEOUT_S 60

static int
wait_socket(struct harness *h, const char *name, int timeout_ms)
{
    long end = harness_now_ms() + timeout_ms;

    while (!harness_socket_exists(h, name))
        if (harness_now_ms() >= end)
            return -ETIMEDOUT;
        else
            usleep(10000);
    return 0;
}

static void
test_go_peer(void)
{
    const char *peer = getenv("KGDP_GO_PEER");
    int timeout_s = PEER_TIMEOUT_S * harness_factor(), status = -1, r;
    char *log = NULL, n_res[16], timeout[32];
    struct harness h;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_write_inventory(&h, &fixture_inv), 0);
    CU_ASSERT_FATAL(asprintf(&log, "%s/go-peer.log", h.root) > 0);
    snprintf(n_res, sizeof(n_res), "%zu", fixture_inv.n_res);
    snprintf(timeout, sizeof(timeout), "%ds", timeout_s);
    r = harness_spawn((char *[]){(char *)peer, "--kubelet-dir", h.kubelet_dir, "--resources", n_res,
                                 "--timeout", timeout, NULL},
                      log, NULL, &pid);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT_EQUAL(wait_socket(&h, "kubelet.sock", FIX_READY_MS), 0);
    CU_ASSERT_EQUAL(harness_spawn_daemon(&h), 0);
    r = harness_wait_pid(pid, (timeout_s + 10) * 1000, &status);
    if (r < 0) {
        kill(pid, SIGKILL);
        harness_wait_pid(pid, 5000, &status);
    }
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        harness_dump("kubelet-go output", log);
    fixture_stop(&h);
    free(log);
    harness_fini(&h);
}

TEST_SUITE(integ_interop, NULL, NULL, {"grpc-go kubelet peer passes every check", test_go_peer})
