#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/support/live_host.h"
#include "topology/base/cleanup.h"
#include "topology/base/macros.h"

static int
copy_tree(const char *from, const char *to, const char *log)
{
    char *argv[] = {(char *)"cp", (char *)"-a", (char *)from, (char *)to, NULL};
    int status, r;
    pid_t pid;

    if ((r = tproc_spawn(argv, log, NULL, &pid)) < 0 ||
        (r = tproc_wait(pid, 60000, &status)) < 0)
        return r;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int
sub_dir(const char *root, const char *name, char **ret, bool create)
{
    if (asprintf(ret, "%s/%s", root, name) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return create && mkdir(*ret, 0755) < 0 ? -errno : 0;
}

int
live_host_init(struct live_host *lh, const char *name)
{
    const char *base = getenv("KGDP_FIXTURES");
    char tmpl[] = "/tmp/kgdp-live-XXXXXX";
    _cleanup_free_ char *src = NULL, *host = NULL;
    int r;

    memset(lh, 0, sizeof(*lh));
    if (!base) {
        fprintf(stderr, "live_host: KGDP_FIXTURES is not set (run through make)\n");
        return -ENOENT;
    }
    if (!mkdtemp(tmpl))
        return -errno;
    if (!(lh->root = strdup(tmpl)))
        return -ENOMEM;
    if ((r = sub_dir(lh->root, "kubelet", &lh->kubelet, true)) < 0 ||
        (r = sub_dir(lh->root, "cdi", &lh->cdi, true)) < 0 ||
        (r = sub_dir(lh->root, "daemon.log", &lh->log, false)) < 0 ||
        (r = sub_dir(lh->root, "host", &host, false)) < 0 ||
        (r = sub_dir(host, "sys", &lh->sysfs, false)) < 0 ||
        (r = sub_dir(host, "dev", &lh->dev, false)) < 0)
        return r;
    if (asprintf(&src, "%s/%s", base, name) < 0)
        return -ENOMEM;
    if ((r = copy_tree(src, host, lh->log)) < 0)
        fprintf(stderr, "live_host: cannot copy %s to %s\n", src, host);
    return r;
}

void
live_host_fini(struct live_host *lh)
{
    tproc_end(&lh->pid, 5000 * tproc_factor());
    tproc_rm_tree(lh->root);
    free(lh->root);
    free(lh->sysfs);
    free(lh->dev);
    free(lh->kubelet);
    free(lh->cdi);
    free(lh->log);
    memset(lh, 0, sizeof(*lh));
}

int
live_host_spawn(struct live_host *lh, const char *const *extra_args)
{
    const char *bin = getenv("KGDP_BIN");
    const char *args[] = {bin, "serve", "--sysfs-root", lh->sysfs, "--dev-root", lh->dev,
                          "--kubelet-dir", lh->kubelet, "--cdi-dir", lh->cdi, "--gpu-alias",
                          "pgpu", "--nvswitch-alias", "nvswitch", "--log-level", "info"};
    const char *argv[64];
    size_t n = 0;

    if (!bin || access(bin, X_OK) < 0) {
        fprintf(stderr, "live_host: KGDP_BIN is not set to an executable (run through make)\n");
        return -ENOENT;
    }
    for (size_t i = 0; i < ARRAY_SIZE(args); i++)
        argv[n++] = args[i];
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (n + 1 >= ARRAY_SIZE(argv))
            return -E2BIG;
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;
    return tproc_spawn_daemon((char *const *)argv, lh->log, NULL, &lh->pid);
}

static int write_new(const char *path, const char *text);

static const char *
last_component(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

static int rewrite_uevent(const char *dir, const char *driver, const char *slot);

/* Move from -> to unless `to` already exists (idempotent toggles). */
static int
move(const char *from, const char *to)
{
    struct stat st;

    if (lstat(to, &st) == 0)
        return 0;
    return rename(from, to) < 0 ? -errno : 0;
}

/* Rewrite the uevent file of function directory dir as the kernel would
 * show it: DRIVER=<driver> first (none when driver is NULL), PCI_SLOT_NAME
 * replaced when slot is given. Atomic (temp file, rename); a function
 * without a uevent file is left alone. 0 or -errno. */
static int
rewrite_uevent(const char *dir, const char *driver, const char *slot)
{
    _cleanup_free_ char *path = NULL, *tmp = NULL, *text = NULL;
    size_t len = 0;
    char line[512];
    FILE *in, *out;
    int r;

    if (asprintf(&path, "%s/uevent", dir) < 0 || asprintf(&tmp, "%s/.uevent.new", dir) < 0)
        return -ENOMEM;
    if (!(in = fopen(path, "re")))
        return errno == ENOENT ? 0 : -errno;
    if (!(out = open_memstream(&text, &len))) {
        fclose(in);
        return -ENOMEM;
    }
    if (driver)
        fprintf(out, "DRIVER=%s\n", driver);
    while (fgets(line, sizeof(line), in)) {
        if (strncmp(line, "DRIVER=", 7) == 0)
            continue;
        if (slot && strncmp(line, "PCI_SLOT_NAME=", 14) == 0)
            fprintf(out, "PCI_SLOT_NAME=%s\n", slot);
        else
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
    unlink(tmp);
    if ((r = write_new(tmp, text)) < 0)
        return r;
    return rename(tmp, path) < 0 ? -errno : 0;
}

int
live_host_set_bound(const struct live_host *lh, const char *bdf, bool bound)
{
    _cleanup_free_ char *dir = NULL, *link = NULL, *aside = NULL;
    char target[4096];
    ssize_t n;
    int r;

    /* The aside name lives in the function dir, where the scan never looks. */
    if (asprintf(&dir, "%s/bus/pci/devices/%s", lh->sysfs, bdf) < 0 ||
        asprintf(&link, "%s/driver", dir) < 0 || asprintf(&aside, "%s/.driver-unbound", dir) < 0)
        return -ENOMEM;
    if ((r = bound ? move(aside, link) : move(link, aside)) < 0)
        return r;
    n = bound ? readlink(link, target, sizeof(target) - 1) : -1;
    if (n >= 0)
        target[n] = '\0';
    return rewrite_uevent(dir, n >= 0 ? last_component(target) : NULL, NULL);
}

int
live_host_set_node(const struct live_host *lh, const char *path, bool present)
{
    _cleanup_free_ char *node = NULL, *aside = NULL, *flat = NULL;

    if (!(flat = strdup(path)))
        return -ENOMEM;
    for (char *p = flat; *p; p++)
        if (*p == '/')
            *p = '_';
    if (asprintf(&node, "%s/%s", lh->dev, path) < 0 ||
        asprintf(&aside, "%s/aside-%s", lh->root, flat) < 0)
        return -ENOMEM;
    return present ? move(aside, node) : move(node, aside);
}

/* The IOMMU group number of the function directory dir, or -errno. */
static int
group_of(const char *dir)
{
    _cleanup_free_ char *link = NULL;
    char target[4096], *end;
    const char *base;
    ssize_t n;
    long g;

    if (asprintf(&link, "%s/iommu_group", dir) < 0)
        return -ENOMEM;
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    errno = 0;
    g = strtol(base, &end, 10);
    if (errno || end == base || *end || g < 0 || g > 1000000)
        return -EINVAL;
    return (int)g;
}

/* The bus link holds the function's place: "../../../devices/<path>/<bdf>"
 * relative to bus/pci/devices; where it sits now (link or aside) says
 * where the directory belongs. */
static int
function_dir(const struct live_host *lh, const char *link_now, char **ret)
{
    char target[4096];
    ssize_t n = readlink(link_now, target, sizeof(target) - 1);

    if (n < 0)
        return -errno;
    target[n] = '\0';
    return asprintf(ret, "%s/bus/pci/devices/%s", lh->sysfs, target) < 0 ? -ENOMEM : 0;
}

int
live_host_set_present(const struct live_host *lh, const char *bdf, bool present)
{
    _cleanup_free_ char *bus = NULL, *bus_aside = NULL, *dir = NULL, *dir_aside = NULL;
    _cleanup_free_ char *grp = NULL, *grp_aside = NULL;
    struct stat st;
    int r, g;

    if (asprintf(&bus, "%s/bus/pci/devices/%s", lh->sysfs, bdf) < 0 ||
        asprintf(&bus_aside, "%s/gone-%s-bus", lh->root, bdf) < 0 ||
        asprintf(&dir_aside, "%s/gone-%s-dir", lh->root, bdf) < 0 ||
        asprintf(&grp_aside, "%s/gone-%s-group", lh->root, bdf) < 0)
        return -ENOMEM;
    r = function_dir(lh, lstat(bus, &st) == 0 ? bus : bus_aside, &dir);
    if (r < 0)
        return r;
    g = group_of(lstat(dir_aside, &st) == 0 ? dir_aside : dir);
    if (g < 0)
        return g;
    if (asprintf(&grp, "%s/kernel/iommu_groups/%d/devices/%s", lh->sysfs, g, bdf) < 0)
        return -ENOMEM;
    /* the bus link goes first and comes back last: a scan never sees a
     * half-present function */
    if (!present) {
        if ((r = move(bus, bus_aside)) < 0 || (r = move(grp, grp_aside)) < 0)
            return r;
        return move(dir, dir_aside);
    }
    if ((r = move(dir_aside, dir)) < 0 || (r = move(grp_aside, grp)) < 0)
        return r;
    return move(bus_aside, bus);
}

/* Copy the regular files of dir from into dir to (not recursive). */
static int
copy_files(const char *from, const char *to)
{
    _cleanup_dir_ DIR *d = opendir(from);
    struct dirent *e;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        _cleanup_free_ char *src = NULL, *dst = NULL;
        char buf[8192];
        _cleanup_close_ int in = -1;
        _cleanup_close_ int out = -1;
        ssize_t n;

        if (e->d_type != DT_REG)
            continue;
        if (asprintf(&src, "%s/%s", from, e->d_name) < 0 ||
            asprintf(&dst, "%s/%s", to, e->d_name) < 0)
            return -ENOMEM;
        in = open(src, O_RDONLY | O_CLOEXEC);
        out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (in < 0 || out < 0)
            return -errno;
        while ((n = read(in, buf, sizeof(buf))) > 0)
            if (write(out, buf, (size_t)n) != n)
                return -EIO;
        if (n < 0)
            return -errno;
    }
    return 0;
}

/* Write text into a new file at path. */
static int
write_new(const char *path, const char *text)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    size_t len = strlen(text);

    if (fd < 0)
        return -errno;
    return write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
}

/* Symlink at `at` pointing where `like` points, with its last component
 * replaced by last. */
static int
link_like(const char *like, const char *last, const char *at)
{
    char target[4096];
    _cleanup_free_ char *fresh = NULL;
    ssize_t n = readlink(like, target, sizeof(target) - 1);
    char *slash;

    if (n < 0)
        return -errno;
    target[n] = '\0';
    slash = strrchr(target, '/');
    if (!slash)
        return -EINVAL;
    slash[1] = '\0';
    if (asprintf(&fresh, "%s%s", target, last) < 0)
        return -ENOMEM;
    return symlink(fresh, at) < 0 ? -errno : 0;
}

/* The function directory and its links, cloned from src. */
static int
clone_function(const char *src_dir, const char *dst_dir, int group, int cdev)
{
    _cleanup_free_ char *s_drv = NULL, *d_drv = NULL, *s_grp = NULL, *d_grp = NULL;
    _cleanup_free_ char *vdir = NULL, *vdev = NULL, *num = NULL, *text = NULL;
    int r;

    if (mkdir(dst_dir, 0755) < 0)
        return -errno;
    if ((r = copy_files(src_dir, dst_dir)) < 0)
        return r;
    if (asprintf(&s_drv, "%s/driver", src_dir) < 0 || asprintf(&d_drv, "%s/driver", dst_dir) < 0 ||
        asprintf(&s_grp, "%s/iommu_group", src_dir) < 0 ||
        asprintf(&d_grp, "%s/iommu_group", dst_dir) < 0 ||
        asprintf(&vdir, "%s/vfio-dev", dst_dir) < 0 || asprintf(&num, "%d", group) < 0 ||
        asprintf(&text, "511:%d\n", cdev) < 0)
        return -ENOMEM;
    if ((r = link_like(s_drv, "vfio-pci", d_drv)) < 0 || (r = link_like(s_grp, num, d_grp)) < 0)
        return r;
    if (mkdir(vdir, 0755) < 0)
        return -errno;
    free(vdir);
    if (asprintf(&vdir, "%s/vfio-dev/vfio%d", dst_dir, cdev) < 0 ||
        asprintf(&vdev, "%s/dev", vdir) < 0)
        return -ENOMEM;
    if (mkdir(vdir, 0755) < 0)
        return -errno;
    if ((r = write_new(vdev, text)) < 0)
        return r;
    return rewrite_uevent(dst_dir, "vfio-pci", last_component(dst_dir));
}

/* kernel/iommu_groups/<group>/devices/<bdf>, /dev/vfio/<group> and
 * /dev/vfio/devices/vfio<cdev>; the bus link comes last so a scan sees
 * the function only once it is complete. */
static int
publish_function(const struct live_host *lh, const char *src_bdf, const char *new_bdf, int group,
                 int cdev)
{
    _cleanup_free_ char *gdir = NULL, *gdev = NULL, *glink = NULL, *s_bus = NULL;
    _cleanup_free_ char *d_bus = NULL, *n_grp = NULL, *n_cdev = NULL, *g_target = NULL;
    char target[4096];
    ssize_t n;
    int r;

    if (asprintf(&s_bus, "%s/bus/pci/devices/%s", lh->sysfs, src_bdf) < 0 ||
        asprintf(&d_bus, "%s/bus/pci/devices/%s", lh->sysfs, new_bdf) < 0 ||
        asprintf(&gdir, "%s/kernel/iommu_groups/%d", lh->sysfs, group) < 0 ||
        asprintf(&gdev, "%s/devices", gdir) < 0 || asprintf(&glink, "%s/%s", gdev, new_bdf) < 0 ||
        asprintf(&n_grp, "%s/vfio/%d", lh->dev, group) < 0 ||
        asprintf(&n_cdev, "%s/vfio/devices/vfio%d", lh->dev, cdev) < 0)
        return -ENOMEM;
    /* Bus links read "../../../devices/<path>/<bdf>"; group links sit
     * one level deeper: "../../../../devices/<path>/<bdf>". */
    n = readlink(s_bus, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    if (!strrchr(target, '/'))
        return -EINVAL;
    *strrchr(target, '/') = '\0';
    if (asprintf(&g_target, "../%s/%s", target, new_bdf) < 0)
        return -ENOMEM;
    if (mkdir(gdir, 0755) < 0 || mkdir(gdev, 0755) < 0 || symlink(g_target, glink) < 0)
        return -errno;
    if ((r = write_new(n_grp, "")) < 0 || (r = write_new(n_cdev, "")) < 0)
        return r;
    return link_like(s_bus, new_bdf, d_bus);
}

int
live_host_add_function(const struct live_host *lh, const char *src_bdf, const char *new_bdf,
                       int group, int cdev)
{
    _cleanup_free_ char *bus = NULL, *src_dir = NULL, *parent = NULL, *dst_dir = NULL;
    int r;

    if (asprintf(&bus, "%s/bus/pci/devices/%s", lh->sysfs, src_bdf) < 0)
        return -ENOMEM;
    src_dir = realpath(bus, NULL);
    if (!src_dir)
        return -errno;
    if (!(parent = strdup(src_dir)))
        return -ENOMEM;
    if (asprintf(&dst_dir, "%s/%s", dirname(parent), new_bdf) < 0)
        return -ENOMEM;
    if (access(dst_dir, F_OK) == 0)
        return -EEXIST;
    if ((r = clone_function(src_dir, dst_dir, group, cdev)) < 0)
        return r;
    return publish_function(lh, src_bdf, new_bdf, group, cdev);
}
