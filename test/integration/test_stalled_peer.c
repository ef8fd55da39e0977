#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/stall_client.h"
#include "test/support/suite.h"

/* Peers that stop reading a ListAndWatch stream while the host keeps
 * changing: the daemon must still stop at once on SIGTERM and still
 * re-register after a kubelet restart. */

#define FIXTURE "hgx-h100-iommufd"
#define GPU "0000:69:00.0"
#define LAW "/v1beta1.DevicePlugin/ListAndWatch"
#define UPDATES 400
#define N_STALLED 3
#define LIST_MS 5000     /* SIGHUP -> list at the simulator; times factor */
#define SHUTDOWN_MS 2000 /* times factor */
#define REREGISTER_MS 2000
#define RSS_GROWTH_KB 4096 /* a few lists per stream, not one per update */

/* Whether the daemon was built with ASan (make check-asan). */
static bool
sanitized(void)
{
    const char *san = getenv("KGDP_SANITIZED");

    return san && *san;
}

/* Open n stalled ListAndWatch peers on resource's socket. */
static int
stall_open(struct hl *t, const char *resource, int *fds, int n)
{
    char *endpoint = ksim_endpoint(t->sim, resource), *path = NULL;
    int r = 0;

    if (!endpoint || asprintf(&path, "%s/%s", t->lh.kubelet, endpoint) < 0) {
        free(endpoint);
        return -ENOMEM;
    }
    for (int i = 0; i < n && r == 0; i++)
        r = stall_client_open(path, LAW, &fds[i]);
    free(endpoint);
    free(path);
    return r;
}

/* Flip the GPU n times, each flip followed by a SIGHUP and the wait for
 * the simulator's (reading) stream to see it: every flip is one list
 * written to each stream. */
static int
push_updates(struct hl *t, int n)
{
    for (int i = 0; i < n; i++) {
        int want = i % 2 == 0 ? 0 : 1;

        if (live_host_set_bound(&t->lh, GPU, want) < 0 || hl_sighup(t) < 0 ||
            hl_wait_health(t, HL_PGPU, GPU, want, LIST_MS * tproc_factor()) < 0)
            return -1;
    }
    return 0;
}

static long
stall_backlog(const int *fds, int n)
{
    long sum = 0;

    for (int i = 0; i < n; i++)
        sum += stall_client_pending(fds[i]);
    return sum;
}

/* SIGTERM must end the daemon with status 0 within SHUTDOWN_MS and remove
 * every socket of ours. */
static void
assert_prompt_exit(struct hl *t, const char *const *sockets, size_t n_sockets)
{
    int limit_ms = SHUTDOWN_MS * tproc_factor(), status = -1, r;
    long start = tproc_now_ms(), took;

    r = tproc_stop(&t->lh.pid, SIGTERM, limit_ms, &status);
    took = tproc_now_ms() - start;
    fprintf(stderr, "[exit after SIGTERM: %ld ms] ", took);
    CU_ASSERT_EQUAL(r, 0);
    if (r == 0) {
        CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    } else {
        fprintf(stderr, "daemon still running %ld ms after SIGTERM\n", took);
        tproc_end(&t->lh.pid, 1000);
    }
    for (size_t i = 0; i < n_sockets; i++) {
        char *path = NULL;

        if (asprintf(&path, "%s/%s", t->lh.kubelet, sockets[i]) < 0)
            continue;
        CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
        free(path);
    }
}

static void
stall_close(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void
test_sigterm_with_stalled_peers(void)
{
    int fds[N_STALLED] = {-1, -1, -1};
    char *sockets[2] = {NULL, NULL};
    long backlog, rss_before, rss_after;
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    rss_before = tproc_rss_kb(t.lh.pid);
    sockets[0] = ksim_endpoint(t.sim, HL_PGPU);
    sockets[1] = ksim_endpoint(t.sim, HL_NVSWITCH);
    CU_ASSERT_EQUAL_FATAL(stall_open(&t, HL_PGPU, fds, N_STALLED), 0);
    CU_ASSERT_EQUAL(push_updates(&t, UPDATES), 0);
    backlog = stall_backlog(fds, N_STALLED);
    rss_after = tproc_rss_kb(t.lh.pid);
    fprintf(stderr, "[%d updates, %ld bytes unread by %d stalled peers, RSS %ld -> %ld kB] ",
            UPDATES, backlog, N_STALLED, rss_before, rss_after);
    /* Only the latest list is queued per stream, whatever the backlog.
     * (ASan's quarantine keeps freed memory resident: no figure there.) */
    CU_ASSERT_TRUE(rss_before > 0 && rss_after > 0);
    if (!sanitized())
        CU_ASSERT_TRUE(rss_after - rss_before < RSS_GROWTH_KB * tproc_factor());
    /* The peers really stopped reading: the daemon filled their sockets. */
    CU_ASSERT_TRUE(backlog > 100000);
    assert_prompt_exit(&t, (const char *const *)sockets, 2);
    stall_close(fds, N_STALLED);
    free(sockets[0]);
    free(sockets[1]);
    hl_finish(&t);
}

static void
test_restart_with_stalled_peers(void)
{
    int fds[N_STALLED] = {-1, -1, -1};
    int limit_ms = REREGISTER_MS * tproc_factor();
    struct hl t;
    long start;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    CU_ASSERT_EQUAL_FATAL(stall_open(&t, HL_PGPU, fds, N_STALLED), 0);
    CU_ASSERT_EQUAL(push_updates(&t, UPDATES), 0);
    CU_ASSERT_EQUAL_FATAL(ksim_restart(t.sim), 0);
    start = tproc_now_ms();
    CU_ASSERT_EQUAL(ksim_wait_registered(t.sim, HL_PGPU, limit_ms), 0);
    CU_ASSERT_EQUAL(ksim_wait_registered(t.sim, HL_NVSWITCH, limit_ms), 0);
    fprintf(stderr, "[re-registered %ld ms after the restart] ", tproc_now_ms() - start);
    CU_ASSERT_EQUAL(ksim_wait_lists(t.sim, HL_PGPU, 1, limit_ms), 0);
    CU_ASSERT_EQUAL(push_updates(&t, 2), 0);
    stall_close(fds, N_STALLED);
    hl_finish(&t);
}

TEST_SUITE(integ_stalled_peer, NULL, NULL,
           {"ListAndWatch peers that stop reading, 400 updates: SIGTERM exits 0 within 2 s",
            test_sigterm_with_stalled_peers},
           {"ListAndWatch peers that stop reading: a kubelet restart re-registers",
            test_restart_with_stalled_peers})
