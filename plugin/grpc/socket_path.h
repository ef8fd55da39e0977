#pragma once

#include "topology/base/error.h"

/* Longest unix socket path: sizeof(sun_path) - 1. */
#define PLUGIN_SOCKET_PATH_MAX 107

/* Join the kubelet dir and a bare socket file name into *ret (free()),
 * refusing paths longer than PLUGIN_SOCKET_PATH_MAX (-ENAMETOOLONG) and
 * names with a '/' or empty (-EINVAL). 0 or -errno with err. */
int plugin_socket_path(const char *dir, const char *name, char **ret, struct topo_error *err);

/* Can sockets be created in the kubelet dir? 0, or -errno with what is
 * wrong in err: missing (-ENOENT), not a directory (-ENOTDIR), read-only
 * file system (-EROFS), no write permission (-EACCES). */
int plugin_kubelet_dir_check(const char *dir, struct topo_error *err);
