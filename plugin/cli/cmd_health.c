#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/cli/commands.h"
#include "plugin/grpc/probe.h"
#include "plugin/grpc/socket_path.h"
#include "topology/base/cleanup.h"

/* `health`: the liveness probe of the DaemonSet. Every socket the daemon
 * serves in the kubelet dir (kgdp-*.sock, one per resource) must answer
 * GetDevicePluginOptions within HEALTH_TIMEOUT_MS. It reads no sysfs and
 * no config beyond the kubelet dir, so it judges the running daemon, not
 * what this invocation's settings would serve. */

#define HEALTH_TIMEOUT_MS 2000
#define SOCKET_PREFIX "kgdp-"
#define SOCKET_SUFFIX ".sock"

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
ours(const char *name)
{
    size_t n = strlen(name), p = strlen(SOCKET_PREFIX), s = strlen(SOCKET_SUFFIX);

    return n > p + s && strncmp(name, SOCKET_PREFIX, p) == 0 &&
           strcmp(name + n - s, SOCKET_SUFFIX) == 0;
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
        if (!ours(e->d_name))
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

/* Probe one socket and print its line; true when it answered. */
static bool
probe_one(const char *dir, const char *name)
{
    struct topo_error err = TOPO_ERROR_INIT;
    _cleanup_free_ char *path = NULL;
    int r = plugin_socket_path(dir, name, &path, &err);

    if (r == 0)
        r = plugin_probe_socket(path, HEALTH_TIMEOUT_MS, &err);
    if (r == 0)
        printf("ok      %s\n", name);
    else
        printf("FAILED  %s: %s\n", name, err.msg[0] ? err.msg : strerror(-r));
    return r == 0;
}

int
cmd_health(const struct plugin_options *o)
{
    char **names = NULL;
    size_t n = 0, good = 0;
    int r = list_sockets(o->kubelet_dir, &names, &n);

    if (r < 0) {
        fprintf(stderr, "kata-gpu-device-plugin: health: %s: %s\n", o->kubelet_dir, strerror(-r));
        return 1;
    }
    if (n == 0) {
        printf("FAILED  no %s*%s socket in %s: the daemon serves nothing here\n", SOCKET_PREFIX,
               SOCKET_SUFFIX, o->kubelet_dir);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        good += probe_one(o->kubelet_dir, names[i]);
    free_names(names, n);
    if (fflush(stdout) != 0)
        return 1;
    return good == n ? 0 : 1;
}
