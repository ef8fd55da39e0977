#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "plugin/discover/discover.h"
#include "test/support/discover_test.h"
#include "test/support/suite.h"

/* discover on every generated fixture host (and on this machine's /sys).
 * What each output must list is read from the fixture tree itself
 * (vendor/class files), not from the scan under test. */

#define MAX_FIXTURES 64
#define MAX_FNS 4096

struct expect {
    size_t n;
    char (*bdf)[TOPO_BDF_LEN + 1]; /* NVIDIA functions, sorted */
    size_t n_gpus;
    size_t n_unclassified;
    char (*unclassified)[TOPO_BDF_LEN + 1]; /* NVIDIA vendor, no readable class */
};

static const char *
fixtures_dir(void)
{
    const char *d = getenv("KGDP_FIXTURES");

    return d && *d ? d : NULL;
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the fixture hosts (directories with a sys/ tree); caller frees. */
static size_t
fixture_names(char **names, size_t max)
{
    DIR *d = opendir(fixtures_dir());
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max) {
        char *sys;
        struct stat st;

        if (e->d_name[0] == '.' || asprintf(&sys, "%s/%s/sys", fixtures_dir(), e->d_name) < 0)
            continue;
        if (stat(sys, &st) == 0 && S_ISDIR(st.st_mode))
            names[n++] = strdup(e->d_name);
        free(sys);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    return n;
}

static int
read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return 0;
}

