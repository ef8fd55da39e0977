#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi-priv.h"
#include "cdi/cdi.h"
#include "topology/base/cleanup.h"

/* One spec of ours as it should be on disk. */
struct wanted {
    char *kind;
    char *file;
    char *text;
    size_t len;
    bool conflict; /* a foreign file defines this kind */
};

struct plan {
    size_t n;
    struct wanted *w;
};

static void
plan_clear(struct plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->w[i].kind);
        free(p->w[i].file);
        free(p->w[i].text);
    }
    free(p->w);
    memset(p, 0, sizeof(*p));
}

static int
strv_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));

    if (!nv)
        return -ENOMEM;
    *v = nv;
    nv[*n] = strdup(s);
    if (!nv[*n])
        return -ENOMEM;
    (*n)++;
    return 0;
}

void
cdi_report_clear(struct cdi_report *r)
{
    if (!r)
        return;
    inventory_free_strv(r->written, r->n_written);
    inventory_free_strv(r->removed, r->n_removed);
    inventory_free_strv(r->skipped, r->n_skipped);
    for (size_t i = 0; i < r->n_conflicts; i++) {
        free(r->conflicts[i].path);
        free(r->conflicts[i].kind);
    }
    free(r->conflicts);
    for (size_t i = 0; i < r->n_failed; i++) {
        free(r->failed[i].kind);
        free(r->failed[i].error);
    }
    free(r->failed);
    memset(r, 0, sizeof(*r));
}

/* Render and validate every spec before anything on disk changes. */
static int
plan_build(const struct inventory *inv, struct plan *p, struct topo_error *err)
{
    p->w = calloc(inv->n_resources ? inv->n_resources : 1, sizeof(*p->w));
    if (!p->w)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < inv->n_resources; i++) {
        struct wanted *w = &p->w[p->n++];
        struct cdi_spec spec;
        int r = cdi_spec_from_resource(&inv->resources[i], &spec, err);

        if (r < 0)
            return r;
        r = cdi_spec_render(&spec, &w->text, &w->len, err);
        if (r >= 0)
            r = cdi_spec_file_name(spec.kind, &w->file, err);
        w->kind = TAKE_PTR(spec.kind);
        cdi_spec_clear(&spec);
        if (r < 0)
            return r;
        for (size_t j = 0; j + 1 < p->n; j++)
            if (strcmp(p->w[j].file, w->file) == 0)
                return topo_error_set(err, -EINVAL, "resources %s and %s map to one file %s",
                                      p->w[j].kind, w->kind, w->file);
    }
    return 0;
}

static struct wanted *
plan_find_file(struct plan *p, const char *file)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->w[i].file, file) == 0)
            return &p->w[i];
    return NULL;
}

static struct wanted *
plan_find_kind(struct plan *p, const char *kind)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->w[i].kind, kind) == 0)
            return &p->w[i];
    return NULL;
}

/* mkdir -p; the CDI dir under /var/run vanishes at every boot. */
static int
make_dirs(const char *dir, struct topo_error *err)
{
    _cleanup_free_ char *p = strdup(dir);

    if (!p)
        return topo_error_set(err, -ENOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        char c = *s;

        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return topo_error_set(err, -errno, "create CDI dir %s: %s", p, strerror(errno));
        *s = c;
        if (!c)
            return 0;
    }
}

static int
remove_file(int dirfd, const char *name, struct cdi_report *rep, struct topo_error *err)
{
    if (unlinkat(dirfd, name, 0) < 0) {
        if (errno == ENOENT)
            return 0;
        return topo_error_set(err, -errno, "remove %s: %s", name, strerror(errno));
    }
    if (strv_push(&rep->removed, &rep->n_removed, name) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int
add_conflict(struct cdi_report *rep, const char *dir, const char *name, const char *kind)
{
    struct cdi_conflict *c = realloc(rep->conflicts, (rep->n_conflicts + 1) * sizeof(*c));

    if (!c)
        return -ENOMEM;
    rep->conflicts = c;
    c = &c[rep->n_conflicts];
    c->kind = strdup(kind);
    if (!c->kind || asprintf(&c->path, "%s/%s", dir, name) < 0) {
        free(c->kind);
        return -ENOMEM;
    }
    rep->n_conflicts++;
    return 0;
}

static int
add_failure(struct cdi_report *rep, const char *kind, const char *error)
{
    struct cdi_failure *f = realloc(rep->failed, (rep->n_failed + 1) * sizeof(*f));

    if (!f)
        return -ENOMEM;
    rep->failed = f;
    f = &f[rep->n_failed];
    f->kind = strdup(kind);
    f->error = strdup(error);
    if (!f->kind || !f->error) {
        free(f->kind);
        free(f->error);
        return -ENOMEM;
    }
    rep->n_failed++;
    return 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's entries, sorted so reports are stable. */
static int
list_dir(int dirfd, char ***ret, size_t *ret_n, struct topo_error *err)
{
    int fd = dup(dirfd);
    _cleanup_dir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **v = NULL;
    size_t n = 0;
    struct dirent *de;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return topo_error_set(err, -errno, "read CDI dir: %s", strerror(errno));
    }
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strv_push(&v, &n, de->d_name) < 0) {
            inventory_free_strv(v, n);
            return topo_error_set(err, -ENOMEM, "out of memory");
        }
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), name_cmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

static bool
is_ours(const char *name)
{
    return strncmp(name, CDI_FILE_PREFIX, strlen(CDI_FILE_PREFIX)) == 0 &&
           cdi_name_has_suffix(name, CDI_FILE_SUFFIX);
}

static bool
is_our_temp(const char *name)
{
    return strncmp(name, CDI_TEMP_PREFIX, strlen(CDI_TEMP_PREFIX)) == 0 &&
           cdi_name_has_suffix(name, CDI_TEMP_SUFFIX);
}

/* First pass: our leftovers go, foreign specs of our kinds are noted. */
static int
scan_dir(int dirfd, const char *dir, char **names, size_t n, struct plan *p, bool takeover,
         struct cdi_report *rep, struct topo_error *err)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *kind = NULL;
        struct wanted *w;
        int r = 0;

        /* A leftover of ours and a foreign spec taken over both go. */
        if (is_our_temp(names[i]) || (is_ours(names[i]) && !plan_find_file(p, names[i])))
            r = remove_file(dirfd, names[i], rep, err); /* NOLINT(bugprone-branch-clone) */
        else if (is_ours(names[i]) || !cdi_name_is_spec(names[i]) ||
                 cdi_foreign_kind(dirfd, names[i], &kind) < 0 || !(w = plan_find_kind(p, kind)))
            continue;
        else if (add_conflict(rep, dir, names[i], kind) < 0)
            r = topo_error_set(err, -ENOMEM, "out of memory");
        else if (takeover)
            r = remove_file(dirfd, names[i], rep, err);
        else
            w->conflict = true;
        if (r < 0)
            return r;
    }
    return 0;
}

