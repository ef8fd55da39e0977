#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* Hot-unplug under the real daemon: a GPU whose sysfs entries vanish from
 * the private copy of the fixture stays listed, Unhealthy, and Allocate
 * says why; once it is back it is Healthy again. */

#define FIXTURE "hgx-h100-iommufd"
#define GPU "0000:18:00.0"       /* vfio2, group 22 */
#define OTHER_GPU "0000:0a:00.0" /* vfio0 */
#define CHANGE_MS 5000           /* SIGHUP -> list; times tproc_factor() */
#define REASON "no longer present on the PCI bus"

static int
limit(int ms)
{
    return ms * tproc_factor();
}

/* Does our pgpu CDI spec mention needle? */
static bool
pgpu_spec_has(const struct hl *t, const char *needle)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    bool found = false;
    FILE *f;

    if (asprintf(&path, "%s/kata-gpu-device-plugin_nvidia.com-pgpu.json", t->lh.cdi) < 0)
        return false;
    f = fopen(path, "re");
    free(path);
    if (!f)
        return false;
    if (getdelim(&text, &len, '\0', f) >= 0)
        found = strstr(text, needle) != NULL;
    free(text);
    fclose(f);
    return found;
}

/* Allocate id; the gRPC status, and the message (new string) in *ret_msg. */
static grpc_status_code
allocate_one(struct hl *t, const char *id, char **ret_msg)
{
    const char *ids[] = {id};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;

    *ret_msg = NULL;
    CU_ASSERT_EQUAL(ksim_allocate(t->sim, HL_PGPU, ids, 1, &resp, &status, ret_msg), 0);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return status;
}

static void
test_unplug_sighup(void)
{
    struct hl t;
    char *msg = NULL;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GPU, NULL), 1);
    CU_ASSERT_TRUE(pgpu_spec_has(&t, "\"" GPU "\""));
    CU_ASSERT_EQUAL_FATAL(live_host_set_present(&t.lh, GPU, false), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 0, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 8);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, OTHER_GPU, NULL), 1);
    /* the specs are written before the list goes out */
    CU_ASSERT_FALSE(pgpu_spec_has(&t, "\"" GPU "\""));
    CU_ASSERT_TRUE(pgpu_spec_has(&t, "\"" OTHER_GPU "\""));
    CU_ASSERT_EQUAL(allocate_one(&t, GPU, &msg), GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL(msg);
    if (msg) {
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, GPU));
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, REASON));
        fprintf(stderr, "[allocate refused: %s] ", msg);
    }
    free(msg);
    CU_ASSERT_EQUAL(allocate_one(&t, OTHER_GPU, &msg), GRPC_STATUS_OK);
    free(msg);
    CU_ASSERT_EQUAL(live_host_set_present(&t.lh, GPU, true), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 1, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 8);
    CU_ASSERT_TRUE(pgpu_spec_has(&t, "\"" GPU "\""));
    CU_ASSERT_EQUAL(allocate_one(&t, GPU, &msg), GRPC_STATUS_OK);
    free(msg);
    CU_ASSERT_EQUAL(hl_lists_match_host(&t), 0);
    hl_finish(&t);
}

/* Rescan after rescan while it is gone: it stays listed, Unhealthy. */
static void
test_unplug_stays(void)
{
    static const char *const args[] = {"--rescan-interval", "1", NULL};
    struct hl t;

    if (hl_start(&t, FIXTURE, args) < 0)
        return;
    CU_ASSERT_EQUAL_FATAL(live_host_set_present(&t.lh, GPU, false), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 0, limit(CHANGE_MS)) >= 0);
    /* three more intervals: the daemon rescans and its answer stays the same */
    usleep((useconds_t)limit(3500) * 1000);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GPU, NULL), 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 8);
    CU_ASSERT_EQUAL(live_host_set_present(&t.lh, GPU, true), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GPU, 1, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(hl_count(&t, HL_PGPU), 8);
    hl_finish(&t);
}

TEST_SUITE(integ_health_vanish, NULL, NULL,
           {"GPU gone from sysfs + SIGHUP: listed Unhealthy, Allocate says why; back: Healthy",
            test_unplug_sighup},
           {"--rescan-interval 1: a vanished GPU stays listed across rescans", test_unplug_stays})
