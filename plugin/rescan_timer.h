#pragma once

#include <stdint.h>

#include "topology/error.h"

/* A thread that calls back every interval: the periodic rescan trigger that
 * keeps working where uevents are unavailable (containers without netlink). */

struct rescan_timer;

/* Start calling cb(ctx) from a timer thread every interval_ms (first call
 * one interval after start; missed ticks coalesce into one call). cb must be
 * cheap and must not call rescan_timer_stop(). interval_ms == 0 disables the
 * timer: returns 0 with *ret = NULL. Otherwise 0 and *ret (free with
 * rescan_timer_stop()), or -errno with err filled. */
int rescan_timer_start(uint64_t interval_ms, void (*cb)(void *ctx), void *ctx,
                       struct rescan_timer **ret, struct topo_error *err);

/* Stop the thread, join it, free t. Accepts NULL. After it returns, cb is
 * not running and will not be called again. */
void rescan_timer_stop(struct rescan_timer *t);

/* Number of times cb has been called so far (diagnostics and tests). */
uint64_t rescan_timer_fired(const struct rescan_timer *t);
