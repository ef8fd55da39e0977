#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/integration/fresh_call.h"
#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* A socket file that stays while nobody accepts behind it: only the
 * daemon's periodic self-probe can notice, and it re-creates the socket
 * and registers again. */

#define FIXTURE "hgx-h100-iommufd"
#define RECREATE_MS 12000 /* two 5 s probe periods and a margin; times factor */

/* Put a bound socket that never listens at <dir>/<name>, atomically (a
 * rename, so the file never disappears). The impostor's fd, or -errno. */
static int
replace_with_dead_socket(const char *dir, const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char *tmp = NULL, *path = NULL;
    int fd = -1, r = 0;

    if (asprintf(&tmp, "%s/impostor.sock", dir) < 0 || asprintf(&path, "%s/%s", dir, name) < 0 ||
        strlen(tmp) >= sizeof(addr.sun_path)) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(addr.sun_path, tmp, strlen(tmp) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || rename(tmp, path) < 0)
        r = -errno;
out:
    free(tmp);
    free(path);
    if (r < 0 && fd >= 0)
        close(fd);
    return r < 0 ? r : fd;
}

static void
test_dead_socket_recreated(void)
{
    int limit = RECREATE_MS * tproc_factor(), dead;
    char *endpoint = NULL;
    long start, end;
    unsigned before;
    bool serving;
    struct hl t;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    endpoint = ksim_endpoint(t.sim, HL_PGPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(endpoint);
    before = ksim_registrations(t.sim, HL_PGPU);
    dead = replace_with_dead_socket(t.lh.kubelet, endpoint);
    CU_ASSERT_TRUE_FATAL(dead >= 0);
    /* The file is there and refuses: what a wedged server looks like. */
    CU_ASSERT_NOT_EQUAL(fresh_call(t.lh.kubelet, endpoint, 500), 0);
    start = tproc_now_ms();
    end = start + limit;
    while (!(serving = fresh_call(t.lh.kubelet, endpoint, 500) == 0) && tproc_now_ms() < end)
        usleep(100000);
    fprintf(stderr, "[%s after %ld ms] ", serving ? "serving again" : "still not serving",
            tproc_now_ms() - start);
    CU_ASSERT_EQUAL(fresh_call(t.lh.kubelet, endpoint, 2000 * tproc_factor()), 0);
    CU_ASSERT_EQUAL(ksim_wait_registrations(t.sim, HL_PGPU, before + 1, limit), 0);
    close(dead);
    free(endpoint);
    hl_finish(&t);
}

TEST_SUITE(integ_self_probe, NULL, NULL,
           {"a socket nobody accepts behind is re-created by the self-probe",
            test_dead_socket_recreated})
