#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>

#include "test/integration/fixture.h"

static const struct h_dev pgpu_devs[] = {
    {"0000:18:00.0", true, 0, "/dev/vfio/devices/vfio0"},
    {"0000:2a:00.0", true, 1, "/dev/vfio/devices/vfio1"},
    {"0000:3a:00.0", false, 1, "/dev/vfio/devices/vfio2"},
};

static const struct h_dev nvswitch_devs[] = {
    {"0000:05:00.0", true, -1, "/dev/vfio/devices/vfio8,/dev/vfio/devices/vfio9"},
    {"0000:06:00.0", true, -1, "/dev/vfio/devices/vfio9"},
};

static const struct h_res fixture_res[] = {
    [FIX_PGPU] = {"nvidia.com/pgpu", "kgdp-pgpu.sock", 3, pgpu_devs},
    [FIX_NVSWITCH] = {"nvidia.com/nvswitch", "kgdp-nvswitch.sock", 2, nvswitch_devs},
};

const struct h_inv fixture_inv = {2, fixture_res};

int
fixture_start(struct harness *h, const struct h_inv *inv)
{
    int ready_ms = FIX_READY_MS * tproc_factor();
    int r;

    if ((r = harness_init(h)) < 0 || (r = harness_write_inventory(h, inv)) < 0 ||
        (r = harness_start_sim(h)) < 0 || (r = harness_spawn_daemon(h)) < 0) {
        fprintf(stderr, "fixture: setup failed: %s\n", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < inv->n_res; i++) {
        const char *name = inv->res[i].name;

        r = ksim_wait_registered(h->sim, name, ready_ms);
        if (r == 0)
            r = ksim_wait_lists(h->sim, name, 1, ready_ms);
        if (r < 0) {
            fprintf(stderr, "fixture: %s not registered/listed: %s\n", name, strerror(-r));
            return r;
        }
    }
    return 0;
}

void
fixture_stop(struct harness *h)
{
    int status = 0, r;

    if (h->pid <= 0)
        return;
    r = tproc_stop(&h->pid, SIGTERM, 5000 * tproc_factor(), &status);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        CU_ASSERT_TRUE(WIFEXITED(status));
        CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    }
}
