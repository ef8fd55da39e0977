#include "plugin/grpc/backoff.h"

uint32_t
plugin_backoff_next(struct plugin_backoff *b)
{
    uint32_t delay = b->next_ms ? b->next_ms : b->first_ms;

    if (delay > b->max_ms)
        delay = b->max_ms;
    /* Saturate rather than wrap when max is close to UINT32_MAX. */
    b->next_ms = delay > b->max_ms / 2 ? b->max_ms : delay * 2;
    return delay;
}

void
plugin_backoff_reset(struct plugin_backoff *b)
{
    b->next_ms = 0;
}
