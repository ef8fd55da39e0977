#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/socket_name.h"
#include "topology/base/cleanup.h"

#define SOCK_PLAIN_MAX 24 /* longer names get a hashed socket name */
#define SOCK_HASHED_PREFIX 15

static uint32_t
fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int
plugin_socket_name(const char *resource, bool hashed, char **ret)
{
    const char *slash = strchr(resource, '/');
    _cleanup_free_ char *low = strdup(slash ? slash + 1 : resource);
    size_t n;
    int r;

    if (!low)
        return -ENOMEM;
    n = strlen(low);
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    if (!hashed && n <= SOCK_PLAIN_MAX) {
        r = asprintf(ret, PLUGIN_SOCKET_PREFIX "%s" PLUGIN_SOCKET_SUFFIX, low);
    } else {
        low[n < SOCK_HASHED_PREFIX ? n : SOCK_HASHED_PREFIX] = '\0';
        r = asprintf(ret, PLUGIN_SOCKET_PREFIX "%s-%08x" PLUGIN_SOCKET_SUFFIX, low,
                     fnv1a(resource));
    }
    if (r < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

bool
plugin_socket_name_is_ours(const char *name)
{
    size_t n = strlen(name), p = strlen(PLUGIN_SOCKET_PREFIX), s = strlen(PLUGIN_SOCKET_SUFFIX);

    return n > p + s && strncmp(name, PLUGIN_SOCKET_PREFIX, p) == 0 &&
           strcmp(name + n - s, PLUGIN_SOCKET_SUFFIX) == 0;
}

void
plugin_socket_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Names differing only in case meet in lower case: hash both. */
static int
hash_collisions(const struct inventory *inv, char **names)
{
    for (size_t i = 0; i < inv->n_resources; i++)
        for (size_t j = i + 1; j < inv->n_resources; j++) {
            if (strcmp(names[i], names[j]) != 0)
                continue;
            free(names[i]);
            free(names[j]);
            names[i] = names[j] = NULL;
            if (plugin_socket_name(inv->resources[i].name, true, &names[i]) < 0 ||
                plugin_socket_name(inv->resources[j].name, true, &names[j]) < 0)
                return -ENOMEM;
        }
    return 0;
}

int
plugin_socket_names(const struct inventory *inv, char ***ret, struct topo_error *err)
{
    size_t n = inv->n_resources;
    char **names = calloc(n ? n : 1, sizeof(*names));

    if (!names)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (plugin_socket_name(inv->resources[i].name, false, &names[i]) < 0)
            goto oom;
    if (hash_collisions(inv, names) < 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) == 0) {
                topo_error_set(err, -EEXIST, "resources %s and %s map to socket %s",
                               inv->resources[i].name, inv->resources[j].name, names[i]);
                plugin_socket_names_free(names, n);
                return -EEXIST;
            }
    *ret = names;
    return 0;
oom:
    plugin_socket_names_free(names, n);
    return topo_error_set(err, -ENOMEM, "out of memory");
}
