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

/* Set err's code (a negative errno) and message. err may be NULL. */
void topo_error_format(struct topo_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix err's message with "<prefix>: ". err may be NULL. */
void topo_error_add_prefix(struct topo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* topo_error_format() that evaluates to code, so callers can write
 * `return topo_error_set(err, -ENOENT, "open %s", path)`. code is read
 * before the message arguments (strerror(errno) may not change it). A
 * macro, not a function, so that static analysis sees the value. */
#define topo_error_set(err, code, ...)                                                             \
    __extension__({                                                                                \
        int topo_error_code_ = (code);                                                             \
        topo_error_format((err), topo_error_code_, __VA_ARGS__);                                   \
        topo_error_code_;                                                                          \
    })

/* topo_error_add_prefix() that evaluates to code, the caller's own error
 * (`return topo_error_prefix(err, r, "scan %s", root)`): the code a
 * failure returns never depends on whether the caller passed an err. */
#define topo_error_prefix(err, code, ...)                                                          \
    __extension__({                                                                                \
        int topo_error_code_ = (code);                                                             \
        topo_error_add_prefix((err), __VA_ARGS__);                                                 \
        topo_error_code_;                                                                          \
    })
