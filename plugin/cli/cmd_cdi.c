#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "plugin/daemon/cdi_sync.h"
#include "plugin/cli/commands.h"
#include "plugin/daemon/inventory_load.h"
#include "topology/units/inventory.h"

#define PROG "kata-gpu-device-plugin cdi"

/* Every spec on stdout. 0 or -errno (reported on stderr). */
static int
print_specs(const struct inventory *inv)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    int r = cdi_render_all(inv, &text, &len, &err);

    if (r < 0) {
        fprintf(stderr, "%s: %s\n", PROG, err.msg);
        return r;
    }
    errno = 0;
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
        r = errno ? -errno : -EIO;
    free(text);
    if (r < 0)
        fprintf(stderr, "%s: write to stdout failed: %s\n", PROG, strerror(-r));
    return r;
}

int
cmd_cdi(const struct plugin_options *o)
{
    const char *out = o->output ? o->output : o->cdi_dir;
    struct inventory *inv = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    int status;

    if (!out || !*out) {
        fprintf(stderr, "%s: no output: give --output DIR|- or --cdi-dir\n", PROG);
        return 1;
    }
    if (plugin_inventory_scan(o, NULL, NULL, NULL, 0, &inv, &err) < 0) {
        fprintf(stderr, "%s: %s\n", PROG, err.msg);
        return 1;
    }
    if (strcmp(out, "-") == 0)
        status = print_specs(inv) == 0 ? 0 : 1;
    else
        status = plugin_cdi_sync(out, inv, o->cdi_takeover) == 0 ? 0 : 1;
    inventory_unref(inv);
    return status;
}
