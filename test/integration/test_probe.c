#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin/grpc/probe.h"
#include "test/integration/fixture.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* plugin_probe_socket against the daemon's live sockets, a socket nobody
 * listens on, one that accepts and never answers, and paths that are no
 * socket at all. */

#define PROBE_MS 2000

static char *
kpath(const struct harness *h, const char *name)
{
    char *p = NULL;

    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", h->kubelet_dir, name) > 0);
    return p;
}

/* A unix socket bound at path; listening when listen_too. The fd, or -errno. */
static int
bind_unix(const char *path, bool listen_too)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
        return fd < 0 ? -errno : -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (listen_too && listen(fd, 4) < 0)) {
        int r = -errno;

        close(fd);
        return r;
    }
    return fd;
}

static void
test_probe_live_daemon(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct harness h;
    int status;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    for (size_t i = 0; i < fixture_inv.n_res; i++) {
        _cleanup_free_ char *p = kpath(&h, fixture_inv.res[i].socket);

        CU_ASSERT_EQUAL(plugin_probe_socket(p, PROBE_MS, &err), 0);
        if (err.code)
            fprintf(stderr, "\nprobe %s: %s\n", p, err.msg);
    }
    /* A killed daemon leaves its socket files behind: nobody answers. */
    CU_ASSERT_EQUAL(tproc_stop(&h.pid, SIGKILL, 10000, &status), 0);
    {
        _cleanup_free_ char *p = kpath(&h, fixture_inv.res[FIX_PGPU].socket);

        CU_ASSERT_TRUE_FATAL(harness_socket_exists(&h, fixture_inv.res[FIX_PGPU].socket));
        CU_ASSERT_EQUAL(plugin_probe_socket(p, PROBE_MS, &err), -ECONNREFUSED);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, p));
    }
    harness_fini(&h);
}

static void
test_probe_dead_paths(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct harness h;
    _cleanup_free_ char *missing = NULL, *file = NULL, *dead = NULL, *mute = NULL, *longp = NULL;
    int fd, dead_fd, mute_fd;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    missing = kpath(&h, "kgdp-missing.sock");
    file = kpath(&h, "kgdp-file.sock");
    dead = kpath(&h, "kgdp-dead.sock");
    mute = kpath(&h, "kgdp-mute.sock");
    CU_ASSERT_EQUAL(plugin_probe_socket(missing, PROBE_MS, &err), -ENOENT);
    fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(plugin_probe_socket(file, PROBE_MS, &err), -ENOTSOCK);
    /* Bound but not listening: connect() is refused. */
    dead_fd = bind_unix(dead, false);
    CU_ASSERT_FATAL(dead_fd >= 0);
    CU_ASSERT_EQUAL(plugin_probe_socket(dead, PROBE_MS, &err), -ECONNREFUSED);
    /* Listening, never accepted, never answered: the deadline ends it. */
    mute_fd = bind_unix(mute, true);
    CU_ASSERT_FATAL(mute_fd >= 0);
    CU_ASSERT_EQUAL(plugin_probe_socket(mute, 300, &err), -ETIMEDOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "300 ms"));
    CU_ASSERT_EQUAL(plugin_probe_socket(mute, 0, &err), -EINVAL);
    CU_ASSERT_FATAL(asprintf(&longp, "%s/%0120d.sock", h.kubelet_dir, 0) > 0);
    CU_ASSERT_EQUAL(plugin_probe_socket(longp, PROBE_MS, &err), -ENAMETOOLONG);
    close(dead_fd);
    close(mute_fd);
    harness_fini(&h);
}

TEST_SUITE(probe, NULL, NULL,
           {"live daemon answers; killed daemon refused", test_probe_live_daemon},
           {"missing, not a socket, dead, mute, too long", test_probe_dead_paths})
