#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* Socket file names of the resources in the kubelet dir. A resource
 * "nvidia.com/H100_PCIE" serves on "kgdp-h100_pcie.sock"; a name longer
 * than 24 characters, or one that meets another in lower case, gets a
 * hashed name ("kgdp-<first 15>-<fnv1a>.sock") so paths stay short. */

#define PLUGIN_SOCKET_PREFIX "kgdp-"
#define PLUGIN_SOCKET_SUFFIX ".sock"

/* Has name the shape of one of our socket names (the prefix, something,
 * the suffix)? Other files in the kubelet dir belong to others. */
bool plugin_socket_name_is_ours(const char *name);

/* One name for resource (after the '/'); hashed forces the hashed form.
 * 0 and *ret (caller frees), or -ENOMEM. */
int plugin_socket_name(const char *resource, bool hashed, char **ret);

/* Distinct names for every resource of inv, in resource order. 0 and
 * *ret (inv->n_resources strings; free with plugin_socket_names_free), or
 * -errno with err (-EEXIST when two resources cannot be told apart). */
int plugin_socket_names(const struct inventory *inv, char ***ret, struct topo_error *err);
void plugin_socket_names_free(char **names, size_t n);
