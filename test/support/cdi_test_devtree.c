#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "test/support/cdi_test_devtree.h"
#include "topology/base/cleanup.h"

const char *
cdi_t_node_kind_str(enum cdi_t_node_kind kind)
{
    switch (kind) {
    case CDI_T_NODE_MKNOD:
        return "character devices (mknod, major:minor of /dev/null)";
    case CDI_T_NODE_SYMLINK:
        return "symlinks to /dev/null (mknod not allowed)";
    }
    return "?";
}

/* One node at path; the first EPERM/EACCES from mknod switches to symlinks. */
static int
make_node(const char *path, dev_t rdev, enum cdi_t_node_kind *kind)
{
    if (*kind == CDI_T_NODE_MKNOD) {
        if (mknod(path, S_IFCHR | 0666, rdev) == 0)
            return 0;
        if (errno != EPERM && errno != EACCES)
            return -errno;
        *kind = CDI_T_NODE_SYMLINK;
    }
    return symlink("/dev/null", path) == 0 ? 0 : -errno;
}

static int copy_entry(const char *src, const char *dst, dev_t rdev, enum cdi_t_node_kind *kind);

static int
copy_dir(const char *src, const char *dst, dev_t rdev, enum cdi_t_node_kind *kind)
{
    _cleanup_dir_ DIR *d = opendir(src);
    struct dirent *de;
    int r = 0;

    if (!d)
        return -errno;
    if (mkdir(dst, 0755) < 0 && errno != EEXIST)
        return -errno;
    while (r == 0 && (de = readdir(d))) {
        _cleanup_free_ char *s = NULL, *t = NULL;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (asprintf(&s, "%s/%s", src, de->d_name) < 0 ||
            asprintf(&t, "%s/%s", dst, de->d_name) < 0)
            return -ENOMEM;
        r = copy_entry(s, t, rdev, kind);
    }
    return r;
}

static int
copy_entry(const char *src, const char *dst, dev_t rdev, enum cdi_t_node_kind *kind)
{
    struct stat st;
    char target[4096];
    ssize_t n;

    if (lstat(src, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return copy_dir(src, dst, rdev, kind);
    if (!S_ISLNK(st.st_mode))
        return make_node(dst, rdev, kind);
    n = readlink(src, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    return symlink(target, dst) == 0 ? 0 : -errno;
}

int
cdi_t_devtree_copy(const char *src, const char *dst, enum cdi_t_node_kind *ret_kind)
{
    enum cdi_t_node_kind kind = CDI_T_NODE_MKNOD;
    struct stat null_st;
    int r;

    if (stat("/dev/null", &null_st) < 0)
        return -errno;
    if (!S_ISCHR(null_st.st_mode))
        return -ENODEV;
    r = copy_dir(src, dst, null_st.st_rdev, &kind);
    if (r < 0)
        return r;
    *ret_kind = kind;
    return 0;
}
