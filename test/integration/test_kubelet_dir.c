#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* The kubelet dir itself deleted, moved away or replaced by a new
 * directory under the running daemon: once a kubelet listens in the new
 * dir, the daemon's sockets are there again and every resource is
 * registered. */

#define FIXTURE "hgx-h100-iommufd"
#define BACK_MS 5000 /* times factor */

static const char *const resources[] = {HL_PGPU, HL_NVSWITCH};

enum dir_change { DIR_DELETED, DIR_MOVED, DIR_REPLACED_BY_MOVE };

/* Take the dir away as the change says and leave a new, empty one. */
static int
change_dir(const char *dir, enum dir_change how)
{
    char *aside = NULL, *fresh = NULL;
    int r = 0;

    if (asprintf(&aside, "%s.old", dir) < 0 || asprintf(&fresh, "%s.new", dir) < 0) {
        free(aside);
        return -ENOMEM;
    }
    switch (how) {
    case DIR_DELETED:
        /* the daemon may bind a socket again while the tree goes: retry */
        for (int i = 0; i < 50 && access(dir, F_OK) == 0; i++)
            tproc_rm_tree(dir);
        r = mkdir(dir, 0750) < 0 ? -errno : 0;
        break;
    case DIR_MOVED:
        r = rename(dir, aside) < 0 || mkdir(dir, 0750) < 0 ? -errno : 0;
        break;
    case DIR_REPLACED_BY_MOVE:
        r = mkdir(fresh, 0750) < 0 || rename(dir, aside) < 0 || rename(fresh, dir) < 0 ? -errno : 0;
        break;
    }
    free(aside);
    free(fresh);
    return r;
}

static void
check_dir_change(enum dir_change how)
{
    int limit = BACK_MS * tproc_factor();
    struct hl t;
    long start;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    ksim_stop(t.sim);
    t.sim = NULL;
    CU_ASSERT_EQUAL_FATAL(change_dir(t.lh.kubelet, how), 0);
    /* At once: the kubelet may well listen before the daemon has seen the
     * new dir. */
    CU_ASSERT_EQUAL_FATAL(ksim_start(t.lh.kubelet, &t.sim), 0);
    start = tproc_now_ms();
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        char *endpoint, *path = NULL;

        CU_ASSERT_EQUAL(ksim_wait_registered(t.sim, resources[i], limit), 0);
        CU_ASSERT_EQUAL(ksim_wait_lists(t.sim, resources[i], 1, limit), 0);
        endpoint = ksim_endpoint(t.sim, resources[i]);
        if (endpoint && asprintf(&path, "%s/%s", t.lh.kubelet, endpoint) >= 0)
            CU_ASSERT_EQUAL(access(path, F_OK), 0);
        free(endpoint);
        free(path);
    }
    fprintf(stderr, "[registered in the new dir after %ld ms] ", tproc_now_ms() - start);
    hl_finish(&t);
}

static void
test_deleted(void)
{
    check_dir_change(DIR_DELETED);
}

static void
test_moved(void)
{
    check_dir_change(DIR_MOVED);
}

static void
test_replaced_by_move(void)
{
    check_dir_change(DIR_REPLACED_BY_MOVE);
}

TEST_SUITE(integ_kubelet_dir, NULL, NULL,
           {"kubelet dir deleted and created again: sockets back, registered", test_deleted},
           {"kubelet dir moved away, a new one created: sockets back, registered", test_moved},
           {"kubelet dir replaced by a directory moved in: sockets back, registered",
            test_replaced_by_move})
