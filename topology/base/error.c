#include <stdio.h>
#include <string.h>

#include "topology/base/error.h"

void
topo_error_format(struct topo_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void
topo_error_add_prefix(struct topo_error *err, const char *fmt, ...)
{
    char prefix[sizeof(err->msg)];
    char old[sizeof(err->msg)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation keeps the most useful part (the prefix) and is fine. */
    if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
        err->msg[0] = '\0';
}
