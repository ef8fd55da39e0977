#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "plugin/daemon/cdi_sync.h"
#include "plugin/log/log.h"
#include "topology/base/cleanup.h"
#include "topology/base/strfmt.h"

/* The devices of resource kind (all resources when kind is NULL) become
 * Unhealthy with "CDI spec <why>". 0 or -ENOMEM. */
static int
mark_kind(struct inventory *inv, const char *kind, const char *why)
{
    char *reason = NULL;
    int r = 0;

    if (topo_strfmt(&reason, "CDI spec %s", why) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < inv->n_resources && r == 0; i++)
        if (!kind || strcmp(inv->resources[i].name, kind) == 0)
            r = inventory_mark_unhealthy(inv, i, reason);
    free(reason);
    return r;
}

static void
log_report(const char *dir, const struct cdi_report *rep, bool takeover)
{
    for (size_t i = 0; i < rep->n_written; i++)
        log_info("cdi_written", "path=%s/%s", dir, rep->written[i]);
    for (size_t i = 0; i < rep->n_removed; i++)
        log_info("cdi_removed", "path=%s/%s", dir, rep->removed[i]);
    for (size_t i = 0; i < rep->n_conflicts; i++)
        log_warn(takeover ? "cdi_taken_over" : "cdi_conflict", "path=%s kind=%s",
                 rep->conflicts[i].path, rep->conflicts[i].kind);
    for (size_t i = 0; i < rep->n_skipped; i++)
        log_error("cdi_skipped",
                  "kind=%s devices=unhealthy hint=\"remove the conflicting spec or use "
                  "--cdi-takeover\"",
                  rep->skipped[i]);
    for (size_t i = 0; i < rep->n_failed; i++)
        log_error("cdi_failed", "dir=%s kind=%s devices=unhealthy retry=backoff error=%s", dir,
                  rep->failed[i].kind, LOG_QUOTED(rep->failed[i].error));
    log_debug("cdi_synced", "dir=%s written=%zu unchanged=%zu removed=%zu failed=%zu", dir,
              rep->n_written, rep->n_unchanged, rep->n_removed, rep->n_failed);
}

/* Mark what is not in place; 0 when everything is, else -errno. */
static int
mark_report(struct inventory *inv, const char *dir, const struct cdi_report *rep)
{
    int status = 0;

    for (size_t i = 0; i < rep->n_skipped; i++) {
        if (mark_kind(inv, rep->skipped[i],
                      "not written: a foreign spec in the CDI dir defines this kind (remove it "
                      "or use --cdi-takeover)") < 0)
            return -ENOMEM;
        status = -EEXIST;
    }
    for (size_t i = 0; i < rep->n_failed; i++) {
        _cleanup_free_ char *why = NULL;

        if (topo_strfmt(&why, "not written to %s: %s", dir, rep->failed[i].error) < 0 ||
            mark_kind(inv, rep->failed[i].kind, why) < 0)
            return -ENOMEM;
        if (status == 0)
            status = -EIO;
    }
    return status;
}

int
plugin_cdi_sync(const char *dir, struct inventory *inv, bool takeover)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    int status;

    if (cdi_sync(dir, inv, takeover, &rep, &err) < 0) {
        _cleanup_free_ char *why = NULL;

        log_error("cdi_failed", "dir=%s devices=unhealthy retry=backoff error=%s", dir,
                  LOG_QUOTED(err.msg));
        if (topo_strfmt(&why, "not written: %s", err.msg) < 0 || mark_kind(inv, NULL, why) < 0)
            return -ENOMEM;
        return err.code < 0 ? err.code : -EIO;
    }
    log_report(dir, &rep, takeover);
    status = mark_report(inv, dir, &rep);
    cdi_report_clear(&rep);
    return status;
}
