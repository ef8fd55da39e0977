#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/metrics/metrics-priv.h"

/* The counter table and the snapshot reference, one mutex for both. A
 * scrape copies what it needs under the lock and formats outside it. */

/* Upper bounds of the rescan duration histogram, seconds. */
const double plugin_rescan_buckets[PLUGIN_RESCAN_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,  1,     2.5,  5,
                                                             10,    30};

struct plugin_metrics *
plugin_metrics_new(void)
{
    struct plugin_metrics *m = calloc(1, sizeof(*m));

    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void
plugin_metrics_free(struct plugin_metrics *m)
{
    if (!m)
        return;
    inventory_unref(m->inv);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool
same(const char *a, const char *b)
{
    return strcmp(a, b ? b : "") == 0;
}

/* The entry for (c, resource, reason), added when new; NULL when the table
 * is full or a label is too long (the sample is dropped, not the daemon). */
static struct plugin_counter_entry *
entry(struct plugin_metrics *m, enum plugin_counter c, const char *resource, const char *reason)
{
    struct plugin_counter_entry *e;

    for (size_t i = 0; i < m->c.n_entries; i++) {
        e = &m->c.entries[i];
        if (e->counter == c && same(e->resource, resource) && same(e->reason, reason))
            return e;
    }
    if (m->c.n_entries == PLUGIN_METRICS_MAX_ENTRIES ||
        strlen(resource ? resource : "") >= sizeof(e->resource) ||
        strlen(reason ? reason : "") >= sizeof(e->reason))
        return NULL;
    e = &m->c.entries[m->c.n_entries++];
    *e = (struct plugin_counter_entry){.counter = c};
    /* Lengths checked above: nothing is cut. */
    snprintf(e->resource, sizeof(e->resource), "%s", resource ? resource : "");
    snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
    return e;
}

void
plugin_metrics_inc(struct plugin_metrics *m, enum plugin_counter c, const char *resource,
                   const char *reason)
{
    struct plugin_counter_entry *e;

    if (!m || c >= PLUGIN_CTR_COUNT)
        return;
    pthread_mutex_lock(&m->lock);
    if ((e = entry(m, c, resource, reason)))
        e->value++;
    pthread_mutex_unlock(&m->lock);
}

/* The refusal reasons of inventory_allocate's errno convention. */
static const char *
refusal_reason(int result)
{
    switch (-result) {
    case EINVAL: return "invalid_request";
    case EPERM: return "rule";
    case ENODEV: return "unhealthy";
    default: return "internal";
    }
}

void
plugin_metrics_allocation(struct plugin_metrics *m, const char *resource, int result)
{
    if (result == 0)
        plugin_metrics_inc(m, PLUGIN_CTR_ALLOCATIONS, resource, NULL);
    else
        plugin_metrics_inc(m, PLUGIN_CTR_REFUSALS, resource, refusal_reason(result));
}

void
plugin_metrics_rescan(struct plugin_metrics *m, double seconds, bool ok)
{
    if (!m)
        return;
    plugin_metrics_inc(m, PLUGIN_CTR_RESCANS, NULL, ok ? "ok" : "failed");
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < PLUGIN_RESCAN_BUCKETS; i++)
        if (seconds <= plugin_rescan_buckets[i])
            m->c.rescan_le[i]++;
    m->c.rescan_count++;
    m->c.rescan_sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

void
plugin_metrics_set_inventory(struct plugin_metrics *m, struct inventory *inv)
{
    struct inventory *old;

    if (!m)
        return;
    inventory_ref(inv);
    pthread_mutex_lock(&m->lock);
    old = m->inv;
    m->inv = inv;
    pthread_mutex_unlock(&m->lock);
    inventory_unref(old);
}
