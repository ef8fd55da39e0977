#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/log/log.h"
#include "plugin/daemon/nfd.h"
#include "topology/base/atomic_file.h"
#include "topology/base/cleanup.h"

/* The file is rewritten only when its labels change or half its lifetime
 * has passed: scans come at least every `interval` seconds, and a
 * lifetime of max(3 intervals, 1 hour) leaves room for two missed scans
 * before NFD drops the labels of a daemon that is gone. */

#define TTL_MIN 3600

unsigned
plugin_nfd_scan_interval(const char *dir, unsigned rescan_interval)
{
    if (!dir || (rescan_interval && rescan_interval <= NFD_REFRESH_MAX))
        return rescan_interval;
    return NFD_REFRESH_MAX;
}

int
plugin_nfd_init(struct plugin_nfd *n, const char *dir, unsigned interval)
{
    *n = (struct plugin_nfd){.ttl = interval * 3 > TTL_MIN ? interval * 3 : TTL_MIN};
    if (dir && !(n->dir = strdup(dir)))
        return -ENOMEM;
    return 0;
}

/* "# +expiry-time=2026-11-30T01:00:00Z" (RFC 3339, UTC) and the labels. */
static int
file_text(const char *labels, time_t expiry, char **ret)
{
    struct tm tm;
    char when[32];

    if (!gmtime_r(&expiry, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -EOVERFLOW;
    if (asprintf(ret,
                 "# Node labels of kata-gpu-device-plugin; rewritten while it runs.\n"
                 "# +expiry-time=%s\n%s",
                 when, labels) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int
write_file(const struct plugin_nfd *n, const char *text, struct topo_error *err)
{
    _cleanup_close_ int dfd = open(n->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool changed;

    if (dfd < 0)
        return topo_error_set(err, -errno, "open %s: %s", n->dir, strerror(errno));
    return topo_atomic_write_at(dfd, NFD_FILE_NAME, text, strlen(text), &changed, err);
}

int
plugin_nfd_sync(struct plugin_nfd *n, const struct inventory *inv, time_t now)
{
    struct topo_error err = TOPO_ERROR_INIT;
    _cleanup_free_ char *labels = NULL, *text = NULL;
    int r;

    if (!n->dir)
        return 0;
    if ((r = nfd_labels_render(inv, &labels)) < 0 ||
        (r = file_text(labels, now + (time_t)n->ttl, &text)) < 0) {
        log_error("nfd_failed", "dir=%s error=\"%s\"", n->dir, strerror(-r));
        return r;
    }
    if (n->labels && strcmp(n->labels, labels) == 0 && now < n->expiry - (time_t)n->ttl / 2)
        return 0;
    if ((r = write_file(n, text, &err)) < 0) {
        log_error("nfd_failed", "dir=%s error=%s", n->dir, LOG_QUOTED(err.msg));
        return r;
    }
    log_info("nfd_written", "path=%s/%s ttl=%u", n->dir, NFD_FILE_NAME, n->ttl);
    free(n->labels);
    n->labels = TAKE_PTR(labels);
    n->expiry = now + (time_t)n->ttl;
    return 0;
}

void
plugin_nfd_close(struct plugin_nfd *n)
{
    _cleanup_close_ int dfd = -1;

    if (n->dir && n->labels) {
        dfd = open(n->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || unlinkat(dfd, NFD_FILE_NAME, 0) < 0)
            log_warn("nfd_remove_failed", "path=%s/%s error=\"%s\"", n->dir, NFD_FILE_NAME,
                     strerror(errno));
        else
            log_info("nfd_removed", "path=%s/%s", n->dir, NFD_FILE_NAME);
    }
    free(n->dir);
    free(n->labels);
    *n = (struct plugin_nfd){0};
}
