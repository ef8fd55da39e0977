#pragma once

#include <stdint.h>

/* Retry delays for registration: first, doubling up to max. */
struct plugin_backoff {
    uint32_t first_ms;
    uint32_t max_ms;
    uint32_t next_ms; /* 0 = not started */
};

#define PLUGIN_BACKOFF_INIT(first, max)                                                            \
    {                                                                                              \
        (first), (max), 0                                                                          \
    }

/* Delay before the next attempt, in ms, and advance the schedule
 * (first, 2*first, ... capped at max). Never fails. */
uint32_t plugin_backoff_next(struct plugin_backoff *b);

/* Start the schedule over (after a success or a fresh trigger). */
void plugin_backoff_reset(struct plugin_backoff *b);
