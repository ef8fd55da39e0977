#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "test/integration/harness.h"
#include "test/kubelet-sim/ksim-priv.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* The simulator's own checks: it must refuse what the kubelet refuses. */

static void
test_resource_names(void)
{
    static const struct {
        const char *name;
        int want;
    } cases[] = {
        {"nvidia.com/pgpu", 0},
        {"nvidia.com/GH100_H100_SXM5_80GB", 0},
        {"example.org/a.b-c_d", 0},
        {"pgpu", -EINVAL},
        {"kubernetes.io/gpu", -EINVAL},
        {"foo.kubernetes.io/gpu", -EINVAL},
        {"Nvidia.com/pgpu", -EINVAL},
        {"nvidia.com/", -EINVAL},
        {"nvidia.com/-gpu", -EINVAL},
        {"nvidia.com/gpu-", -EINVAL},
        {"nvidia.com/a/b", -EINVAL},
        {"requests.nvidia.com/gpu", -EINVAL},
        {"nvidia..com/gpu", -EINVAL},
        {"nvidia.com/0123456789012345678901234567890123456789012345678901234567890123", -EINVAL},
        {"nvidia.com/012345678901234567890123456789012345678901234567890123456789012", 0},
    };
    char msg[256];

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int r = ksim_validate_resource_name(cases[i].name, msg, sizeof(msg));

        if (r != cases[i].want)
            fprintf(stderr, "%s: got %d want %d\n", cases[i].name, r, cases[i].want);
        CU_ASSERT_EQUAL(r, cases[i].want);
    }
}

static int
bind_socket(const char *dir, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send a RegisterRequest to the sim; returns the status. */
static grpc_status_code
register_with(struct harness *h, const char *version, const char *endpoint, const char *name)
{
    V1beta1__RegisterRequest req = V1BETA1__REGISTER_REQUEST__INIT;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_status_code status = GRPC_STATUS_OK;
    grpc_channel *ch;
    char *target, *msg = NULL;

    req.version = (char *)version;
    req.endpoint = (char *)endpoint;
    req.resource_name = (char *)name;
    CU_ASSERT_FATAL(asprintf(&target, "unix:%s/kubelet.sock", h->kubelet_dir) > 0);
    ch = grpc_channel_create(target, creds, NULL);
    CU_ASSERT_EQUAL(ksim_unary(ch, "/v1beta1.Registration/Register", &req.base,
                               &v1beta1__empty__descriptor, 5000, NULL, &status, &msg),
                    0);
    grpc_channel_destroy(ch);
    grpc_channel_credentials_release(creds);
    free(target);
    free(msg);
    return status;
}

static void
test_register_rejections(void)
{
    struct harness h;
    char *last = NULL;
    int fd;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_start_sim(&h), 0);
    fd = bind_socket(h.kubelet_dir, "p.sock");
    CU_ASSERT_TRUE(fd >= 0);
    CU_ASSERT_NOT_EQUAL(register_with(&h, "v1alpha", "p.sock", "nvidia.com/pgpu"), GRPC_STATUS_OK);
    CU_ASSERT_NOT_EQUAL(register_with(&h, "v1beta1", "p.sock", "pgpu"), GRPC_STATUS_OK);
    CU_ASSERT_NOT_EQUAL(register_with(&h, "v1beta1", "../p.sock", "nvidia.com/pgpu"),
                        GRPC_STATUS_OK);
    CU_ASSERT_NOT_EQUAL(register_with(&h, "v1beta1", "absent.sock", "nvidia.com/pgpu"),
                        GRPC_STATUS_OK);
    CU_ASSERT_EQUAL(ksim_rejections(h.sim, &last), 4);
    CU_ASSERT_PTR_NOT_NULL(last);
    if (last)
        CU_ASSERT_PTR_NOT_NULL(strstr(last, "absent.sock"));
    CU_ASSERT_EQUAL(ksim_registrations(h.sim, "nvidia.com/pgpu"), 0);
    CU_ASSERT_EQUAL(ksim_wait_registered(h.sim, "nvidia.com/pgpu", 10), -ETIMEDOUT);
    free(last);
    if (fd >= 0)
        close(fd);
    harness_fini(&h);
}

TEST_SUITE(integ_ksim, NULL, NULL, {"resource name validation", test_resource_names},
           {"Register rejections", test_register_rejections})
