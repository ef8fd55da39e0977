#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/integration/fresh_call.h"
#include "test/support/stall_client.h"
#include "test/support/suite.h"

/* The daemon out of file descriptors: once they are free again, every
 * socket serves new connections again. */

#define FIXTURE "hgx-h100-iommufd"
#define LAW "/v1beta1.DevicePlugin/ListAndWatch"
#define SPARE_FDS 24 /* the daemon's limit: what it has open plus this */
#define FLOOD 80     /* connections opened against that limit */
#define CALL_MS 3000 /* times factor */
#define RECOVER_MS 5000

/* Connect up to n peers to socket (they keep a ListAndWatch open). The
 * number connected. */
static int
flood(const struct hl *t, const char *socket, int *fds, int n)
{
    char *path = NULL;
    int k = 0;

    if (asprintf(&path, "%s/%s", t->lh.kubelet, socket) < 0)
        return 0;
    for (; k < n; k++)
        if (stall_client_open(path, LAW, &fds[k]) < 0)
            break;
    free(path);
    return k;
}

/* Wait until pid holds at least want descriptors; the highest count seen. */
static int
wait_fds(pid_t pid, int want, int timeout_ms)
{
    long end = tproc_now_ms() + timeout_ms;
    int most = 0;

    do {
        int n = tproc_fd_count(pid);

        most = n > most ? n : most;
        if (most >= want)
            break;
        usleep(20000);
    } while (tproc_now_ms() < end);
    return most;
}

static void
test_exhausted_then_serving(void)
{
    int f = tproc_factor(), fds[FLOOD], n, open_before, most;
    char *sockets[2] = {NULL, NULL};
    struct rlimit lim;
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    sockets[0] = ksim_endpoint(t.sim, HL_PGPU);
    sockets[1] = ksim_endpoint(t.sim, HL_NVSWITCH);
    open_before = tproc_fd_count(t.lh.pid);
    CU_ASSERT_TRUE_FATAL(open_before > 0 && sockets[0] && sockets[1]);
    lim.rlim_cur = lim.rlim_max = (rlim_t)open_before + SPARE_FDS;
    CU_ASSERT_EQUAL_FATAL(prlimit(t.lh.pid, RLIMIT_NOFILE, &lim, NULL), 0);
    n = flood(&t, sockets[0], fds, FLOOD);
    most = wait_fds(t.lh.pid, (int)lim.rlim_max - 3, RECOVER_MS * f);
    fprintf(stderr, "[limit %d, %d peers, daemon at %d fds] ", (int)lim.rlim_max, n, most);
    /* It did run out. */
    CU_ASSERT_TRUE(most >= (int)lim.rlim_max - 3);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    /* Free again: both sockets take new connections, and what was in the
     * kubelet's hands still works. */
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL(fresh_call(t.lh.kubelet, sockets[i], RECOVER_MS * f), 0);
    CU_ASSERT_EQUAL(fresh_call(t.lh.kubelet, sockets[0], CALL_MS * f), 0);
    CU_ASSERT_EQUAL(ksim_restart(t.sim), 0);
    CU_ASSERT_EQUAL(ksim_wait_registered(t.sim, HL_PGPU, RECOVER_MS * f), 0);
    CU_ASSERT_EQUAL(ksim_wait_lists(t.sim, HL_PGPU, 1, RECOVER_MS * f), 0);
    free(sockets[0]);
    free(sockets[1]);
    hl_finish(&t);
}

/* The daemon takes the whole hard limit at start. */
static void
test_soft_limit_raised(void)
{
    struct rlimit mine, low, theirs;
    struct hl t;
    int r;

    CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_NOFILE, &mine), 0);
    if (mine.rlim_max <= 512) {
        fprintf(stderr, "[hard limit %llu: nothing to raise] ", (unsigned long long)mine.rlim_max);
        return;
    }
    low = mine;
    low.rlim_cur = 256;
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_NOFILE, &low), 0);
    r = hl_start(&t, FIXTURE, NULL);
    CU_ASSERT_EQUAL(setrlimit(RLIMIT_NOFILE, &mine), 0);
    if (r < 0)
        return;
    CU_ASSERT_EQUAL(prlimit(t.lh.pid, RLIMIT_NOFILE, NULL, &theirs), 0);
    /* valgrind keeps a client's setrlimit to itself: the kernel's limit
     * of the process stays as it was. */
    if (tproc_factor() == 1)
        CU_ASSERT_EQUAL(theirs.rlim_cur, mine.rlim_max);
    hl_finish(&t);
}

TEST_SUITE(integ_fd_exhaustion, NULL, NULL,
           {"out of descriptors, then free again: every socket serves",
            test_exhausted_then_serving},
           {"the soft descriptor limit is raised to the hard limit at start",
            test_soft_limit_raised})
