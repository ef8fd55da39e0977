#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "plugin/backoff.h"
#include "plugin/loop.h"
#include "plugin/monitor.h"
#include "plugin/socket_path.h"
#include "plugin/status.h"
#include "test/unit/suite.h"

static void
test_status_mapping(void)
{
    static const struct {
        int err;
        grpc_status_code code;
    } cases[] = {
        {0, GRPC_STATUS_OK},
        {-EINVAL, GRPC_STATUS_INVALID_ARGUMENT},
        {-EPERM, GRPC_STATUS_FAILED_PRECONDITION},
        {-ENODEV, GRPC_STATUS_FAILED_PRECONDITION},
        {-ENOMEM, GRPC_STATUS_INTERNAL},
        {-EIO, GRPC_STATUS_INTERNAL},
        {-EOPNOTSUPP, GRPC_STATUS_INTERNAL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CU_ASSERT_EQUAL(plugin_status_from_errno(cases[i].err), cases[i].code);
    CU_ASSERT_STRING_EQUAL(plugin_status_name(GRPC_STATUS_FAILED_PRECONDITION),
                           "FAILED_PRECONDITION");
}

static void
test_socket_path(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char dir[200], *path = NULL;

    CU_ASSERT_EQUAL_FATAL(
        plugin_socket_path("/var/lib/kubelet/device-plugins/", "kgdp-pgpu.sock", &path, &err), 0);
    CU_ASSERT_STRING_EQUAL(path, "/var/lib/kubelet/device-plugins/kgdp-pgpu.sock");
    free(path);
    /* Exactly 107 bytes fits, 108 does not. */
    memset(dir, 'd', sizeof(dir));
    dir[0] = '/';
    dir[100] = '\0';
    CU_ASSERT_EQUAL_FATAL(plugin_socket_path(dir, "abcdef", &path, &err), 0);
    CU_ASSERT_EQUAL(strlen(path), 107);
    free(path);
    path = NULL;
    CU_ASSERT_EQUAL(plugin_socket_path(dir, "abcdefg", &path, &err), -ENAMETOOLONG);
    CU_ASSERT_PTR_NULL(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "108 bytes"));
    CU_ASSERT_EQUAL(plugin_socket_path("/d", "a/b", &path, &err), -EINVAL);
    CU_ASSERT_EQUAL(plugin_socket_path("/d", "", &path, &err), -EINVAL);
    CU_ASSERT_EQUAL(plugin_socket_path("/d", "..", &path, &err), -EINVAL);
}

static void
test_backoff(void)
{
    struct plugin_backoff b = PLUGIN_BACKOFF_INIT(100, 5000);
    static const uint32_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CU_ASSERT_EQUAL(plugin_backoff_next(&b), want[i]);
    plugin_backoff_reset(&b);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 100);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 200);
}

static void
test_backoff_saturates(void)
{
    struct plugin_backoff b = PLUGIN_BACKOFF_INIT(3000000000u, 4000000000u);

    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 3000000000u);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 4000000000u);
    CU_ASSERT_EQUAL(plugin_backoff_next(&b), 4000000000u);
}

/* Append one inotify record with a padded name to buf at *off. */
static void
put_event(char *buf, size_t *off, uint32_t mask, const char *name)
{
    struct inotify_event ev = {.wd = 1, .mask = mask, .len = name ? 16 : 0};

    memcpy(buf + *off, &ev, sizeof(ev));
    *off += sizeof(ev);
    if (name) {
        memset(buf + *off, 0, 16);
        memcpy(buf + *off, name, strlen(name));
        *off += 16;
    }
}

static void
test_watch_parse(void)
{
    char buf[512] __attribute__((aligned(8)));
    size_t n = 0;

    put_event(buf, &n, IN_CREATE, "kubelet.sock");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n), PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_CREATE, "kubelet.sock2");
    put_event(buf, &n, IN_CREATE, "kubelet.so");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n), 0);
    n = 0;
    put_event(buf, &n, IN_DELETE, "kgdp-pgpu.sock");
    put_event(buf, &n, IN_MOVED_TO, "kubelet.sock");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n),
                    PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_Q_OVERFLOW, NULL);
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n),
                    PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_CREATE, "kubelet.sock");
    /* A truncated record is ignored, not read past. */
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n - 1), 0);
}

TEST_SUITE(plugin_misc, NULL, NULL, {"errno to gRPC status", test_status_mapping},
           {"socket path length", test_socket_path}, {"backoff schedule", test_backoff},
           {"backoff saturates", test_backoff_saturates}, {"inotify events", test_watch_parse})
