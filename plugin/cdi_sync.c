#include <errno.h>
#include <stdlib.h>

#include "cdi/cdi.h"
#include "plugin/cdi_sync.h"
#include "plugin/log.h"

/* A device that lost its vfio binding has no device node, and a CDI device
 * without container edits is invalid: one of them would keep every spec
 * from being written (a hot-added GPU included). It cannot be allocated
 * anyway, so the specs are rendered from a view that leaves such devices
 * out. The view borrows everything from inv; free its arrays with
 * view_free. 0 or -ENOMEM. */
static int
view_with_nodes(const struct inventory *inv, struct inventory *view)
{
    *view = *inv;
    view->resources = calloc(inv->n_resources + 1, sizeof(*view->resources));
    if (!view->resources)
        return -ENOMEM;
    for (size_t i = 0; i < inv->n_resources; i++) {
        const struct inv_resource *res = &inv->resources[i];
        struct inv_resource *out = &view->resources[i];

        *out = *res;
        out->n_devices = 0;
        out->devices = calloc(res->n_devices + 1, sizeof(*out->devices));
        if (!out->devices)
            return -ENOMEM;
        for (size_t d = 0; d < res->n_devices; d++)
            if (res->devices[d].n_nodes > 0)
                out->devices[out->n_devices++] = res->devices[d];
    }
    return 0;
}

static void
view_free(struct inventory *view)
{
    for (size_t i = 0; view->resources && i < view->n_resources; i++)
        free(view->resources[i].devices);
    free(view->resources);
}

int
plugin_cdi_sync(const char *dir, const struct inventory *inv, bool takeover)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    struct inventory view;
    int status, r;

    if (view_with_nodes(inv, &view) < 0) {
        view_free(&view);
        log_error("cdi_failed", "dir=%s error=\"out of memory\"", dir);
        return -ENOMEM;
    }
    r = cdi_sync(dir, &view, takeover, &rep, &err);
    view_free(&view);
    if (r < 0) {
        log_error("cdi_failed", "dir=%s error=%s", dir, log_quote(err.msg, (char[600]){0}, 600));
        return err.code;
    }
    for (size_t i = 0; i < rep.n_written; i++)
        log_info("cdi_written", "path=%s/%s", dir, rep.written[i]);
    for (size_t i = 0; i < rep.n_removed; i++)
        log_info("cdi_removed", "path=%s/%s", dir, rep.removed[i]);
    for (size_t i = 0; i < rep.n_conflicts; i++)
        log_warn(takeover ? "cdi_taken_over" : "cdi_conflict", "path=%s kind=%s",
                 rep.conflicts[i].path, rep.conflicts[i].kind);
    for (size_t i = 0; i < rep.n_skipped; i++)
        log_error("cdi_skipped", "kind=%s hint=\"remove the conflicting spec or use --cdi-takeover\"",
                  rep.skipped[i]);
    log_debug("cdi_synced", "dir=%s written=%zu unchanged=%zu removed=%zu", dir, rep.n_written,
              rep.n_unchanged, rep.n_removed);
    status = rep.n_skipped ? 1 : 0;
    cdi_report_clear(&rep);
    return status;
}
