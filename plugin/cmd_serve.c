#include "plugin/cdi_sync.h"
#include "plugin/commands.h"
#include "plugin/inventory_load.h"
#include "plugin/serve.h"

/* The daemon's loader: scan, build the snapshot, and bring the CDI specs in
 * line with it before anyone is told about its devices. A CDI failure is
 * logged and does not stop serving: Allocate's device specs still work
 * for runtimes that do not use CDI, and the next rescan tries again. */
static int
scan_and_sync(const struct plugin_options *o, void *ctx, struct inventory **ret,
              struct topo_error *err)
{
    struct inventory *inv = NULL;
    int r;

    (void)ctx;
    if ((r = plugin_inventory_scan(o, &inv, err)) < 0)
        return r;
    plugin_cdi_sync(o->cdi_dir, inv, o->cdi_takeover);
    *ret = inv;
    return 0;
}

int
cmd_serve(const struct plugin_options *o)
{
    return plugin_serve_run(o, scan_and_sync, NULL);
}
