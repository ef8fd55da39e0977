#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/text.h"

char *
ttext_read_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "re");

    if (!f)
        return NULL;
    if (getdelim(&text, &len, '\0', f) < 0) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

bool
ttext_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

int
ttext_count_in_file(const char *path, const char *needle)
{
    char *text = ttext_read_file(path);
    int n = 0;

    if (!text)
        return -ENOENT;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}
