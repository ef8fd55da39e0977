#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/grpc/socket_path.h"

int
plugin_socket_path(const char *dir, const char *name, char **ret, struct topo_error *err)
{
    size_t dlen = strlen(dir);
    char *path;

    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return topo_error_set(err, -EINVAL, "socket name '%s' is not a bare file name", name);
    /* "dir/" and "dir" name the same directory. */
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    if (dlen + 1 + strlen(name) > PLUGIN_SOCKET_PATH_MAX)
        return topo_error_set(err, -ENAMETOOLONG,
                              "socket path %.*s/%s is %zu bytes, longer than the %d a unix "
                              "socket allows: use a shorter kubelet dir",
                              (int)dlen, dir, name, dlen + 1 + strlen(name),
                              PLUGIN_SOCKET_PATH_MAX);
    if (asprintf(&path, "%.*s/%s", (int)dlen, dir, name) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    *ret = path;
    return 0;
}

int
plugin_kubelet_dir_check(const char *dir, struct topo_error *err)
{
    struct stat st;

    if (stat(dir, &st) < 0)
        return topo_error_set(err, -errno, "kubelet dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return topo_error_set(err, -ENOTDIR, "kubelet dir %s is not a directory", dir);
    /* access() sees a read-only mount even for root, who passes mode bits. */
    if (access(dir, W_OK | X_OK) < 0) {
        int r = -errno;

        return topo_error_set(err, r, "kubelet dir %s is %s: cannot create sockets in it", dir,
                              r == -EROFS ? "on a read-only file system" : "not writable");
    }
    return 0;
}
