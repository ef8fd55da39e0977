#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "plugin/cli/commands.h"
#include "plugin/grpc/probe.h"
#include "plugin/grpc/socket_name.h"
#include "plugin/grpc/socket_path.h"
#include "topology/base/cleanup.h"

/* `health`: the liveness probe of the DaemonSet. Every socket the daemon
 * serves in the kubelet dir (one per resource, named as
 * plugin_socket_name_is_ours knows) must answer
 * GetDevicePluginOptions within HEALTH_TIMEOUT_MS. It reads no sysfs and
 * no settings beyond the two dirs, so it judges the running daemon, not
 * what this invocation's settings would serve. The resource of a socket
 * is named from the daemon's CDI specs (kind == resource name), "?" when
 * none maps to it. */

#define HEALTH_TIMEOUT_MS 2000

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The daemon's socket names in dir, sorted: 0 with ret and ret_n set, or -errno. */
static int
list_sockets(const char *dir, char ***ret, size_t *ret_n)
{
    _cleanup_dir_ DIR *d = opendir(dir);
    char **names = NULL, **grown;
    size_t n = 0;
    struct dirent *e;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        if (!plugin_socket_name_is_ours(e->d_name))
            continue;
        grown = realloc(names, (n + 1) * sizeof(*names));
        if (!grown || !(grown[n] = strdup(e->d_name))) {
            free_names(grown ? grown : names, n);
            return -ENOMEM;
        }
        names = grown;
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    *ret = names;
    *ret_n = n;
    return 0;
}

/* The kind whose socket name (plain or hashed) is name, or NULL. Borrowed. */
static const char *
resource_of(const char *name, char **kinds, size_t n_kinds)
{
    for (size_t i = 0; i < n_kinds; i++)
        for (int hashed = 0; hashed < 2; hashed++) {
            _cleanup_free_ char *sock = NULL;

            if (plugin_socket_name(kinds[i], hashed, &sock) == 0 && strcmp(sock, name) == 0)
                return kinds[i];
        }
    return NULL;
}

/* Probe one socket and print its line; true when it answered. */
static bool
probe_one(const char *dir, const char *name, const char *resource)
{
    struct topo_error err = TOPO_ERROR_INIT;
    _cleanup_free_ char *path = NULL;
    int r = plugin_socket_path(dir, name, &path, &err);

    if (r == 0)
        r = plugin_probe_socket(path, HEALTH_TIMEOUT_MS, &err);
    if (r == 0)
        printf("ok      %s %s\n", resource ? resource : "?", name);
    else
        printf("FAILED  %s %s: %s\n", resource ? resource : "?", name,
               err.msg[0] ? err.msg : strerror(-r));
    return r == 0;
}

int
cmd_health(const struct plugin_options *o)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char **names = NULL, **kinds = NULL;
    size_t n = 0, n_kinds = 0, good = 0;
    int r = list_sockets(o->kubelet_dir, &names, &n);

    if (r < 0) {
        fprintf(stderr, "kata-gpu-device-plugin: health: %s: %s\n", o->kubelet_dir, strerror(-r));
        return 1;
    }
    if (n == 0) {
        printf("FAILED  no %s*%s socket in %s: the daemon serves nothing here\n",
               PLUGIN_SOCKET_PREFIX, PLUGIN_SOCKET_SUFFIX, o->kubelet_dir);
        return 1;
    }
    /* Without specs the sockets are still probed, only not named. */
    if (cdi_our_kinds(o->cdi_dir, &kinds, &n_kinds, &err) < 0)
        fprintf(stderr, "kata-gpu-device-plugin: health: resource names unknown: %s\n", err.msg);
    for (size_t i = 0; i < n; i++)
        good += probe_one(o->kubelet_dir, names[i], resource_of(names[i], kinds, n_kinds));
    free_names(names, n);
    inventory_free_strv(kinds, n_kinds);
    if (fflush(stdout) != 0)
        return 1;
    return good == n ? 0 : 1;
}
