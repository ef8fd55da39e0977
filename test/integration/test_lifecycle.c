#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test/integration/fixture.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* The daemon across kubelet restarts, rescans and shutdown. */

#define RESTARTS 10
#define REREGISTER_LIMIT_MS 2000
#define SHUTDOWN_LIMIT_MS 2000

static void
test_kubelet_restart(void)
{
    int limit_ms = REREGISTER_LIMIT_MS * tproc_factor();
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    for (int i = 0; i < RESTARTS; i++) {
        long start;

        CU_ASSERT_EQUAL_FATAL(ksim_restart(h.sim), 0);
        /* kubelet.sock is back now: the clock for the plugin starts. */
        start = tproc_now_ms();
        for (size_t j = 0; j < fixture_inv.n_res; j++) {
            const struct h_res *res = &fixture_inv.res[j];
            V1beta1__ListAndWatchResponse *list = NULL;
            long took;

            CU_ASSERT_EQUAL(ksim_wait_registered(h.sim, res->name, limit_ms), 0);
            took = tproc_now_ms() - start;
            if (took > limit_ms) {
                fprintf(stderr, "restart %d: %s registered after %ld ms\n", i, res->name, took);
                CU_FAIL("not re-registered within 2 s");
            }
            CU_ASSERT_TRUE(ksim_registrations(h.sim, res->name) >= (unsigned)i + 2);
            CU_ASSERT_EQUAL(ksim_wait_lists(h.sim, res->name, 1, FIX_READY_MS * tproc_factor()),
                            0);
            CU_ASSERT_EQUAL(ksim_last_list(h.sim, res->name, &list, NULL), 0);
            if (list) {
                CU_ASSERT_EQUAL(harness_list_matches(list, res), 0);
                protobuf_c_message_free_unpacked(&list->base, NULL);
            }
        }
    }
    fixture_stop(&h);
    harness_fini(&h);
}

/* Wait until a list equal to want arrives on resource (later lists only). */
static int
wait_for_list(struct harness *h, const struct h_res *want, int timeout_ms)
{
    long end = tproc_now_ms() + timeout_ms;
    V1beta1__ListAndWatchResponse *list = NULL;
    size_t count = 0;

    /* The update may already be there: the daemon answers a SIGHUP in about
     * a millisecond. Check the latest list first, then wait for newer ones. */
    for (;;) {
        int match;

        if (ksim_last_list(h->sim, want->name, &list, &count) < 0)
            return -1;
        match = harness_list_matches(list, want);
        protobuf_c_message_free_unpacked(&list->base, NULL);
        if (match == 0)
            return 0;
        if (tproc_now_ms() >= end ||
            ksim_wait_lists(h->sim, want->name, count + 1, (int)(end - tproc_now_ms())) < 0)
            return -1;
    }
}

static const struct h_dev rescanned_gpus[] = {
    {"0000:18:00.0", false, 0, "/dev/vfio/devices/vfio0"},
    {"0000:2a:00.0", true, 1, "/dev/vfio/devices/vfio1"},
    {"0000:5d:00.0", true, 0, "/dev/vfio/devices/vfio3"},
};

static void
test_sighup_rescan(void)
{
    struct h_res res[2] = {fixture_inv.res[0], fixture_inv.res[1]};
    struct h_inv inv = {2, res};
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    res[FIX_PGPU].devs = rescanned_gpus;
    res[FIX_PGPU].n_devs = ARRAY_SIZE(rescanned_gpus);
    CU_ASSERT_EQUAL_FATAL(harness_write_inventory(&h, &inv), 0);
    CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
    CU_ASSERT_EQUAL(wait_for_list(&h, &res[FIX_PGPU], 5000 * tproc_factor()), 0);
    /* The rescan keeps the registration. */
    CU_ASSERT_EQUAL(ksim_registrations(h.sim, res[FIX_PGPU].name), 1);
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_sigterm(void)
{
    int limit_ms = SHUTDOWN_LIMIT_MS * tproc_factor(), status = -1, r;
    struct harness h;
    long start, took;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    CU_ASSERT_EQUAL(ksim_stream_ended(h.sim, fixture_inv.res[0].name, NULL), 0);
    start = tproc_now_ms();
    r = tproc_stop(&h.pid, SIGTERM, limit_ms, &status);
    took = tproc_now_ms() - start;
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        CU_ASSERT_TRUE(WIFEXITED(status));
        CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    } else {
        fprintf(stderr, "daemon still running %ld ms after SIGTERM\n", took);
    }
    for (size_t i = 0; i < fixture_inv.n_res; i++)
        CU_ASSERT_FALSE(harness_socket_exists(&h, fixture_inv.res[i].socket));
    /* kubelet.sock belongs to the kubelet. */
    CU_ASSERT_TRUE(harness_socket_exists(&h, "kubelet.sock"));
    harness_fini(&h);
}

TEST_SUITE(integ_lifecycle, NULL, NULL,
           {"kubelet restart x10: re-registered within 2 s, lists again", test_kubelet_restart},
           {"SIGHUP after an inventory edit pushes the new list", test_sighup_rescan},
           {"SIGTERM with a stream open: exit 0 within 2 s, sockets removed", test_sigterm})
