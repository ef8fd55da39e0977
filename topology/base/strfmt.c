#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "topology/base/strfmt.h"

int
topo_strfmt(char **ret, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(ret, fmt, ap);
    va_end(ap);
    if (r < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}
