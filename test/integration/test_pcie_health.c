#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"
#include "test/support/text.h"

/* Health from the PCIe layer under the real daemon (fixture pcie-faults,
 * see scripts/fixtures/layouts.py), watched through the kubelet
 * simulator: a fatal AER count that grows turns a GPU Unhealthy after a
 * rescan and Healthy again once the quiet period passed (the daemon wakes
 * up by itself for that); config space that reads all-ones is Unhealthy;
 * a degraded link stays Healthy with one warning in the log. */

#define FIXTURE "pcie-faults"
#define AER_GPU "0000:1a:00.0"      /* TOTAL_ERR_FATAL 3 */
#define DEAD_GPU "0000:1b:00.0"     /* config space all-ones */
#define DEGRADED_GPU "0000:19:00.0" /* 16.0 GT/s x8 of 32.0 GT/s x16 */
#define GOOD_GPU "0000:18:00.0"
#define QUIET_S 4
#define CHANGE_MS 5000 /* SIGHUP -> list; times tproc_factor() */

static int
limit(int ms)
{
    return ms * tproc_factor();
}

/* Write data over attribute attr of bdf in the copy. 0 or -errno. */
static int
put_attr(const struct hl *t, const char *bdf, const char *attr, const void *data, size_t len)
{
    char *path = NULL;
    int fd, r = 0;

    if (asprintf(&path, "%s/bus/pci/devices/%s/%s", t->lh.sysfs, bdf, attr) < 0)
        return -ENOMEM;
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -errno;
    if (write(fd, data, len) != (ssize_t)len)
        r = -EIO;
    close(fd);
    return r;
}

static int
set_fatal_total(const struct hl *t, const char *bdf, int total)
{
    char text[200];
    int n = snprintf(text, sizeof(text), "Undefined 0\nDLP %d\nSDES 0\nTOTAL_ERR_FATAL %d\n",
                     total, total);

    return put_attr(t, bdf, "aer_dev_fatal", text, (size_t)n);
}

/* Allocate id: the gRPC status; the message must contain want (if any). */
static grpc_status_code
allocate_one(struct hl *t, const char *id, const char *want)
{
    const char *ids[] = {id};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;

    CU_ASSERT_EQUAL(ksim_allocate(t->sim, HL_PGPU, ids, 1, &resp, &status, &msg), 0);
    if (want) {
        CU_ASSERT_PTR_NOT_NULL(msg && strstr(msg, want));
        fprintf(stderr, "[allocate %s refused: %s] ", id, msg ? msg : "(none)");
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    return status;
}

static void
test_aer_growth(void)
{
    static const char *const args[] = {"--aer-quiet-period", "4", "--rescan-interval", "0", NULL};
    struct hl t;
    long at, took;

    if (hl_start(&t, FIXTURE, args) < 0)
        return;
    /* errors counted before the daemon started are history */
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, AER_GPU, NULL), 1);
    CU_ASSERT_EQUAL_FATAL(set_fatal_total(&t, AER_GPU, 5), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, AER_GPU, 0, limit(CHANGE_MS)) >= 0);
    at = tproc_now_ms();
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, GOOD_GPU, NULL), 1);
    CU_ASSERT_EQUAL(allocate_one(&t, AER_GPU, "fatal error count rose from 3 to 5"),
                    GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT(ttext_count_in_file(t.lh.log, "event=pcie_aer_fatal device=" AER_GPU) == 1);
    /* no rescan interval, no SIGHUP: the end of the quiet period wakes it */
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, AER_GPU, 1, limit(QUIET_S * 1000 + CHANGE_MS)) >=
                   0);
    took = tproc_now_ms() - at;
    fprintf(stderr, "[Healthy again after %ld ms] ", took);
    CU_ASSERT(took >= (QUIET_S - 2) * 1000);
    CU_ASSERT_EQUAL(allocate_one(&t, AER_GPU, NULL), GRPC_STATUS_OK);
    hl_finish(&t);
}

static void
test_dead_and_degraded(void)
{
    static const char *const args[] = {"--rescan-interval", "0", NULL};
    unsigned char ones[64], saved[64];
    char *path = NULL;
    struct hl t;
    FILE *f;

    if (hl_start(&t, FIXTURE, args) < 0)
        return;
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, DEAD_GPU, NULL), 0);
    CU_ASSERT_EQUAL(allocate_one(&t, DEAD_GPU, "all-ones"), GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, DEGRADED_GPU, NULL), 1);
    CU_ASSERT_EQUAL(allocate_one(&t, DEGRADED_GPU, NULL), GRPC_STATUS_OK);
    /* a healthy GPU falls off the bus, then comes back */
    CU_ASSERT_FATAL(asprintf(&path, "%s/bus/pci/devices/%s/config", t.lh.sysfs, GOOD_GPU) > 0);
    f = fopen(path, "re");
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fread(saved, 1, sizeof(saved), f), sizeof(saved));
    fclose(f);
    memset(ones, 0xff, sizeof(ones));
    CU_ASSERT_EQUAL_FATAL(put_attr(&t, GOOD_GPU, "config", ones, sizeof(ones)), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GOOD_GPU, 0, limit(CHANGE_MS)) >= 0);
    CU_ASSERT_EQUAL(put_attr(&t, GOOD_GPU, "config", saved, sizeof(saved)), 0);
    CU_ASSERT_EQUAL(hl_sighup(&t), 0);
    CU_ASSERT_TRUE(hl_wait_health(&t, HL_PGPU, GOOD_GPU, 1, limit(CHANGE_MS)) >= 0);
    /* three scans so far; the degraded link was reported once */
    CU_ASSERT_EQUAL(
        ttext_count_in_file(t.lh.log, "event=pcie_link_degraded device=" DEGRADED_GPU), 1);
    CU_ASSERT_EQUAL(hl_health(&t, HL_PGPU, DEGRADED_GPU, NULL), 1);
    CU_ASSERT_EQUAL(ttext_count_in_file(t.lh.log, "event=pcie_no_reset device=0000:1c:00.0"), 1);
    hl_finish(&t);
}

TEST_SUITE(integ_pcie_health, NULL, NULL,
           {"fatal AER growth: Unhealthy after a rescan, Healthy after the quiet period",
            test_aer_growth},
           {"config all-ones: Unhealthy (and back); degraded link: Healthy, warned once",
            test_dead_and_degraded})
