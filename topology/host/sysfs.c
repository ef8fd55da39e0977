#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/base/regular.h"
#include "topology/host/sysfs.h"

int
topo_sysfs_read(int dirfd, const char *path, char *buf, size_t size)
{
    _cleanup_close_ int fd = -1;
    char tmp[4096];
    ssize_t n;
    int r;

    if (size == 0 || size > sizeof(tmp))
        return -EINVAL;
    r = topo_open_regular(dirfd, path, &fd);
    if (r < 0)
        return r;
    /* One read: sysfs attributes are produced whole on the first read. */
    n = read(fd, tmp, size);
    if (n < 0)
        return -errno;
    if ((size_t)n >= size)
        return -EFBIG;
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\0'))
        n--;
    memcpy(buf, tmp, (size_t)n);
    buf[n] = '\0';
    return (int)n;
}

int
topo_sysfs_readlink(int dirfd, const char *path, char **ret)
{
    char buf[PATH_MAX];
    ssize_t n;
    char *s;

    n = readlinkat(dirfd, path, buf, sizeof(buf));
    if (n < 0)
        return -errno;
    if ((size_t)n >= sizeof(buf))
        return -ENAMETOOLONG;
    s = strndup(buf, (size_t)n);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

bool
topo_sysfs_exists(int dirfd, const char *path)
{
    struct stat st;

    return fstatat(dirfd, path, &st, 0) == 0;
}

#define LIST_BUF 32768

int
topo_sysfs_list(int dirfd, const char *path, topo_sysfs_entry_fn *fn, void *ctx)
{
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    ssize_t n;

    if (fd < 0)
        return -errno;
    buf = malloc(LIST_BUF);
    if (!buf)
        return -ENOMEM;
    while ((n = getdents64(fd, buf, LIST_BUF)) > 0) {
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(buf + off);
            const char *name = de->d_name;
            int r;

            off += de->d_reclen;
            if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
                continue;
            r = fn(name, ctx);
            if (r < 0)
                return r;
        }
    }
    return n < 0 ? -errno : 0;
}

const char *
topo_path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int
topo_parse_int(const char *s, int *ret)
{
    char *end;
    long v;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return -ERANGE;
    if (end == s || *end != '\0')
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

int
topo_parse_prefixed_int(const char *s, const char *prefix, int *ret)
{
    size_t len = strlen(prefix);
    int v, r;

    if (strncmp(s, prefix, len) != 0 || s[len] == '-')
        return -EINVAL;
    r = topo_parse_int(s + len, &v);
    if (r < 0)
        return r;
    if (v < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

static bool
all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

bool
topo_is_bdf(const char *s)
{
    size_t len = strlen(s);
    size_t dom = len == 12 ? 4 : len == 13 ? 5 : 0;

    if (!dom)
        return false;
    s += dom - 4; /* check the fixed tail "dddd:bb:dd.f" shape */
    return all_hex(s - (dom - 4), dom) && s[4] == ':' && all_hex(s + 5, 2) && s[7] == ':' &&
           all_hex(s + 8, 2) && s[10] == '.' && s[11] >= '0' && s[11] <= '7';
}
