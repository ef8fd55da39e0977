#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin/events/rescan.h"
#include "plugin/events/sink.h"
#include "plugin/log/log.h"

/* Functions an incremental rescan takes; more make it a full one. */
#define RESCAN_FUNCTIONS_MAX 64

struct plugin_rescan {
    struct plugin_sink sink;
    const struct plugin_options *opts;
    struct plugin_source src;
    struct inventory *last; /* the current snapshot, published last (own reference) */
    unsigned interval;
    int64_t recheck_at;     /* of the latest scan: health changes then by itself */
    uint32_t retry_ms;      /* the last retry delay while sync fails; 0 when it succeeds */
    struct timespec retry_at;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned requested; /* PLUGIN_RESCAN_* asked for since the last scan; RESCAN_TIMER */
    bool full;          /* a full scan was asked for (or the list overflowed) */
    size_t n_changed;   /* functions named by uevents since the last scan */
    char changed[RESCAN_FUNCTIONS_MAX][16];
    bool stop;
    pthread_t thread;
};

#define RESCAN_TIMER (1u << 3) /* the interval, a health re-check or a sync retry */

/* "sighup+uevent" for a mask of reasons. */
static const char *
reason_text(unsigned why, char *buf, size_t size)
{
    static const char *const names[] = {"sighup", "uevent", "cdi_dir", "timer"};
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (why & (1u << i) && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "+" : "", names[i]);
    return buf[0] ? buf : "request";
}

static void
log_change(void *ctx, enum inv_change what, const char *resource, const struct inv_device *old,
           const struct inv_device *new)
{
    char qreason[600];
    const struct inv_device *d = new ? new : old;

    (void)ctx;
    switch (what) {
    case INV_CHANGE_REMOVED:
        log_info("device_removed", "resource=%s device=%s", resource, d->id);
        return;
    case INV_CHANGE_ADDED:
    case INV_CHANGE_HEALTH:
        break;
    }
    log_info(what == INV_CHANGE_ADDED ? "device_added" : "device_health",
             "resource=%s device=%s health=%s reason=%s", resource, d->id,
             d->healthy ? "Healthy" : "Unhealthy",
             log_quote(d->reason ? d->reason : "-", qreason, sizeof(qreason)));
}

/* Load (previous: the current snapshot), sync, log and publish what
 * changed. The sync result (0 or -errno). */
static int
rescan_once(struct plugin_rescan *r, const char *why, const char *const *changed,
            size_t n_changed)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;
    int rc = r->src.load(r->opts, r->src.ctx, r->last, changed, n_changed, &inv, &err);
    size_t changes;
    int synced;

    if (rc < 0) {
        log_error("rescan_failed", "reason=%s error=%s", why,
                  LOG_QUOTED(err.msg));
        return 0; /* nothing to retry sooner than the interval */
    }
    synced = r->src.sync ? r->src.sync(r->opts, r->src.ctx, inv) : 0;
    r->recheck_at = inv->recheck_at;
    changes = inventory_diff(r->last, inv, log_change, NULL);
    /* equal also compares what the lists do not show (NUMA, device nodes) */
    if (changes == 0 && inventory_equal(inv, r->last)) {
        log_info("rescan", "reason=%s changed=false", why);
        inventory_unref(inv);
        return synced;
    }
    log_info("rescan", "reason=%s changed=true devices=%zu resources=%zu", why, changes,
             inv->n_resources);
    inventory_unref(r->last);
    r->last = inventory_ref(inv);
    plugin_sink_post(&r->sink, 0, inv);
    return synced;
}

/* After a sync that gave synced: the next retry (doubling delays) or none. */
static void
schedule_retry(struct plugin_rescan *r, int synced)
{
    if (synced >= 0) {
        r->retry_ms = 0;
        return;
    }
    r->retry_ms = !r->retry_ms                             ? RESCAN_RETRY_FIRST_MS
                  : r->retry_ms >= RESCAN_RETRY_MAX_MS / 2 ? RESCAN_RETRY_MAX_MS
                                                           : r->retry_ms * 2;
    clock_gettime(CLOCK_MONOTONIC, &r->retry_at);
    r->retry_at.tv_sec += (time_t)(r->retry_ms / 1000);
    r->retry_at.tv_nsec += (long)(r->retry_ms % 1000) * 1000000L;
    if (r->retry_at.tv_nsec >= 1000000000L) {
        r->retry_at.tv_sec++;
        r->retry_at.tv_nsec -= 1000000000L;
    }
    log_debug("rescan_retry", "in_ms=%u", (unsigned)r->retry_ms);
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec != b->tv_sec ? a->tv_sec < b->tv_sec : a->tv_nsec < b->tv_nsec;
}

