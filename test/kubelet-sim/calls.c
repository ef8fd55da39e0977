#include <errno.h>
#include <stdlib.h>

#include "test/kubelet-sim/ksim-priv.h"

/* The kubelet's calls into a registered plugin, made for the caller. */

int
ksim_call(struct ksim *sim, const char *resource, const char *method_path,
          const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
          int timeout_ms, ProtobufCMessage **ret, grpc_status_code *ret_status, char **ret_msg)
{
    struct ksim_reg *reg = ksim_reg_get(sim, resource);
    int r;

    if (!reg)
        return -ENOENT;
    r = ksim_unary(reg->channel, method_path, req, resp_desc, timeout_ms, ret, ret_status,
                   ret_msg);
    ksim_reg_unref(reg, false);
    return r;
}

int
ksim_allocate(struct ksim *sim, const char *resource, const char *const *ids, size_t n,
              V1beta1__AllocateResponse **ret, grpc_status_code *ret_status, char **ret_msg)
{
    V1beta1__AllocateRequest req = V1BETA1__ALLOCATE_REQUEST__INIT;
    V1beta1__ContainerAllocateRequest creq = V1BETA1__CONTAINER_ALLOCATE_REQUEST__INIT;
    V1beta1__ContainerAllocateRequest *creqs[1] = {&creq};

    creq.n_devices_ids = n;
    creq.devices_ids = (char **)ids;
    req.n_container_requests = 1;
    req.container_requests = creqs;
    return ksim_call(sim, resource, "/v1beta1.DevicePlugin/Allocate", &req.base,
                     &v1beta1__allocate_response__descriptor, KSIM_CALL_TIMEOUT_MS,
                     (ProtobufCMessage **)ret, ret_status, ret_msg);
}

int
ksim_preferred(struct ksim *sim, const char *resource, const char *const *available,
               size_t n_available, const char *const *must, size_t n_must, int size,
               V1beta1__PreferredAllocationResponse **ret, grpc_status_code *ret_status,
               char **ret_msg)
{
    V1beta1__PreferredAllocationRequest req = V1BETA1__PREFERRED_ALLOCATION_REQUEST__INIT;
    V1beta1__ContainerPreferredAllocationRequest creq =
        V1BETA1__CONTAINER_PREFERRED_ALLOCATION_REQUEST__INIT;
    V1beta1__ContainerPreferredAllocationRequest *creqs[1] = {&creq};

    creq.n_available_deviceids = n_available;
    creq.available_deviceids = (char **)available;
    creq.n_must_include_deviceids = n_must;
    creq.must_include_deviceids = (char **)must;
    creq.allocation_size = size;
    req.n_container_requests = 1;
    req.container_requests = creqs;
    return ksim_call(sim, resource, "/v1beta1.DevicePlugin/GetPreferredAllocation", &req.base,
                     &v1beta1__preferred_allocation_response__descriptor, KSIM_CALL_TIMEOUT_MS,
                     (ProtobufCMessage **)ret, ret_status, ret_msg);
}
