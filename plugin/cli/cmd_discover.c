#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugin/cli/commands.h"
#include "plugin/discover/discover.h"
#include "topology/base/macros.h"

static const char *const formats[] = {"table", "json", "dot"};

static int
format_index(const char *format)
{
    for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
        if (format && strcmp(format, formats[i]) == 0)
            return (int)i;
    return -EINVAL;
}

int
discover_run(const struct plugin_options *o, FILE *out, FILE *errf)
{
    struct topo_scan_options scan = {o->sysfs_root, o->dev_root, o->iommu};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    int fmt = format_index(o->format);
    int r;

    /* Reject the format before scanning: a typo should not cost a scan. */
    if (fmt < 0) {
        fprintf(errf,
                "kata-gpu-device-plugin: discover: --format: '%s' is not one of table, json, dot\n",
                o->format ? o->format : "");
        return 2;
    }
    r = topo_scan(&scan, &host, &err);
    if (r < 0) {
        fprintf(errf, "kata-gpu-device-plugin: discover: %s\n",
                err.msg[0] ? err.msg : strerror(-r));
        return 1;
    }
    switch (fmt) {
    case 0: r = discover_table(host, o->sysfs_root, out); break;
    case 1: r = discover_json(host, out); break;
    default: r = discover_dot(host, out); break;
    }
    topo_host_free(host);
    if (r == 0 && fflush(out) != 0)
        r = -errno;
    if (r < 0) {
        fprintf(errf, "kata-gpu-device-plugin: discover: writing %s output: %s\n", formats[fmt],
                strerror(-r));
        return 1;
    }
    return 0;
}

int
cmd_discover(const struct plugin_options *o)
{
    return discover_run(o, stdout, stderr);
}
