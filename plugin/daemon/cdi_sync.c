#include "cdi/cdi.h"
#include "plugin/daemon/cdi_sync.h"
#include "plugin/log/log.h"

int
plugin_cdi_sync(const char *dir, const struct inventory *inv, bool takeover)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    int status;

    if (cdi_sync(dir, inv, takeover, &rep, &err) < 0) {
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
