#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "test/support/cdi_test_util.h"
#include "topology/base/cleanup.h"

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

static char *
checker_path(void)
{
    const char *env = getenv("KGDP_CDI_CHECK");
    const char *build = getenv("KGDP_BUILD");
    char *p = NULL;

    if (env && *env)
        return strdup(env);
    if (asprintf(&p, "%s/test/cdi-check", build && *build ? build : "build") < 0)
        return NULL;
    return p;
}

/* The command line: every argument single-quoted (none holds a quote). */
static char *
checker_command(const char *bin, const char *dir, char *const *args, size_t n)
{
    char *cmd = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&cmd, &len);

    if (!f)
        return NULL;
    fprintf(f, "'%s' -schema -dir '%s'", bin, dir);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " '%s'", args[i]);
    if (fclose(f) != 0) {
        free(cmd);
        return NULL;
    }
    return cmd;
}

struct json_object *
cdi_t_run_checker(const char *dir, char *const *args, size_t n_args, int *ret_status)
{
    _cleanup_free_ char *bin = checker_path();
    _cleanup_free_ char *cmd = NULL, *out = NULL;
    size_t len = 0, cap = 0;
    FILE *p;
    int status;

    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "\ncdi-check not built at %s (make build/test/cdi-check)\n",
                bin ? bin : "?");
        return NULL;
    }
    cmd = checker_command(bin, dir, args, n_args);
    p = cmd ? popen(cmd, "re") : NULL;
    if (!p)
        return NULL;
    for (;;) {
        size_t n;

        if (cap - len < 4097) {
            char *nb = realloc(out, cap + 65536);

            if (!nb)
                break;
            out = nb;
            cap += 65536;
        }
        n = fread(out + len, 1, cap - len - 1, p);
        len += n;
        if (n == 0)
            break;
    }
    status = pclose(p);
    if (!out)
        return NULL;
    out[len] = '\0';
    *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return json_tokener_parse(out);
}
