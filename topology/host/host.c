#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/host/host-priv.h"

int
topo_host_warn(struct topo_host *host, const char *fmt, ...)
{
    char **v;
    char *line;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    v = realloc(host->warnings, (host->n_warnings + 1) * sizeof(*v));
    if (!v) {
        free(line);
        return -ENOMEM;
    }
    v[host->n_warnings++] = line;
    host->warnings = v;
    return 0;
}

void
topo_host_free(struct topo_host *host)
{
    if (!host)
        return;
    for (size_t i = 0; i < host->n_functions; i++) {
        free(host->functions[i].model);
        free(host->functions[i].driver);
        free(host->functions[i].host_bridge);
    }
    free(host->functions);
    for (size_t i = 0; i < host->n_groups; i++) {
        free(host->groups[i].members);
        free(host->groups[i].not_viable);
    }
    free(host->groups);
    for (size_t i = 0; i < host->n_warnings; i++)
        free(host->warnings[i]);
    free(host->warnings);
    free(host->numa_distance);
    free(host);
}

int
topo_host_find(const struct topo_host *host, const char *bdf)
{
    size_t lo = 0, hi;

    if (!host || !bdf)
        return -ENOENT;
    hi = host->n_functions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(bdf, host->functions[mid].bdf);

        if (c == 0)
            return (int)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -ENOENT;
}

const struct topo_group *
topo_host_group(const struct topo_host *host, int id)
{
    size_t lo = 0, hi;

    if (!host)
        return NULL;
    hi = host->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (host->groups[mid].id == id)
            return &host->groups[mid];
        if (id < host->groups[mid].id)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
