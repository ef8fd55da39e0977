#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"
#include "test/support/text.h"

/* Health, hot-unplug and rescans with the real daemon on a private copy of
 * the hgx-h100-iommufd fixture: the host changes under the daemon and the
 * kubelet simulator must see it. */

#define FIXTURE "hgx-h100-iommufd"
#define GPU "0000:18:00.0"       /* vfio2, group 22 */
#define GPU_NODE "vfio/devices/vfio2"
#define OTHER_GPU "0000:0a:00.0" /* vfio0 */
#define NVSWITCH "0000:1c:00.0"
#define NEW_GPU "0000:dd:00.1"   /* cloned from dd:00.0 */
#define NEW_GROUP 900 /* the fixture uses up to 105 */
#define NEW_CDEV 12
#define CHANGE_MS 5000           /* SIGHUP -> list; times tproc_factor() */
#define INTERVAL_MARGIN_MS 1500  /* one 1 s rescan interval plus this */

static int
limit(int ms)
{
    return ms * tproc_factor();
}

static void
test_unbind_sighup(void)
{
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GPU, NULL), 1);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, false), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 0, limit(CHANGE_MS)) >= 0);
    /* Only that GPU: the others stay healthy and listed. */
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, OTHER_GPU, NULL), 1);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 8);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, true), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 1, limit(CHANGE_MS)) >= 0);
    hl_finish(&t);
}

static void
test_unbind_interval(void)
{
    static const char *const args[] = {"--rescan-interval", "1", NULL};
    int within = limit(1000 + INTERVAL_MARGIN_MS);
    struct hl t;
    long took;

    if (hl_start(&t, FIXTURE, args) < 0)
        return;
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, false), 0);
    took = hl_wait_health(&t, HL_PGPU, GPU, 0, within);
    CU_ASSERT_TRUE(took >= 0);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, true), 0);
    took = hl_wait_health(&t, HL_PGPU, GPU, 1, within);
    CU_ASSERT_TRUE(took >= 0);
    hl_finish(&t);
}

static void
test_dev_node_removed(void)
{
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(live_host_set_node(&t.lh, GPU_NODE, false), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 0, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, OTHER_GPU, NULL), 1);
    CU_ASSERT_EQUAL(live_host_set_node(&t.lh, GPU_NODE, true), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 1, limit(CHANGE_MS)) >= 0);
    hl_finish(&t);
}

/* The text of our pgpu CDI spec, or NULL. */
static char *
read_pgpu_spec(const struct hl *t)
{
    char *path = NULL, *text;

    if (asprintf(&path, "%s/kata-gpu-device-plugin_nvidia.com-pgpu.json", t->lh.cdi) < 0)
        return NULL;
    text = ttext_read_file(path);
    free(path);
    return text;
}

/* Wait until the pgpu spec mentions needle (the daemon writes CDI before
 * it publishes, so this is at once in practice). */
static bool
spec_has(const struct hl *t, const char *needle, int timeout_ms)
{
    long end = tproc_now_ms() + timeout_ms;

    do {
        char *text = read_pgpu_spec(t);
        bool found = text && strstr(text, needle);

        free(text);
        if (found)
            return true;
        usleep(20000);
    } while (tproc_now_ms() < end);
    if (timeout_ms > 0)
        fprintf(stderr, "pgpu CDI spec lacks %s\n", needle);
    return false;
}

/* Hot-add a GPU while another one is unbound: the new GPU is listed and
 * its CDI device (name and vfio node) is written although the unbound one
 * has no node to put in the spec. */
static void
test_add_gpu(void)
{
    struct hl t;
    int r;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, NEW_GPU, NULL), -ENOENT);
    CU_ASSERT_FALSE(spec_has(&t, NEW_GPU, 0));
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, OTHER_GPU, false), 0);
    r = live_host_add_function(&t.lh, "0000:dd:00.0", NEW_GPU, NEW_GROUP, NEW_CDEV);
    if (r < 0) {
        fprintf(stderr, "add %s: %s\n", NEW_GPU, strerror(-r));
        CU_FAIL("hot-add failed");
        hl_finish(&t);
        return;
    }
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, NEW_GPU, 1, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 9);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, OTHER_GPU, NULL), 0);
    CU_ASSERT_TRUE(spec_has(&t, "\"" NEW_GPU "\"", limit(CHANGE_MS)));
    CU_ASSERT_TRUE(spec_has(&t, "/dev/vfio/devices/vfio12\"", limit(CHANGE_MS)));
    /* The unbound GPU has no node to hand out: it is left out meanwhile. */
    CU_ASSERT_FALSE(spec_has(&t, "\"" OTHER_GPU "\"", 0));
    /* Once bound again the other GPU is back in the spec too. */
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, OTHER_GPU, true), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, OTHER_GPU, 1, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_TRUE(spec_has(&t, "\"" OTHER_GPU "\"", limit(CHANGE_MS)));
    CU_ASSERT_EQUAL(hl_lists_match_host(&t), 0);
    hl_finish(&t);
}

/* No rescan runs (interval 0, no SIGHUP): the list still says Healthy, and
 * Allocate must notice the lost binding itself. */
static void
test_allocate_after_unbind(void)
{
    static const char *const args[] = {"--rescan-interval", "0", NULL};
    const char *ids[] = {GPU};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_OK;
    char *msg = NULL;
    struct hl t;

    if (hl_start(&t, FIXTURE, args) < 0)
        return;
    CU_ASSERT_EQUAL(ksim_allocate(t.sim, HL_PGPU, ids, 1, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_OK);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    resp = NULL;
    free(msg);
    msg = NULL;
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, false), 0);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GPU, NULL), 1);
    CU_ASSERT_EQUAL(ksim_allocate(t.sim, HL_PGPU, ids, 1, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NULL(resp);
    CU_ASSERT_PTR_NOT_NULL(msg);
    if (msg) {
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, GPU));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, "VFIO"));
        fprintf(stderr, "[allocate refused: %s] ", msg);
    }
    free(msg);
    hl_finish(&t);
}

/* One change of each resource: both streams get their new list. */
static void
test_every_stream(void)
{
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, GPU, false), 0);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, NVSWITCH, false), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 0, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_NVSWITCH, NVSWITCH, 0, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(live_host_set_bound(&t.lh, NVSWITCH, true), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_NVSWITCH, NVSWITCH, 1, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GPU, NULL), 0);
    hl_finish(&t);
}

TEST_SUITE(integ_health, NULL, NULL,
           {"unbind a GPU + SIGHUP: Unhealthy pushed; rebind: Healthy", test_unbind_sighup},
           {"--rescan-interval 1: unbind/rebind seen within one interval", test_unbind_interval},
           {"/dev/vfio/devices node removed: Unhealthy; restored: Healthy", test_dev_node_removed},
           {"hot-added GPU is listed and in the CDI spec", test_add_gpu},
           {"Allocate after an unbind not yet rescanned: FAILED_PRECONDITION",
            test_allocate_after_unbind},
           {"pgpu and nvswitch streams both receive their new lists", test_every_stream})
