#pragma once

#include <pthread.h>
#include <stdint.h>

#include "plugin/metrics/metrics.h"

/* Internals shared by metrics.c (state) and metrics_render.c (text). */

#define PLUGIN_METRICS_MAX_ENTRIES 256
#define PLUGIN_RESCAN_BUCKETS 12

extern const double plugin_rescan_buckets[PLUGIN_RESCAN_BUCKETS];

struct plugin_counter_entry {
    enum plugin_counter counter;
    char resource[128]; /* "" when the counter takes none */
    char reason[32];
    uint64_t value;
};

/* The counters, copied whole by a scrape. */
struct plugin_metrics_counts {
    size_t n_entries;
    struct plugin_counter_entry entries[PLUGIN_METRICS_MAX_ENTRIES];
    uint64_t rescan_le[PLUGIN_RESCAN_BUCKETS]; /* cumulative: observations <= bound */
    uint64_t rescan_count;
    double rescan_sum;
};

struct plugin_metrics {
    pthread_mutex_t lock; /* guards everything below */
    struct plugin_metrics_counts c;
    struct inventory *inv; /* own reference; NULL before the first scan */
};
