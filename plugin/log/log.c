#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin/log/log.h"
#include "topology/base/macros.h"

static int current_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
log_level_parse(const char *s, enum log_level *ret)
{
    for (int i = 0; i < (int)(ARRAY_SIZE(level_names)); i++)
        if (strcmp(s, level_names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *ret = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

void
log_set_level(enum log_level level)
{
    __atomic_store_n(&current_level, (int)level, __ATOMIC_RELAXED);
}

bool
log_enabled(enum log_level level)
{
    return (int)level >= __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

const char *
log_quote(const char *value, char *buf, unsigned long len)
{
    size_t o = 0;
    bool plain = value && *value;

    if (len == 0)
        return "";
    for (const char *p = value; plain && *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || *p < 0x20)
            plain = false;
    if (plain) {
        snprintf(buf, len, "%s", value);
        return buf;
    }
    if (len < 3) {
        buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const char *p = value ? value : ""; *p && o + 3 < len; p++) {
        if (*p == '"' || *p == '\\')
            buf[o++] = '\\';
        buf[o++] = (char)((unsigned char)*p < 0x20 ? ' ' : *p);
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void
log_event(enum log_level level, const char *event, const char *fields, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n;
    va_list ap;

    if (!log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level], event);
    if (fields && n > 0 && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_start(ap, fields);
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fields, ap);
        va_end(ap);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
