#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/harness.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* End to end with podman 4.3 (--runtime runc): test/cdi-check/podman-e2e.sh
 * runs a container with --device nvidia.com/pgpu=<ID> from our spec, in a
 * mount namespace of its own with tmpfs over the CDI dirs. Where root,
 * podman, runc, unshare or busybox-static are missing, the script exits 77
 * and the test is skipped with the reason printed; under CI=true it fails
 * instead (scripts/install-deps.sh installs them). */

#define PODMAN_LIMIT_MS 300000
#define PODMAN_SKIP 77

static void
podman_e2e(const char *fixture)
{
    const char *src = getenv("KGDP_SRCDIR");
    _cleanup_free_ char *script = NULL, *log = NULL, *env_fx = NULL;
    char tmpl[] = "/tmp/kgdp-podman-log-XXXXXX";
    int fd = mkstemp(tmpl), status = -1;
    pid_t pid;

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(asprintf(&script, "%s/test/cdi-check/podman-e2e.sh", src ? src : ".") > 0 &&
                    asprintf(&env_fx, "KGDP_PODMAN_FIXTURE=%s", fixture) > 0);
    CU_ASSERT_EQUAL_FATAL(
        tproc_spawn((char *[]){"sh", script, NULL}, tmpl, (char *[]){env_fx, NULL}, &pid), 0);
    if (tproc_wait(pid, PODMAN_LIMIT_MS, &status) < 0) {
        kill(pid, SIGTERM);
        tproc_wait(pid, 10000, &status);
        CU_FAIL("podman-e2e.sh timed out");
    }
    harness_dump(WIFEXITED(status) && WEXITSTATUS(status) == PODMAN_SKIP
                     ? "podman end-to-end SKIPPED"
                     : "podman end-to-end",
                 tmpl);
    CU_ASSERT(WIFEXITED(status) &&
              (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == PODMAN_SKIP));
    unlink(tmpl);
}

static void
test_podman_iommufd(void)
{
    podman_e2e("hgx-h100-iommufd");
}

static void
test_podman_legacy(void)
{
    podman_e2e("hgx-h200-legacy");
}

TEST_SUITE(cdi_podman, NULL, NULL,
           {"podman runs --device nvidia.com/pgpu (iommufd)", test_podman_iommufd},
           {"podman runs --device nvidia.com/pgpu (legacy)", test_podman_legacy})
