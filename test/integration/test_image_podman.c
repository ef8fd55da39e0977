#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/harness.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* The shipped image (make image) under the DaemonSet's security settings:
 * test/image/podman-leastpriv.sh runs it with podman, every capability
 * dropped, a read-only root and the DaemonSet's mounts of a fixture host,
 * and drives it with the C kubelet simulator. The script exits 77 when
 * root, podman or runc are missing (outside CI; in CI that fails). */

#define LEASTPRIV_LIMIT_MS 300000
#define LEASTPRIV_SKIP 77

static void
test_leastpriv(void)
{
    const char *src = getenv("KGDP_SRCDIR");
    _cleanup_free_ char *script = NULL;
    char tmpl[] = "/tmp/kgdp-leastpriv-log-XXXXXX";
    int fd = mkstemp(tmpl), status = -1;
    pid_t pid;

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(asprintf(&script, "%s/test/image/podman-leastpriv.sh", src ? src : ".") > 0);
    CU_ASSERT_EQUAL_FATAL(tproc_spawn((char *[]){"sh", script, NULL}, tmpl, NULL, &pid), 0);
    if (tproc_wait(pid, LEASTPRIV_LIMIT_MS, &status) < 0) {
        kill(pid, SIGTERM);
        tproc_wait(pid, 10000, &status);
        CU_FAIL("podman-leastpriv.sh timed out");
    }
    harness_dump(WIFEXITED(status) && WEXITSTATUS(status) == LEASTPRIV_SKIP
                     ? "least-privilege image run SKIPPED"
                     : "least-privilege image run",
                 tmpl);
    CU_ASSERT(WIFEXITED(status) &&
              (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == LEASTPRIV_SKIP));
    unlink(tmpl);
}

TEST_SUITE(image_podman, NULL, NULL,
           {"image serves with no capability, read-only root, DaemonSet mounts", test_leastpriv})