/* One spec: yield to a conflicting foreign one, else write ours. */
static int
apply_one(int dirfd, struct wanted *w, struct cdi_report *rep, struct topo_error *err)
{
    bool changed = false;
    int r;

    if (w->conflict) {
        /* Two specs defining one device break every lookup: yield. */
        r = remove_file(dirfd, w->file, rep, err);
        if (r >= 0 && strv_push(&rep->skipped, &rep->n_skipped, w->kind) < 0)
            r = topo_error_set(err, -ENOMEM, "out of memory");
        return r;
    }
    r = topo_atomic_write_at(dirfd, w->file, w->text, w->len, &changed, err);
    if (r < 0)
        return r;
    if (!changed)
        rep->n_unchanged++;
    else if (strv_push(&rep->written, &rep->n_written, w->file) < 0)
        return topo_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* A spec that cannot be written (full, read-only, ...) is reported and the
 * others still go ahead. */
static int
apply_plan(int dirfd, struct plan *p, struct cdi_report *rep, struct topo_error *err)
{
    for (size_t i = 0; i < p->n; i++) {
        struct topo_error one = TOPO_ERROR_INIT;
        int r = apply_one(dirfd, &p->w[i], rep, &one);

        if (r == -ENOMEM)
            return topo_error_set(err, r, "out of memory");
        if (r < 0 && add_failure(rep, p->w[i].kind, one.msg) < 0)
            return topo_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

int
cdi_sync(const char *dir, const struct inventory *inv, bool takeover, struct cdi_report *ret,
         struct topo_error *err)
{
    struct plan p = {0};
    struct cdi_report rep = {0};
    _cleanup_close_ int dirfd = -1;
    char **names = NULL;
    size_t n_names = 0;
    int r = plan_build(inv, &p, err);

    if (r >= 0)
        r = make_dirs(dir, err);
    if (r >= 0) {
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
            r = topo_error_set(err, -errno, "open CDI dir: %s", strerror(errno));
    }
    if (r >= 0)
        r = list_dir(dirfd, &names, &n_names, err);
    if (r >= 0)
        r = scan_dir(dirfd, dir, names, n_names, &p, takeover, &rep, err);
    if (r >= 0)
        r = apply_plan(dirfd, &p, &rep, err);
    inventory_free_strv(names, n_names);
    plan_clear(&p);
    if (r < 0) {
        cdi_report_clear(&rep);
        return topo_error_prefix(err, r, "CDI dir %s", dir);
    }
    *ret = rep;
    return 0;
}

int
cdi_our_kinds(const char *dir, char ***ret, size_t *ret_n, struct topo_error *err)
{
    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char **names = NULL, **kinds = NULL, *kind;
    size_t n = 0, n_kinds = 0;
    int r;

    if (dirfd < 0)
        return topo_error_set(err, -errno, "open %s: %s", dir, strerror(errno));
    r = list_dir(dirfd, &names, &n, err);
    if (r < 0)
        return topo_error_prefix(err, r, "%s", dir);
    for (size_t i = 0; i < n && r >= 0; i++) {
        if (!is_ours(names[i]) || cdi_foreign_kind(dirfd, names[i], &kind) < 0)
            continue;
        r = strv_push(&kinds, &n_kinds, kind);
        free(kind);
    }
    inventory_free_strv(names, n);
    if (r < 0) {
        inventory_free_strv(kinds, n_kinds);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = kinds;
    *ret_n = n_kinds;
    return 0;
}
