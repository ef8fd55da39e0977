#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cdi/cdi-priv.h"
#include "topology/base/cleanup.h"

/* Foreign spec files are read whole; CDI specs are small. */
#define FOREIGN_MAX (4u << 20)

static char *
read_file_at(int dirfd, const char *name)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FOREIGN_MAX)
        return NULL;
    buf = calloc(1, (size_t)st.st_size + 1);
    if (!buf)
        return NULL;
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) /* NUL bytes: not a text spec */
        return NULL;
    return TAKE_PTR(buf);
}

static char *
json_kind(const char *text)
{
    json_object *root = json_tokener_parse(text);
    json_object *kind = NULL;
    char *ret = NULL;

    if (root && json_object_object_get_ex(root, "kind", &kind) &&
        json_object_is_type(kind, json_type_string))
        ret = strdup(json_object_get_string(kind)); /* borrowed from root: copy */
    json_object_put(root);
    return ret;
}

/* The value of a top-level "kind:" line: unquoted, comment and blanks cut. */
static char *
yaml_kind(const char *text)
{
    const char *line = text, *v, *end;
    char quote = 0;

    while (strncmp(line, "kind:", 5) != 0) {
        line = strchr(line, '\n');
        if (!line)
            return NULL;
        line++;
    }
    v = line + 5;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v == '"' || *v == '\'')
        quote = *v++;
    end = v;
    while (*end && *end != '\n' && *end != '\r' && (quote ? *end != quote : *end != '#'))
        end++;
    while (!quote && end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end > v ? strndup(v, (size_t)(end - v)) : NULL;
}

int
cdi_foreign_kind(int dirfd, const char *name, char **ret)
{
    _cleanup_free_ char *text = read_file_at(dirfd, name);
    char *kind;

    if (!text)
        return -ENOENT;
    /* JSON is YAML too (the CDI library parses both as YAML): try JSON first. */
    kind = json_kind(text);
    if (!kind)
        kind = yaml_kind(text);
    if (!kind)
        return -ENOENT;
    *ret = kind;
    return 0;
}

bool
cdi_name_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);

    return n >= s && strcmp(name + n - s, suffix) == 0;
}

bool
cdi_name_is_spec(const char *name)
{
    return cdi_name_has_suffix(name, ".json") || cdi_name_has_suffix(name, ".yaml") ||
           cdi_name_has_suffix(name, ".yml");
}
