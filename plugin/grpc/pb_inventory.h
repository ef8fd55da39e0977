#pragma once

#include "proto/api.pb-c.h"
#include "topology/units/inventory.h"

/* Translation between inventory snapshots and v1beta1 messages. The
 * messages built here borrow every string from their source (the snapshot
 * or the allocation), which must outlive them; free them with the matching
 * *_free, which releases only what was allocated here. */

/* The ListAndWatch message for one resource: every device with its health;
 * TopologyInfo holds the NUMA node, or is left out when numa_node == -1.
 * NULL when out of memory. */
V1beta1__ListAndWatchResponse *pb_list_response_new(const struct inv_resource *res);
void pb_list_response_free(V1beta1__ListAndWatchResponse *msg);

/* One container's Allocate answer for resource: a DeviceSpec (permissions
 * "mrw") per node, the CDI name of every device and PCI_RESOURCE_<NAME> =
 * the device IDs. NULL when out of memory. */
V1beta1__ContainerAllocateResponse *pb_container_allocation_new(const char *resource,
                                                                const struct inv_allocation *a);
void pb_container_allocation_free(V1beta1__ContainerAllocateResponse *msg);
