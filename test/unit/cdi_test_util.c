#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/unit/cdi_test_util.h"
#include "topology/cleanup.h"

static int
fill_device(const struct cdi_t_dev *src, struct inv_device *d)
{
    size_t n = 0;

    while (n < CDI_T_MAX_NODES && src->nodes[n][0])
        n++;
    d->id = strdup(src->id);
    d->healthy = true;
    d->numa_node = -1;
    d->nodes = calloc(n ? n : 1, sizeof(*d->nodes));
    if (!d->id || !d->nodes)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        d->n_nodes = i + 1;
        d->nodes[i].path = strdup(src->nodes[i][0]);
        d->nodes[i].host_path = src->nodes[i][1] ? strdup(src->nodes[i][1]) : NULL;
        if (!d->nodes[i].path || (src->nodes[i][1] && !d->nodes[i].host_path))
            return -ENOMEM;
    }
    return 0;
}

static int
fill_resource(const struct cdi_t_res *src, struct inv_resource *r)
{
    size_t n = 0;

    while (n < CDI_T_MAX_DEVS && src->devs[n].id)
        n++;
    r->name = strdup(src->name);
    r->devices = calloc(n ? n : 1, sizeof(*r->devices));
    if (!r->name || !r->devices)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r->n_devices = i + 1;
        if (fill_device(&src->devs[i], &r->devices[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

struct inventory *
cdi_t_inventory(const struct cdi_t_res *res, size_t n)
{
    struct inventory *inv = inventory_new(NULL, NULL);

    if (!inv)
        return NULL;
    inv->resources = calloc(n ? n : 1, sizeof(*inv->resources));
    if (!inv->resources) {
        inventory_unref(inv);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        inv->n_resources = i + 1;
        if (fill_resource(&res[i], &inv->resources[i]) < 0) {
            inventory_unref(inv);
            return NULL;
        }
    }
    return inv;
}

char *
cdi_t_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    if (asprintf(&dir, "%s/kgdp-cdi-XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

void
cdi_t_rmdir(char *dir)
{
    _cleanup_dir_ DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
            unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
    }
    if (dir)
        rmdir(dir);
    free(dir);
}

char *
cdi_t_read(const char *dir, const char *name, size_t *ret_len)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_fclose_ FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    f = fopen(path, "re");
    if (!f)
        return NULL;
    for (;;) {
        char *nb = realloc(buf, len + 4097);
        size_t n;

        if (!nb) {
            free(buf);
            return NULL;
        }
        buf = nb;
        n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n == 0)
            break;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

int
cdi_t_write(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_fclose_ FILE *f = NULL;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return -ENOMEM;
    f = fopen(path, "we");
    if (!f || fputs(text, f) < 0)
        return -EIO;
    return fflush(f) == 0 ? 0 : -EIO;
}

int
cdi_t_count(const char *dir)
{
    _cleanup_dir_ DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    return n;
}

int
cdi_t_exists(const char *dir, const char *name)
{
    _cleanup_free_ char *path = NULL;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return 0;
    return access(path, F_OK) == 0;
}
