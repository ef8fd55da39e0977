#pragma once

#include <stdbool.h>

/* One line per event on stderr, machine-parsable key=value fields:
 *   ts=2026-11-22T09:00:00.123Z level=info event=registered resource=nvidia.com/pgpu
 * Values with spaces or quotes must be quoted by the caller with log_quote(). */

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

/* Parse "debug|info|warn|error"; 0 and *ret set, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* Emit "ts=... level=... event=<event> <fields>"; fields is a printf format
 * of further key=value pairs (may be NULL). Thread-safe: one write(2). */
void log_event(enum log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Quote a value for a key=value field into buf ("a b" -> "\"a b\""); returns buf. */
const char *log_quote(const char *value, char *buf, unsigned long len);

/* The longest quoted value in a line; longer values are cut. */
#define LOG_QUOTE_MAX 600

/* log_quote() into a buffer that lives to the end of the enclosing block:
 * log_error("scan_failed", "error=%s", LOG_QUOTED(err.msg)). */
#define LOG_QUOTED(value) log_quote((value), (char[LOG_QUOTE_MAX]){0}, LOG_QUOTE_MAX)

#define log_debug(ev, ...) log_event(LOG_LEVEL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_LEVEL_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_LEVEL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_LEVEL_ERROR, ev, __VA_ARGS__)
