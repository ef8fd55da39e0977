#pragma once

#include <grpc/status.h>

/* gRPC status for an inventory error (contract in topology/units/inventory.h):
 * -EINVAL -> INVALID_ARGUMENT, -EPERM/-ENODEV -> FAILED_PRECONDITION,
 * 0 -> OK, anything else -> INTERNAL. */
grpc_status_code plugin_status_from_errno(int err);

/* Upper-case name of a status ("INVALID_ARGUMENT") for logs. */
const char *plugin_status_name(grpc_status_code code);
