#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/fixture.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* `kata-gpu-device-plugin health` (the DaemonSet's liveness probe) as a
 * process: against the live daemon serving a fixture host (resources named
 * from its CDI specs), the daemon killed with its sockets left behind, one
 * stale socket beside live ones, and no daemon at all. */

#define HEALTH_LIMIT_MS 15000

/* Run $KGDP_BIN health --kubelet-dir dir --cdi-dir cdi; its exit status
 * (or -1) and output (caller frees) in *ret_out. */
static int
run_health(const char *dir, const char *cdi, char **ret_out)
{
    const char *bin = getenv("KGDP_BIN");
    char tmpl[] = "/tmp/kgdp-health-out-XXXXXX";
    int fd = mkstemp(tmpl), status = -1;
    char *out = NULL;
    size_t cap = 0;
    FILE *f;
    pid_t pid;

    CU_ASSERT_FATAL(fd >= 0 && bin);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(tproc_spawn((char *[]){(char *)bin, "health", "--kubelet-dir",
                                                 (char *)dir, "--cdi-dir", (char *)cdi, NULL},
                                      tmpl, NULL, &pid),
                          0);
    if (tproc_wait(pid, HEALTH_LIMIT_MS * tproc_factor(), &status) < 0) {
        tproc_end(&pid, 1000);
        CU_FAIL("health did not finish");
    }
    f = fopen(tmpl, "re");
    CU_ASSERT_FATAL(f != NULL);
    if (getdelim(&out, &cap, '\0', f) < 0) {
        free(out);
        out = strdup("");
    }
    fclose(f);
    unlink(tmpl);
    *ret_out = out;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The real daemon on the HGX H100 fixture with the harness's dirs and the
 * kubelet simulator, both resources registered. 0 or -errno. */
static int
start_real(struct harness *h)
{
    const char *bin = getenv("KGDP_BIN"), *fx = getenv("KGDP_FIXTURES");
    _cleanup_free_ char *sys = NULL, *dev = NULL;
    int ready_ms = FIX_READY_MS * tproc_factor(), r;

    if (!bin || !fx || asprintf(&sys, "%s/hgx-h100-iommufd/sys", fx) < 0 ||
        asprintf(&dev, "%s/hgx-h100-iommufd/dev", fx) < 0)
        return -EINVAL;
    if ((r = harness_init(h)) < 0 || (r = harness_start_sim(h)) < 0)
        return r;
    r = tproc_spawn_daemon((char *[]){(char *)bin, "serve", "--sysfs-root", sys, "--dev-root", dev,
                                      "--kubelet-dir", h->kubelet_dir, "--cdi-dir", h->cdi_dir,
                                      NULL},
                           h->log, NULL, &h->pid);
    if (r == 0)
        r = ksim_wait_registered(h->sim, "nvidia.com/pgpu", ready_ms);
    if (r == 0)
        r = ksim_wait_registered(h->sim, "nvidia.com/nvswitch", ready_ms);
    return r;
}

static void
test_health_live_then_killed(void)
{
    _cleanup_free_ char *out = NULL, *out2 = NULL;
    struct harness h;
    int status;

    CU_ASSERT_EQUAL_FATAL(start_real(&h), 0);
    CU_ASSERT_EQUAL(run_health(h.kubelet_dir, h.cdi_dir, &out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok      nvidia.com/pgpu kgdp-pgpu.sock\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok      nvidia.com/nvswitch kgdp-nvswitch.sock\n"));
    CU_ASSERT_EQUAL(count_lines(out), 2); /* one line per resource, not kubelet.sock */
    CU_ASSERT_EQUAL(tproc_stop(&h.pid, SIGKILL, 10000, &status), 0);
    CU_ASSERT_EQUAL(run_health(h.kubelet_dir, h.cdi_dir, &out2), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out2, "FAILED  nvidia.com/pgpu kgdp-pgpu.sock: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out2, "FAILED  nvidia.com/nvswitch kgdp-nvswitch.sock: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out2, "nobody serves the socket"));
    harness_fini(&h);
}

static void
test_health_one_stale_socket(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_free_ char *out = NULL;
    struct harness h;
    int fd;

    CU_ASSERT_EQUAL_FATAL(start_real(&h), 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/kgdp-stale.sock", h.kubelet_dir);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CU_ASSERT_EQUAL(run_health(h.kubelet_dir, h.cdi_dir, &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "ok      nvidia.com/pgpu kgdp-pgpu.sock\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "FAILED  ? kgdp-stale.sock: "));
    close(fd);
    unlink(sa.sun_path);
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_health_no_daemon(void)
{
    _cleanup_free_ char *out = NULL, *out2 = NULL, *gone = NULL;
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL(run_health(h.kubelet_dir, h.cdi_dir, &out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no kgdp-*.sock socket in"));
    CU_ASSERT_FATAL(asprintf(&gone, "%s/absent", h.kubelet_dir) > 0);
    CU_ASSERT_EQUAL(run_health(gone, h.cdi_dir, &out2), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out2, "No such file or directory"));
    harness_fini(&h);
}

TEST_SUITE(health_cmd, NULL, NULL,
           {"live daemon: 0, one line per socket; killed: 1", test_health_live_then_killed},
           {"a stale socket beside live ones fails", test_health_one_stale_socket},
           {"no daemon, no kubelet dir", test_health_no_daemon})
