#include "plugin/daemon/cdi_sync.h"
#include "plugin/cli/commands.h"
#include "plugin/daemon/inventory_load.h"
#include "plugin/daemon/serve.h"

/* The loader's memory: the last snapshot it produced, whose devices stay
 * listed (unhealthy) once they leave the bus. The loader runs at start and
 * then only on the rescan thread, never concurrently: no lock. */
struct serve_loader {
    struct inventory *last; /* own reference; NULL before the first load */
};

/* The daemon's loader: scan, build the snapshot, and bring the CDI specs in
 * line with it before anyone is told about its devices. A CDI failure is
 * logged and does not stop serving: Allocate's device specs still work
 * for runtimes that do not use CDI, and the next rescan tries again. */
static int
scan_and_sync(const struct plugin_options *o, void *ctx, struct inventory **ret,
              struct topo_error *err)
{
    struct serve_loader *l = ctx;
    struct inventory *inv = NULL;
    int r;

    if ((r = plugin_inventory_scan(o, l->last, &inv, err)) < 0)
        return r;
    plugin_cdi_sync(o->cdi_dir, inv, o->cdi_takeover);
    inventory_unref(l->last);
    l->last = inventory_ref(inv);
    *ret = inv;
    return 0;
}

int
cmd_serve(const struct plugin_options *o)
{
    struct serve_loader l = {0};
    int status = plugin_serve_run(o, scan_and_sync, &l);

    inventory_unref(l.last);
    return status;
}
