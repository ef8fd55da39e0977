#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "plugin/events/rescan.h"
#include "plugin/events/sink.h"
#include "plugin/log/log.h"

struct plugin_rescan {
    struct plugin_sink sink;
    const struct plugin_options *opts;
    struct plugin_source src;
    struct inventory *last; /* what was published last (thread's own) */
    unsigned interval;
    int64_t recheck_at;     /* of the latest scan: health changes then by itself */
    uint32_t retry_ms;      /* the last retry delay while sync fails; 0 when it succeeds */
    struct timespec retry_at;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool requested, stop;
    pthread_t thread;
};

/* Load, sync, publish when changed. The sync result (0 or -errno). */
static int
rescan_once(struct plugin_rescan *r, const char *why)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;
    int rc = r->src.load(r->opts, r->src.ctx, &inv, &err);
    int synced;

    if (rc < 0) {
        log_error("rescan_failed", "reason=%s error=%s", why,
                  LOG_QUOTED(err.msg));
        return 0; /* nothing to retry sooner than the interval */
    }
    synced = r->src.sync ? r->src.sync(r->opts, r->src.ctx, inv) : 0;
    r->recheck_at = inv->recheck_at;
    if (inventory_equal(inv, r->last)) {
        log_info("rescan", "reason=%s changed=false", why);
        inventory_unref(inv);
        return synced;
    }
    log_info("rescan", "reason=%s changed=true resources=%zu", why, inv->n_resources);
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

static void *
rescan_main(void *arg)
{
    struct plugin_rescan *r = arg;
    struct timespec at;
    bool timer;

    pthread_mutex_lock(&r->lock);
    timer = next_wake(r, &at);
    while (!r->stop) {
        bool timed_out = false;
        int synced;

        if (!r->requested) {
            if (timer)
                timed_out = pthread_cond_timedwait(&r->cond, &r->lock, &at) == ETIMEDOUT;
            else
                pthread_cond_wait(&r->cond, &r->lock);
        }
        if (r->stop)
            break;
        if (!r->requested && !timed_out)
            continue;
        r->requested = false;
        pthread_mutex_unlock(&r->lock);
        synced = rescan_once(r, !timed_out ? "request" : r->retry_ms ? "retry" : "timer");
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
plugin_rescan_request(struct plugin_rescan *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->requested = true;
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
