#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/integration/fixture.h"
#include "test/support/suite.h"

/* Allocate and GetPreferredAllocation refuse every impossible request with
 * INVALID_ARGUMENT and a message a user can act on, through the kubelet
 * simulator against the serving daemon: no container requests, a device
 * named twice, an ID cut short at a NUL byte, more than the caps. */

#define PGPU (&fixture_inv.res[FIX_PGPU])
#define ALLOCATE "/v1beta1.DevicePlugin/Allocate"
#define PREFERRED "/v1beta1.DevicePlugin/GetPreferredAllocation"
#define CALL_MS 10000

/* Call method with req; expect code and a message holding want (NULL: OK). */
static void
expect(struct harness *h, const char *method, const ProtobufCMessage *req, grpc_status_code code,
       const char *want)
{
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;

    CU_ASSERT_EQUAL_FATAL(ksim_call(h->sim, PGPU->name, method, req, NULL, CALL_MS * tproc_factor(),
                                    NULL, &status, &msg),
                          0);
    if (status != code || (want && (!msg || !strstr(msg, want))))
        fprintf(stderr, "\n%s: status %d (want %d) message \"%s\" (want \"%s\")\n", method,
                (int)status, (int)code, msg ? msg : "", want ? want : "");
    CU_ASSERT_EQUAL(status, code);
    if (want)
        CU_ASSERT_PTR_NOT_NULL(msg && strstr(msg, want));
    free(msg);
}

/* An AllocateRequest of n container requests with the given IDs each. */
static void
allocate_request(V1beta1__AllocateRequest *req, V1beta1__ContainerAllocateRequest *crs,
                 V1beta1__ContainerAllocateRequest **ptrs, size_t n, char **ids, size_t n_ids)
{
    v1beta1__allocate_request__init(req);
    for (size_t i = 0; i < n; i++) {
        v1beta1__container_allocate_request__init(&crs[i]);
        crs[i].devices_ids = ids;
        crs[i].n_devices_ids = n_ids;
        ptrs[i] = &crs[i];
    }
    req->container_requests = ptrs;
    req->n_container_requests = n;
}

static void
test_allocate_refusals(void)
{
    char *one[] = {(char *)PGPU->devs[0].id};
    char *twice[] = {(char *)PGPU->devs[0].id, (char *)PGPU->devs[0].id};
    char *garbage[] = {"0000:18:00.0x"};
    char **many = calloc(300, sizeof(*many));
    V1beta1__ContainerAllocateRequest crs[8], *ptrs[8];
    V1beta1__AllocateRequest req;
    struct harness h;

    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    for (size_t i = 0; i < 300; i++)
        many[i] = one[0];
    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    allocate_request(&req, crs, ptrs, 1, one, 1);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_OK, NULL);
    allocate_request(&req, crs, ptrs, 0, one, 1);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT, "has no container requests");
    allocate_request(&req, crs, ptrs, 2, one, 1);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "device 0000:18:00.0 is named by container requests 1 and 2");
    allocate_request(&req, crs, ptrs, 1, twice, 2);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "0000:18:00.0 is named twice in devices_ids of container request 1");
    allocate_request(&req, crs, ptrs, 1, garbage, 1);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT, "0000:18:00.0x");
    allocate_request(&req, crs, ptrs, 5, one, 0);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "has 5 container requests; at most 4");
    allocate_request(&req, crs, ptrs, 1, many, 257);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "names 257 device IDs; at most 256");
    fixture_stop(&h);
    harness_fini(&h);
    free(many);
}

/* "0000:18:00.0\0garbage" as the one ID of one container request, sent as
 * raw bytes (an unknown field of an empty message, which protobuf-c packs
 * verbatim after its tag, length included): protobuf-c would read the ID
 * as 0000:18:00.0. */
static void
test_allocate_nul(void)
{
    static const char id[] = "0000:18:00.0\0garbage";
    uint8_t inner[3 + sizeof(id) - 1];
    ProtobufCMessageUnknownField field = {.tag = 1,
                                          .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                          .len = sizeof(inner),
                                          .data = inner};
    V1beta1__AllocateRequest req = V1BETA1__ALLOCATE_REQUEST__INIT;
    struct harness h;

    inner[0] = (uint8_t)(sizeof(inner) - 1); /* the container request's length */
    inner[1] = 0x0a;                         /* field 1 (devices_ids), length-delimited */
    inner[2] = (uint8_t)(sizeof(id) - 1);
    memcpy(inner + 3, id, sizeof(id) - 1);
    req.base.n_unknown_fields = 1;
    req.base.unknown_fields = &field;
    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    expect(&h, ALLOCATE, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "ContainerAllocateRequest.devices_ids holds a NUL byte at position 12");
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_preferred_refusals(void)
{
    char *ids[] = {(char *)PGPU->devs[0].id, (char *)PGPU->devs[1].id, (char *)PGPU->devs[0].id};
    char **many = calloc(300, sizeof(*many));
    V1beta1__ContainerPreferredAllocationRequest crs[6], *ptrs[6];
    V1beta1__PreferredAllocationRequest req = V1BETA1__PREFERRED_ALLOCATION_REQUEST__INIT;
    struct harness h;

    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    for (size_t i = 0; i < 300; i++)
        many[i] = ids[0];
    for (size_t i = 0; i < 6; i++) {
        v1beta1__container_preferred_allocation_request__init(&crs[i]);
        crs[i].available_deviceids = ids;
        crs[i].n_available_deviceids = 2;
        crs[i].allocation_size = 1;
        ptrs[i] = &crs[i];
    }
    req.container_requests = ptrs;
    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    req.n_container_requests = 1;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_OK, NULL);
    req.n_container_requests = 0;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_INVALID_ARGUMENT, "has no container requests");
    req.n_container_requests = 6;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "has 6 container requests; at most 4");
    req.n_container_requests = 1;
    crs[0].n_available_deviceids = 3;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "0000:18:00.0 is named twice in available_deviceIDs of container request 1");
    crs[0].available_deviceids = many;
    crs[0].n_available_deviceids = 300;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "container request 1 lists 300 available_deviceIDs; at most 256");
    crs[0].available_deviceids = ids;
    crs[0].n_available_deviceids = 2;
    crs[0].allocation_size = 100000;
    expect(&h, PREFERRED, &req.base, GRPC_STATUS_INVALID_ARGUMENT,
           "asks for 100000 devices; allocation_size must be 1 to 256");
    fixture_stop(&h);
    harness_fini(&h);
    free(many);
}

TEST_SUITE(integ_requests, NULL, NULL, {"Allocate refusals", test_allocate_refusals},
           {"Allocate ID with a NUL byte", test_allocate_nul},
           {"GetPreferredAllocation refusals", test_preferred_refusals})
