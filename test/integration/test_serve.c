#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/integration/fixture.h"
#include "test/support/suite.h"

/* The daemon's answers to a kubelet: registration, lists, Allocate,
 * GetPreferredAllocation and the error paths. */

#define PGPU (&fixture_inv.res[FIX_PGPU])
#define NVSW (&fixture_inv.res[FIX_NVSWITCH])

static void
test_register_all(void)
{
    struct harness h;
    char **names = NULL;
    int n;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    n = ksim_registered(h.sim, &names);
    CU_ASSERT_EQUAL(n, 2);
    for (int i = 0; i < n; i++) {
        const struct h_res *want = strcmp(names[i], PGPU->name) == 0 ? PGPU : NVSW;
        char *endpoint = ksim_endpoint(h.sim, names[i]);
        bool pre_start = true, preferred = false;

        CU_ASSERT_STRING_EQUAL(names[i], want->name);
        CU_ASSERT_PTR_NOT_NULL(endpoint);
        if (endpoint)
            CU_ASSERT_STRING_EQUAL(endpoint, want->socket);
        CU_ASSERT_EQUAL(ksim_options(h.sim, names[i], &pre_start, &preferred), 0);
        CU_ASSERT_FALSE(pre_start);
        CU_ASSERT_TRUE(preferred);
        free(endpoint);
        free(names[i]);
    }
    free(names);
    CU_ASSERT_EQUAL(ksim_rejections(h.sim, NULL), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_lists_match_inventory(void)
{
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    for (size_t i = 0; i < fixture_inv.n_res; i++) {
        V1beta1__ListAndWatchResponse *list = NULL;

        CU_ASSERT_EQUAL(ksim_last_list(h.sim, fixture_inv.res[i].name, &list, NULL), 0);
        if (!list)
            continue;
        CU_ASSERT_EQUAL(harness_list_matches(list, &fixture_inv.res[i]), 0);
        protobuf_c_message_free_unpacked(&list->base, NULL);
    }
    fixture_stop(&h);
    harness_fini(&h);
}

static bool
has_spec(const V1beta1__ContainerAllocateResponse *c, const struct harness *h, const char *node)
{
    char *host;
    bool found = false;

    if (asprintf(&host, "%s/%s", h->dev_root, node + strlen("/dev/")) < 0)
        return false;
    for (size_t i = 0; i < c->n_devices && !found; i++) {
        const char *perm = c->devices[i]->permissions;

        found = strcmp(c->devices[i]->container_path, node) == 0 &&
                strcmp(c->devices[i]->host_path, host) == 0 && perm[0] &&
                strspn(perm, "rwm") == strlen(perm);
    }
    free(host);
    return found;
}

static bool
has_cdi(const V1beta1__ContainerAllocateResponse *c, const char *res, const char *id)
{
    char *want;
    bool found = false;

    if (asprintf(&want, "%s=%s", res, id) < 0)
        return false;
    for (size_t i = 0; i < c->n_cdi_devices; i++)
        found |= strcmp(c->cdi_devices[i]->name, want) == 0;
    free(want);
    return found;
}

/* Allocate returns one spec per distinct node, one CDI name per device and
 * the PCI_RESOURCE_* variable. */
static void
test_allocate(void)
{
    const char *gpus[] = {PGPU->devs[0].id, PGPU->devs[1].id};
    const char *switches[] = {NVSW->devs[0].id, NVSW->devs[1].id};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL, *want_env = NULL;
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    CU_ASSERT_EQUAL(ksim_allocate(h.sim, PGPU->name, gpus, 2, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_OK);
    if (resp && resp->n_container_responses == 1) {
        const V1beta1__ContainerAllocateResponse *c = resp->container_responses[0];

        CU_ASSERT_EQUAL(c->n_devices, 2);
        CU_ASSERT_TRUE(has_spec(c, &h, PGPU->devs[0].nodes));
        CU_ASSERT_TRUE(has_spec(c, &h, PGPU->devs[1].nodes));
        CU_ASSERT_EQUAL(c->n_cdi_devices, 2);
        CU_ASSERT_TRUE(has_cdi(c, PGPU->name, gpus[0]));
        CU_ASSERT_TRUE(has_cdi(c, PGPU->name, gpus[1]));
        CU_ASSERT_FATAL(asprintf(&want_env, "%s,%s", gpus[0], gpus[1]) > 0);
        CU_ASSERT_PTR_NOT_NULL(harness_env_value(c, "PCI_RESOURCE_NVIDIA_COM_PGPU"));
        if (harness_env_value(c, "PCI_RESOURCE_NVIDIA_COM_PGPU"))
            CU_ASSERT_STRING_EQUAL(harness_env_value(c, "PCI_RESOURCE_NVIDIA_COM_PGPU"), want_env);
        free(want_env);
    } else {
        CU_FAIL("Allocate: want one container response");
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    resp = NULL;
    msg = NULL;
    /* The switches share vfio9: it must be listed once. */
    CU_ASSERT_EQUAL(ksim_allocate(h.sim, NVSW->name, switches, 2, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_OK);
    if (resp && resp->n_container_responses == 1) {
        const V1beta1__ContainerAllocateResponse *c = resp->container_responses[0];

        CU_ASSERT_EQUAL(c->n_devices, 2);
        CU_ASSERT_TRUE(has_spec(c, &h, "/dev/vfio/devices/vfio8"));
        CU_ASSERT_TRUE(has_spec(c, &h, "/dev/vfio/devices/vfio9"));
        CU_ASSERT_TRUE(has_cdi(c, NVSW->name, switches[0]));
        CU_ASSERT_TRUE(has_cdi(c, NVSW->name, switches[1]));
    } else {
        CU_FAIL("Allocate: want one container response");
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    fixture_stop(&h);
    harness_fini(&h);
}

static void
expect_preferred(struct harness *h, const char *const *must, size_t n_must, const char *want)
{
    const char *avail[] = {PGPU->devs[0].id, PGPU->devs[1].id};
    V1beta1__PreferredAllocationResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;

    CU_ASSERT_EQUAL(ksim_preferred(h->sim, PGPU->name, avail, 2, must, n_must, 1, &resp, &status,
                                   &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_OK);
    if (resp && resp->n_container_responses == 1 &&
        resp->container_responses[0]->n_deviceids == 1) {
        CU_ASSERT_STRING_EQUAL(resp->container_responses[0]->deviceids[0], want);
    } else {
        CU_FAIL("GetPreferredAllocation: want one device in one container response");
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
}

static void
test_preferred(void)
{
    const char *must[] = {PGPU->devs[1].id};
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    expect_preferred(&h, NULL, 0, PGPU->devs[0].id);
    expect_preferred(&h, must, 1, PGPU->devs[1].id);
    fixture_stop(&h);
    harness_fini(&h);
}

/* An Allocate that fails returns code, and a message naming the device. */
static void
expect_alloc_error(struct harness *h, const char *id, grpc_status_code want)
{
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_OK;
    const char *ids[] = {id};
    char *msg = NULL;

    CU_ASSERT_EQUAL(ksim_allocate(h->sim, PGPU->name, ids, 1, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, want);
    CU_ASSERT_PTR_NULL(resp);
    CU_ASSERT_PTR_NOT_NULL(msg);
    if (msg && !strstr(msg, id)) {
        fprintf(stderr, "message \"%s\" does not name %s\n", msg, id);
        CU_FAIL("error message does not name the device");
    }
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
}

static void
test_allocate_errors(void)
{
    const char *ok_ids[] = {PGPU->devs[0].id};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    expect_alloc_error(&h, "0000:ff:00.0", GRPC_STATUS_INVALID_ARGUMENT);
    expect_alloc_error(&h, PGPU->devs[2].id, GRPC_STATUS_FAILED_PRECONDITION);
    /* Still serving: a good request works and the stream stays open. */
    CU_ASSERT_EQUAL(ksim_allocate(h.sim, PGPU->name, ok_ids, 1, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, GRPC_STATUS_OK);
    CU_ASSERT_PTR_NOT_NULL(resp);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    CU_ASSERT_EQUAL(ksim_stream_ended(h.sim, PGPU->name, NULL), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

/* Methods nobody registered are refused at once, not left to time out. */
static void
expect_unimplemented(struct harness *h, const char *method)
{
    int limit_ms = 1000 * tproc_factor();
    grpc_status_code status = GRPC_STATUS_OK;
    char *msg = NULL;
    long start = tproc_now_ms(), took;

    CU_ASSERT_EQUAL(ksim_call(h->sim, PGPU->name, method, NULL, NULL, 5 * limit_ms, NULL,
                              &status, &msg), 0);
    took = tproc_now_ms() - start;
    CU_ASSERT_EQUAL(status, GRPC_STATUS_UNIMPLEMENTED);
    if (took > limit_ms) {
        fprintf(stderr, "%s answered after %ld ms (limit %d)\n", method, took, limit_ms);
        CU_FAIL("UNIMPLEMENTED not within 1 s");
    }
    free(msg);
}

static void
test_unknown_method(void)
{
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    expect_unimplemented(&h, "/v1beta1.DevicePlugin/NoSuchMethod");
    expect_unimplemented(&h, "/v1beta2.DevicePlugin/Allocate");
    expect_unimplemented(&h, "/grpc.health.v1.Health/Check");
    /* The server keeps its ListAndWatch stream after those. */
    CU_ASSERT_EQUAL(ksim_stream_ended(h.sim, PGPU->name, NULL), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

TEST_SUITE(integ_serve, NULL, NULL, {"register every resource", test_register_all},
           {"ListAndWatch lists equal the inventory", test_lists_match_inventory},
           {"Allocate returns specs, CDI names, envs", test_allocate},
           {"GetPreferredAllocation", test_preferred},
           {"Allocate errors name the device, server keeps serving", test_allocate_errors},
           {"unknown method -> UNIMPLEMENTED within 1 s", test_unknown_method})
