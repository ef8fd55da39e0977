#pragma once

#include <stdarg.h>

/* Caller-owned, stack-allocated error context. Filled where a failure
 * happens ("open %s", path) and prefixed on the way up; nothing to free.
 * code is a negative errno (0 = no error). */
struct topo_error {
    int code;
    char msg[512];
};

#define TOPO_ERROR_INIT {0, {0}}

/* Set code (a negative errno) and the message; returns code so callers can
 * write `return topo_error_set(err, -ENOENT, "...")`. err may be NULL. */
int topo_error_set(struct topo_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "<prefix>: "; returns err->code
 * (or 0 when err is NULL). */
int topo_error_prefix(struct topo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
