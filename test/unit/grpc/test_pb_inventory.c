#include <string.h>

#include "plugin/grpc/grpc_payload.h"
#include "plugin/grpc/pb_inventory.h"
#include "test/support/fake_inventory.h"
#include "test/support/suite.h"

static struct inventory *
example(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_EQUAL_FATAL(
        fake_inventory_parse(
            "resource nvidia.com/pgpu\n"
            "device 0000:18:00.0 Healthy 3 /dev/vfio/devices/vfio0\n"
            "device 0000:2a:00.0 Unhealthy -1 /dev/vfio/devices/vfio1,/dev/vfio/vfio\n"
            "resource nvidia.com/empty\n",
            "/hd", &inv, &err),
        0);
    return inv;
}

/* Pack through a gRPC byte buffer and unpack: what the peer would see. */
static ProtobufCMessage *
roundtrip(const ProtobufCMessage *msg)
{
    grpc_byte_buffer *bb = grpc_payload_pack(msg);
    ProtobufCMessage *out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(bb);
    CU_ASSERT_EQUAL(grpc_payload_unpack(bb, msg->descriptor, &out), 0);
    grpc_byte_buffer_destroy(bb);
    return out;
}

static void
test_list(void)
{
    struct inventory *inv = example();
    V1beta1__ListAndWatchResponse *msg = pb_list_response_new(&inv->resources[1]);
    V1beta1__ListAndWatchResponse *got;

    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    got = (V1beta1__ListAndWatchResponse *)roundtrip(&msg->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL_FATAL(got->n_devices, 2);
    CU_ASSERT_STRING_EQUAL(got->devices[0]->id, "0000:18:00.0");
    CU_ASSERT_STRING_EQUAL(got->devices[0]->health, "Healthy");
    CU_ASSERT_PTR_NOT_NULL_FATAL(got->devices[0]->topology);
    CU_ASSERT_EQUAL_FATAL(got->devices[0]->topology->n_nodes, 1);
    CU_ASSERT_EQUAL(got->devices[0]->topology->nodes[0]->id, 3);
    CU_ASSERT_STRING_EQUAL(got->devices[1]->health, "Unhealthy");
    /* NUMA -1: TopologyInfo left out, not node 0 or -1. */
    CU_ASSERT_PTR_NULL(got->devices[1]->topology);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    pb_list_response_free(msg);
    inventory_unref(inv);
}

static void
test_list_empty(void)
{
    struct inventory *inv = example();
    V1beta1__ListAndWatchResponse *msg = pb_list_response_new(&inv->resources[0]);
    V1beta1__ListAndWatchResponse *got;

    CU_ASSERT_STRING_EQUAL(inv->resources[0].name, "nvidia.com/empty");
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    got = (V1beta1__ListAndWatchResponse *)roundtrip(&msg->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->n_devices, 0);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    pb_list_response_free(msg);
    inventory_unref(inv);
}

static void
test_allocation(void)
{
    struct inventory *inv = example();
    struct topo_error err = TOPO_ERROR_INIT;
    struct inv_allocation a = {0};
    const char *ids[] = {"0000:18:00.0"};
    V1beta1__ContainerAllocateResponse *msg, *got;

    CU_ASSERT_EQUAL_FATAL(inventory_allocate(inv, 1, ids, 1, &a, &err), 0);
    msg = pb_container_allocation_new("nvidia.com/pgpu", &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    got = (V1beta1__ContainerAllocateResponse *)roundtrip(&msg->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL_FATAL(got->n_devices, 1);
    CU_ASSERT_STRING_EQUAL(got->devices[0]->container_path, "/dev/vfio/devices/vfio0");
    CU_ASSERT_STRING_EQUAL(got->devices[0]->host_path, "/hd/vfio/devices/vfio0");
    CU_ASSERT_STRING_EQUAL(got->devices[0]->permissions, "mrw");
    CU_ASSERT_EQUAL_FATAL(got->n_cdi_devices, 1);
    CU_ASSERT_STRING_EQUAL(got->cdi_devices[0]->name, "nvidia.com/pgpu=0000:18:00.0");
    CU_ASSERT_EQUAL_FATAL(got->n_envs, 1);
    CU_ASSERT_STRING_EQUAL(got->envs[0]->key, "PCI_RESOURCE_NVIDIA_COM_PGPU");
    CU_ASSERT_STRING_EQUAL(got->envs[0]->value, "0000:18:00.0");
    CU_ASSERT_EQUAL(got->n_mounts, 0);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    pb_container_allocation_free(msg);
    inventory_allocation_clear(&a);
    inventory_unref(inv);
}

static void
test_allocation_empty(void)
{
    struct inv_allocation a = {0};
    V1beta1__ContainerAllocateResponse *msg = pb_container_allocation_new("x.io/g-p", &a), *got;

    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    got = (V1beta1__ContainerAllocateResponse *)roundtrip(&msg->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->n_devices + got->n_cdi_devices + got->n_envs, 0);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    pb_container_allocation_free(msg);
}

/* CDI names and PCI_RESOURCE_* follow the granted IDs in the answer's order;
 * '/', '.' and '-' of the resource name become '_' in the variable name. */
static void
test_allocation_names(void)
{
    char *ids[] = {"b", "a"};
    struct inv_allocation a = {.n_ids = 2, .ids = ids};
    V1beta1__ContainerAllocateResponse *msg = pb_container_allocation_new("x.io/g-p", &a), *got;

    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    got = (V1beta1__ContainerAllocateResponse *)roundtrip(&msg->base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL_FATAL(got->n_cdi_devices, 2);
    CU_ASSERT_STRING_EQUAL(got->cdi_devices[0]->name, "x.io/g-p=b");
    CU_ASSERT_STRING_EQUAL(got->cdi_devices[1]->name, "x.io/g-p=a");
    CU_ASSERT_EQUAL_FATAL(got->n_envs, 1);
    CU_ASSERT_STRING_EQUAL(got->envs[0]->key, "PCI_RESOURCE_X_IO_G_P");
    CU_ASSERT_STRING_EQUAL(got->envs[0]->value, "b,a");
    protobuf_c_message_free_unpacked(&got->base, NULL);
    pb_container_allocation_free(msg);
}

static void
test_unpack_empty_payload(void)
{
    ProtobufCMessage *m = NULL;

    /* grpc-go sends 0 bytes for Empty; the core may hand us NULL. */
    CU_ASSERT_EQUAL(grpc_payload_unpack(NULL, &v1beta1__empty__descriptor, &m), 0);
    CU_ASSERT_PTR_NOT_NULL(m);
    protobuf_c_message_free_unpacked(m, NULL);
}

TEST_SUITE(plugin_pb, NULL, NULL, {"list with and without NUMA", test_list},
           {"empty list", test_list_empty}, {"allocation", test_allocation},
           {"empty allocation", test_allocation_empty},
           {"CDI names and env follow the IDs", test_allocation_names},
           {"NULL payload is Empty", test_unpack_empty_payload})
