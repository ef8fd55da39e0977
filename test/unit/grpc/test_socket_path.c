#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/socket_path.h"
#include "test/support/suite.h"

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

TEST_SUITE(grpc_socket_path, NULL, NULL, {"socket path length", test_socket_path})