static int
cmp_bdf(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
expect_load(const char *sys, struct expect *ex)
{
    char *devs = NULL;
    DIR *d;
    struct dirent *e;

    ex->n = ex->n_gpus = ex->n_unclassified = 0;
    ex->bdf = calloc(MAX_FNS, sizeof(*ex->bdf));
    ex->unclassified = calloc(MAX_FNS, sizeof(*ex->unclassified));
    CU_ASSERT_FATAL(ex->bdf && ex->unclassified);
    CU_ASSERT_FATAL(asprintf(&devs, "%s/bus/pci/devices", sys) > 0);
    d = opendir(devs);
    while (d && (e = readdir(d)) && ex->n < MAX_FNS) {
        char path[1024], vendor[32], class_code[32];

        if (e->d_name[0] == '.' || strlen(e->d_name) != TOPO_BDF_LEN - 1)
            continue;
        snprintf(path, sizeof(path), "%s/%s/vendor", devs, e->d_name);
        if (read_small(path, vendor, sizeof(vendor)) < 0 || strncmp(vendor, "0x10de", 6) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s/class", devs, e->d_name);
        /* Without a class a function cannot be classified: the scan must
         * leave it out and say so in a warning. */
        if (read_small(path, class_code, sizeof(class_code)) < 0) {
            snprintf(ex->unclassified[ex->n_unclassified++], TOPO_BDF_LEN + 1, "%s", e->d_name);
            continue;
        }
        snprintf(ex->bdf[ex->n++], TOPO_BDF_LEN + 1, "%s", e->d_name);
        if (strncmp(class_code, "0x0300", 6) == 0 || strncmp(class_code, "0x0302", 6) == 0)
            ex->n_gpus++;
    }
    if (d)
        closedir(d);
    free(devs);
    qsort(ex->bdf, ex->n, sizeof(*ex->bdf), cmp_bdf);
}

/* Run the command on a fixture through discover_run; output in *ret. */
static int
run_fixture(const char *name, const char *format, char **ret, char **ret_err)
{
    struct plugin_options o;
    size_t len, elen;
    FILE *out, *errf;
    int rc;

    memset(&o, 0, sizeof(o));
    CU_ASSERT_FATAL(asprintf(&o.sysfs_root, "%s/%s/sys", fixtures_dir(), name) > 0);
    CU_ASSERT_FATAL(asprintf(&o.dev_root, "%s/%s/dev", fixtures_dir(), name) > 0);
    o.format = strdup(format);
    o.iommu = TOPO_IOMMU_AUTO;
    out = open_memstream(ret, &len);
    errf = open_memstream(ret_err, &elen);
    CU_ASSERT_FATAL(out && errf);
    rc = discover_run(&o, out, errf);
    fclose(out);
    fclose(errf);
    free(o.sysfs_root);
    free(o.dev_root);
    free(o.format);
    return rc;
}

/* Every fixture has a SLIT table: 10 on the diagonal, 21 elsewhere. */
static void
check_numa_json(const char *name, struct json_object *root)
{
    struct json_object *rows = NULL;
    size_t n;

    CU_ASSERT_FATAL(json_object_object_get_ex(root, "numaDistances", &rows));
    if (!json_object_is_type(rows, json_type_array)) {
        fprintf(stderr, "\n%s: numaDistances is not an array\n", name);
        CU_FAIL("numaDistances is not an array");
        return;
    }
    n = json_object_array_length(rows);
    for (size_t a = 0; a < n; a++) {
        struct json_object *row = json_object_array_get_idx(rows, a);

        CU_ASSERT_EQUAL_FATAL(json_object_array_length(row), n);
        for (size_t b = 0; b < n; b++)
            CU_ASSERT_EQUAL(json_object_get_int(json_object_array_get_idx(row, b)),
                            a == b ? 10 : 21);
    }
}

static void
check_json(const char *name, const struct expect *ex)
{
    char *text = NULL, *errs = NULL;
    struct json_object *root, *fns = NULL;
    size_t n = 0;

    CU_ASSERT_EQUAL(run_fixture(name, "json", &text, &errs), 0);
    root = json_tokener_parse(text);
    if (!root)
        fprintf(stderr, "\n%s: JSON does not parse\n", name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_FATAL(json_object_object_get_ex(root, "functions", &fns));
    n = json_object_array_length(fns);
    if (n != ex->n)
        fprintf(stderr, "\n%s: JSON lists %zu functions, fixture has %zu\n", name, n, ex->n);
    CU_ASSERT_EQUAL(n, ex->n);
    for (size_t i = 0; i < n && i < ex->n; i++) {
        struct json_object *f = json_object_array_get_idx(fns, i), *bdf = NULL;

        CU_ASSERT_FATAL(json_object_object_get_ex(f, "bdf", &bdf));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(bdf), ex->bdf[i]);
    }
    check_numa_json(name, root);
    json_object_put(root);
    free(text);
    free(errs);
}

/* A line of the function table or matrix starts with a BDF. */
static bool
starts_with_bdf(const char *p)
{
    return strlen(p) >= TOPO_BDF_LEN - 1 && isxdigit((unsigned char)p[0]) && p[4] == ':' &&
           p[7] == ':' && p[10] == '.';
}

static void
check_table(const char *name, const struct expect *ex)
{
    char *text = NULL, *errs = NULL, *matrix;
    size_t rows = 0, mrows = 0;

    CU_ASSERT_EQUAL(run_fixture(name, "table", &text, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    if (ex->n == 0) {
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "no NVIDIA PCI functions found under "));
        goto out;
    }
    matrix = strstr(text, "GPU topology:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(matrix);
    for (char *p = text; p && p < matrix; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        rows += starts_with_bdf(p);
    for (char *p = matrix; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        mrows += starts_with_bdf(p);
    if (rows != ex->n || mrows != ex->n_gpus)
        fprintf(stderr, "\n%s: %zu rows (want %zu), %zu matrix rows (want %zu)\n", name, rows,
                ex->n, mrows, ex->n_gpus);
    CU_ASSERT_EQUAL(rows, ex->n);
    CU_ASSERT_EQUAL(mrows, ex->n_gpus);
    for (size_t i = 0; i < ex->n; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(text, ex->bdf[i]));
    CU_ASSERT(strstr(text, "\niommu: iommufd") || strstr(text, "\niommu: legacy"));
    for (size_t i = 0; i < ex->n_unclassified; i++) {
        const char *w = strstr(text, "\nwarning: ");

        CU_ASSERT_PTR_NOT_NULL(w && strstr(w, ex->unclassified[i]) ? w : NULL);
    }
out:
    free(text);
    free(errs);
}

static void
check_dot(const char *name, const struct expect *ex)
{
    char *text = NULL, *errs = NULL;
    int rendered;

    CU_ASSERT_EQUAL(run_fixture(name, "dot", &text, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strncmp(text, "digraph pcie {", 14), 0);
    CU_ASSERT(discover_dot_braces_balanced(text));
    for (size_t i = 0; i < ex->n; i++) {
        char want[64];

        snprintf(want, sizeof(want), "\"%s\" [label=", ex->bdf[i]);
        if (!strstr(text, want))
            fprintf(stderr, "\n%s: no DOT node %s\n", name, ex->bdf[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    }
    rendered = discover_dot_renders(text);
    if (rendered >= 0)
        CU_ASSERT_EQUAL(rendered, 1);
    free(text);
    free(errs);
}

static void
test_every_fixture(void)
{
    char *names[MAX_FIXTURES];
    size_t n;
    bool saw_no_nvidia = false;

    if (!fixtures_dir()) {
        fputs("\n  (KGDP_FIXTURES not set: skipped; run through `make unit`)\n", stderr);
        return;
    }
    n = fixture_names(names, MAX_FIXTURES);
    CU_ASSERT_FATAL(n > 0);
    for (size_t i = 0; i < n; i++) {
        char *sys = NULL;
        struct expect ex;

        CU_ASSERT_FATAL(asprintf(&sys, "%s/%s/sys", fixtures_dir(), names[i]) > 0);
        expect_load(sys, &ex);
        saw_no_nvidia |= ex.n == 0;
        check_json(names[i], &ex);
        check_table(names[i], &ex);
        check_dot(names[i], &ex);
        free(ex.bdf);
        free(ex.unclassified);
        free(sys);
        free(names[i]);
    }
    CU_ASSERT(saw_no_nvidia); /* the no-nvidia fixture took the plain-message path */
}

static void
test_bad_format(void)
{
    char *text = NULL, *errs = NULL;

    if (!fixtures_dir())
        return;
    CU_ASSERT_EQUAL(run_fixture("no-nvidia", "yaml", &text, &errs), 2);
    CU_ASSERT_STRING_EQUAL(text, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(errs, "--format: 'yaml'"));
    free(text);
    free(errs);
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static void
test_missing_root(void)
{
    char *text = NULL, *errs = NULL;

    if (!fixtures_dir())
        return;
    CU_ASSERT_EQUAL(run_fixture("does-not-exist", "table", &text, &errs), 1);
    CU_ASSERT_STRING_EQUAL(text, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(errs, "discover: "));
    CU_ASSERT_EQUAL(count_lines(errs), 1);
    free(text);
    free(errs);
}

/* This machine's own /sys: whatever it holds, every format completes. */
static void
test_real_sys(void)
{
    static const char *const formats[] = {"table", "json", "dot"};
    struct stat st;

    if (stat("/sys/bus/pci/devices", &st) != 0) {
        fputs("\n  (no /sys/bus/pci/devices: skipped)\n", stderr);
        return;
    }
    for (size_t i = 0; i < 3; i++) {
        struct plugin_options o;
        char *text = NULL, *errs = NULL;
        size_t len, elen;
        FILE *out = open_memstream(&text, &len), *errf = open_memstream(&errs, &elen);

        memset(&o, 0, sizeof(o));
        o.sysfs_root = strdup("/sys");
        o.dev_root = strdup("/dev");
        o.format = strdup(formats[i]);
        CU_ASSERT_EQUAL(discover_run(&o, out, errf), 0);
        fclose(out);
        fclose(errf);
        CU_ASSERT(len > 0);
        if (i == 1) {
            struct json_object *root = json_tokener_parse(text);

            CU_ASSERT_PTR_NOT_NULL(root);
            json_object_put(root);
        }
        free(text);
        free(errs);
        free(o.sysfs_root);
        free(o.dev_root);
        free(o.format);
    }
}

/* The PCIe layer of fixture pcie-faults in all three formats. */
static void
test_pcie_facts(void)
{
    char *text = NULL, *errs = NULL;
    struct json_object *root, *fns, *p;

    CU_ASSERT_EQUAL_FATAL(run_fixture("pcie-faults", "table", &text, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nPCIe:\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  0000:19:00.0   16.0 GT/s x8 of 32.0 GT/s x16"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "link degraded\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "no answer (config reads all-ones)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "D3cold   none"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "  0000:1d:00.0   unknown"));
    free(text);
    free(errs);
    CU_ASSERT_EQUAL_FATAL(run_fixture("pcie-faults", "json", &text, &errs), 0);
    root = json_tokener_parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_FATAL(json_object_object_get_ex(root, "functions", &fns));
    /* functions[] holds NVIDIA functions in BDF order: 18, 19, 1a, 1b, ... */
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(fns, 2), "pcie", &p));
    CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(p, "aerFatal")), 3);
    CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(p, "aerNonfatal")), 5);
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(fns, 1), "pcie", &p));
    CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(p, "linkDegraded")));
    CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(p, "linkWidth")), 8);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(p, "maxLinkSpeed")),
                           "32.0 GT/s");
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(fns, 3), "pcie", &p));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(p, "configSpace")),
                           "all-ones");
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(fns, 4), "pcie", &p));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(p, "resetMethod")), "");
    CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(fns, 5), "pcie", &p));
    CU_ASSERT_PTR_NULL(json_object_object_get(p, "aerFatal"));
    CU_ASSERT_PTR_NULL(json_object_object_get(p, "powerState"));
    json_object_put(root);
    free(text);
    free(errs);
    CU_ASSERT_EQUAL_FATAL(run_fixture("pcie-faults", "dot", &text, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\\nPCIe 16.0 GT/s x8 of 32.0 GT/s x16, D0\\nlink degraded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\\nno answer (config reads all-ones)"));
    free(text);
    free(errs);
}

TEST_SUITE(discover_fixtures, NULL, NULL, {"every fixture", test_every_fixture},
           {"pcie-faults: link, power, reset, AER, config in table, JSON, DOT", test_pcie_facts},
           {"bad format exits 2", test_bad_format}, {"missing root exits 1", test_missing_root},
           {"real /sys", test_real_sys})