/* When to scan without a request: after the interval, or earlier when
 * health changes by itself then (an AER quiet period ends) or a failed
 * sync is due for a retry. false: only on request. */
static bool
next_wake(const struct plugin_rescan *r, struct timespec *at)
{
    /* One that is due already was the scan just done (or it failed): no
     * second scan at once. */
    bool recheck;

    clock_gettime(CLOCK_MONOTONIC, at);
    recheck = r->recheck_at > at->tv_sec;
    at->tv_sec += r->interval;
    if (recheck && (!r->interval || r->recheck_at < at->tv_sec)) {
        at->tv_sec = r->recheck_at;
        at->tv_nsec = 0;
    }
    /* while sync fails, its retry may come first */
    if (r->retry_ms && (!(r->interval || recheck) || ts_before(&r->retry_at, at))) {
        *at = r->retry_at;
        return true;
    }
    return r->interval || recheck;
}

/* Wait for a request or the timer (a timer expiry asks for a full scan). */
static void
wait_request(struct plugin_rescan *r, bool timer, const struct timespec *at)
{
    if (r->requested)
        return;
    if (!timer) {
        pthread_cond_wait(&r->cond, &r->lock);
    } else if (pthread_cond_timedwait(&r->cond, &r->lock, at) == ETIMEDOUT) {
        r->requested |= RESCAN_TIMER;
        r->full = true;
    }
}

static void *
rescan_main(void *arg)
{
    struct plugin_rescan *r = arg;
    struct timespec at;
    bool timer;

    pthread_mutex_lock(&r->lock);
    timer = next_wake(r, &at);
    while (!r->stop) {
        char changed[RESCAN_FUNCTIONS_MAX][16], why[64];
        const char *names[RESCAN_FUNCTIONS_MAX];
        size_t n;
        int synced;

        wait_request(r, timer, &at);
        if (r->stop)
            break;
        if (!r->requested)
            continue;
        reason_text(r->requested, why, sizeof(why));
        if ((r->requested & RESCAN_TIMER) && r->retry_ms)
            snprintf(why, sizeof(why), "retry");
        n = r->full ? 0 : r->n_changed;
        for (size_t i = 0; i < n; i++) {
            memcpy(changed[i], r->changed[i], sizeof(changed[i]));
            names[i] = changed[i];
        }
        r->requested = 0;
        r->full = false;
        r->n_changed = 0;
        pthread_mutex_unlock(&r->lock);
        synced = rescan_once(r, why, names, n);
        pthread_mutex_lock(&r->lock);
        schedule_retry(r, synced);
        timer = next_wake(r, &at);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int
plugin_rescan_start(const struct plugin_sink *sink, const struct plugin_options *o,
                    const struct plugin_source *src, struct inventory *last, bool retry,
                    unsigned interval, struct plugin_rescan **ret)
{
    struct plugin_rescan *r = calloc(1, sizeof(*r));
    pthread_condattr_t attr;
    int rc;

    if (!r)
        return -ENOMEM;
    r->sink = *sink;
    r->opts = o;
    r->src = *src;
    r->last = inventory_ref(last);
    schedule_retry(r, retry ? -EAGAIN : 0);
    r->recheck_at = last ? last->recheck_at : 0;
    r->interval = interval;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &attr);
    pthread_condattr_destroy(&attr);
    rc = -pthread_create(&r->thread, NULL, rescan_main, r);
    if (rc < 0) {
        inventory_unref(r->last);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

void
plugin_rescan_request(struct plugin_rescan *r, unsigned why)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->requested |= why ? why : PLUGIN_RESCAN_SIGHUP;
    r->full = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void
plugin_rescan_request_functions(struct plugin_rescan *r, const char *const *bdfs, size_t n)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->requested |= PLUGIN_RESCAN_UEVENT;
    r->full |= n == 0;
    for (size_t i = 0; i < n && !r->full; i++) {
        size_t len = strlen(bdfs[i]);
        bool known = false;

        for (size_t k = 0; k < r->n_changed && !known; k++)
            known = strcmp(r->changed[k], bdfs[i]) == 0;
        if (known)
            continue;
        if (r->n_changed == RESCAN_FUNCTIONS_MAX || len >= sizeof(r->changed[0])) {
            r->full = true;
            break;
        }
        memcpy(r->changed[r->n_changed++], bdfs[i], len + 1);
    }
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void
plugin_rescan_stop(struct plugin_rescan *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    inventory_unref(r->last);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
