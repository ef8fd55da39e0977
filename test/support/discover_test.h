#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/discover/discover.h"

/* Output of one renderer captured in memory; free text with free(). */
struct captured {
    char *text;
    size_t len;
    int rc;
};

enum discover_renderer {
    RENDER_TABLE,
    RENDER_JSON,
    RENDER_DOT,
};

static inline struct captured
discover_capture(const struct topo_host *host, enum discover_renderer which)
{
    struct captured c = {NULL, 0, -1};
    FILE *f = open_memstream(&c.text, &c.len);

    if (!f)
        return c;
    switch (which) {
    case RENDER_TABLE: c.rc = discover_table(host, "/fake/sys", f); break;
    case RENDER_JSON: c.rc = discover_json(host, f); break;
    case RENDER_DOT: c.rc = discover_dot(host, f); break;
    }
    fclose(f);
    return c;
}

/* Braces outside double-quoted strings balance and never go negative. */
static inline int
discover_dot_braces_balanced(const char *s)
{
    int depth = 0;
    int quoted = 0;

    for (; *s; s++) {
        if (quoted && *s == '\\' && s[1]) {
            s++;
            continue;
        }
        if (*s == '"')
            quoted = !quoted;
        else if (!quoted && *s == '{')
            depth++;
        else if (!quoted && *s == '}' && --depth < 0)
            return 0;
    }
    return depth == 0 && !quoted;
}

/* Feed text to Graphviz when it is installed: 1 rendered, 0 failed,
 * -1 no `dot` on this machine. */
static inline int
discover_dot_renders(const char *text)
{
    FILE *p;

    if (system("command -v dot >/dev/null 2>&1") != 0)
        return -1;
    p = popen("dot -Tsvg -o /dev/null 2>/dev/null", "w");
    if (!p)
        return -1;
    fputs(text, p);
    return pclose(p) == 0;
}
