#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* No read can block: a FIFO where a sysfs attribute or the config file
 * belongs is refused, never waited on (an open() for reading of a FIFO
 * blocks until a writer comes, which here is never). */

#define FIXTURE "hgx-h100-iommufd"
#define GPU_NUMA "0000:18:00.0"   /* its numa_node becomes a FIFO (our reader) */
#define SWITCH_IDS "0000:1d:00.0" /* its vendor becomes a FIFO (libpci's reader) */
#define OTHER_GPU "0000:0a:00.0"  /* unbound to see a rescan complete */
#define EXIT_MS 5000              /* times factor */
#define CHANGE_MS 5000            /* times factor */

/* Replace sysfs attribute <bdf>/<attr> of the copy with a FIFO. */
static int
plant_fifo(const struct live_host *lh, const char *bdf, const char *attr)
{
    char *path = NULL;
    int r = 0;

    if (asprintf(&path, "%s/bus/pci/devices/%s/%s", lh->sysfs, bdf, attr) < 0)
        return -ENOMEM;
    if (unlink(path) < 0 || mkfifo(path, 0644) < 0)
        r = -errno;
    free(path);
    return r;
}

static int
plant_fifos(const struct live_host *lh)
{
    int r = plant_fifo(lh, GPU_NUMA, "numa_node");

    return r < 0 ? r : plant_fifo(lh, SWITCH_IDS, "vendor");
}

static bool
log_has(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0;
    bool found;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    found = getdelim(&text, &len, '\0', f) > 0 && strstr(text, needle);
    free(text);
    fclose(f);
    return found;
}

static void
test_fifo_config(void)
{
    const char *args[] = {"--config", NULL, NULL};
    int status = 0, r;
    struct live_host lh;
    char *fifo = NULL;

    CU_ASSERT_EQUAL_FATAL(live_host_init(&lh, FIXTURE), 0);
    CU_ASSERT_FATAL(asprintf(&fifo, "%s/config.json", lh.root) > 0);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0644), 0);
    args[1] = fifo;
    CU_ASSERT_EQUAL_FATAL(live_host_spawn(&lh, args), 0);
    r = tproc_wait(lh.pid, EXIT_MS * tproc_factor(), &status);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        lh.pid = 0;
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 99);
        CU_ASSERT_TRUE(log_has(lh.log, "not a regular file"));
    } else {
        fprintf(stderr, "daemon still reading the FIFO after %d ms\n", EXIT_MS);
    }
    free(fifo);
    live_host_fini(&lh);
}

/* hl_start, with FIFOs planted in the copy before the daemon starts. */
static int
start_with_fifos(struct hl *t)
{
    static const char *const resources[] = {HL_PGPU, HL_NVSWITCH};
    int ready = HL_READY_MS * tproc_factor(), r;

    memset(t, 0, sizeof(*t));
    t->failures_at_start = CU_get_number_of_failures();
    if ((r = live_host_init(&t->lh, FIXTURE)) < 0 || (r = plant_fifos(&t->lh)) < 0 ||
        (r = ksim_start(t->lh.kubelet, &t->sim)) < 0 || (r = live_host_spawn(&t->lh, NULL)) < 0)
        return r;
    for (size_t i = 0; r == 0 && i < sizeof(resources) / sizeof(resources[0]); i++)
        if ((r = ksim_wait_registered(t->sim, resources[i], ready)) == 0)
            r = ksim_wait_lists(t->sim, resources[i], 1, ready);
    return r;
}

/* A rescan completes: an unbind followed by SIGHUP reaches the lists. */
static void
check_rescan_completes(struct hl *t)
{
    CU_ASSERT_EQUAL(live_host_set_bound(&t->lh, OTHER_GPU, false), 0);
    CU_ASSERT_EQUAL(hl_sighup(t), 0);
    CU_ASSERT_TRUE(hl_wait_health(t, HL_PGPU, OTHER_GPU, 0, CHANGE_MS * tproc_factor()) >= 0);
}

static void
test_fifo_attrs_at_start(void)
{
    struct hl t;

    CU_ASSERT_EQUAL(start_with_fifos(&t), 0);
    if (t.sim && t.lh.pid > 0)
        check_rescan_completes(&t);
    hl_finish(&t);
}

static void
test_fifo_attrs_at_rescan(void)
{
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL(plant_fifos(&t.lh), 0);
    check_rescan_completes(&t);
    hl_finish(&t);
}

TEST_SUITE(integ_no_block, NULL, NULL,
           {"a FIFO as config file: refused at once, non-zero exit", test_fifo_config},
           {"FIFOs as sysfs attributes at start: the daemon starts and rescans",
            test_fifo_attrs_at_start},
           {"FIFOs as sysfs attributes planted later: rescans still complete",
            test_fifo_attrs_at_rescan})
