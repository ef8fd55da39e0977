#include <errno.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/daemon/nfd.h"
#include "test/support/proc.h"
#include "test/support/suite.h"
#include "test/support/text.h"
#include "test/support/topo_fixture.h"
#include "topology/units/inventory.h"

/* Node labels for NFD's local feature source: every line of the file is
 * checked against NFD's input format and the Kubernetes label syntax that
 * nfd-master enforces (written out here independently of the code under
 * test), the values against the fixture descriptions, and the writer's
 * file handling (atomic, only when changed, expiry refresh, removal). */

#define NS_SUFFIX ".feature.node.kubernetes.io"

static bool
matches(const char *re, const char *s)
{
    regex_t rx;
    bool ok;

    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* One "<prefix>/<name>=<value>" line as nfd-master accepts it: a DNS
 * subdomain prefix (<= 253) in feature.node.kubernetes.io's sub-domains
 * (allowed without -extra-label-ns), a name and a value of at most 63
 * characters [A-Za-z0-9._-], alphanumeric at both ends (value may be
 * empty). */
static bool
label_line_valid(const char *line)
{
    static const char dns[] = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    static const char name[] = "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$";
    const char *slash = strchr(line, '/'), *eq = strchr(line, '=');
    char prefix[300], base[100], value[100];
    size_t plen;

    if (!slash || !eq || eq < slash || (plen = (size_t)(slash - line)) > 253)
        return false;
    if ((size_t)(eq - slash - 1) > 63 || strlen(eq + 1) > 63)
        return false;
    snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, line);
    snprintf(base, sizeof(base), "%.*s", (int)(eq - slash - 1), slash + 1);
    snprintf(value, sizeof(value), "%s", eq + 1);
    return matches(dns, prefix) && strlen(prefix) > strlen(NS_SUFFIX) &&
           strcmp(prefix + strlen(prefix) - strlen(NS_SUFFIX), NS_SUFFIX) == 0 &&
           matches(name, base) && (!value[0] || matches(name, value));
}

/* Every line valid, no name twice; count of lines in *ret_n. */
static void
check_lines(const char *text, bool file, size_t *ret_n)
{
    char *copy = strdup(text), *save = NULL, *names[64];
    size_t n = 0, expiry = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    CU_ASSERT(strlen(text) < 64 * 1024); /* NFD ignores larger files */
    CU_ASSERT(text[strlen(text) - 1] == '\n');
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            CU_ASSERT_TRUE(file);
            if (strncmp(line, "# +", 3) == 0) {
                CU_ASSERT_TRUE(matches("^# \\+expiry-time=[0-9]{4}-[0-9]{2}-[0-9]{2}T"
                                       "[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
                                       line));
                expiry++;
            }
            continue;
        }
        if (!label_line_valid(line))
            fprintf(stderr, "[invalid label line: %s] ", line);
        CU_ASSERT_TRUE(label_line_valid(line));
        for (size_t i = 0; i < n; i++)
            CU_ASSERT(strncmp(names[i], line, (size_t)(strchr(line, '=') - line + 1)) != 0);
        if (n < 64)
            names[n++] = line;
    }
    CU_ASSERT_EQUAL(expiry, file ? 1 : 0);
    *ret_n = n;
    free(copy);
}

static bool
has_line(const char *text, const char *label)
{
    char want[200];

    snprintf(want, sizeof(want), "\n%s%s\n", NFD_LABEL_PREFIX, label);
    size_t n = strlen(want) - 1; /* want without its leading newline */

    return strstr(text, want) != NULL || strncmp(text, want + 1, n) == 0;
}

static void
test_labels_fixtures(void)
{
    static const char *const fixtures[] = {"hgx-h100-iommufd",   "hgx-h200-legacy", "hgx-b200",
                                           "rtx-pro-6000-sriov", "mixed",           "pcie-faults",
                                           "no-nvidia",          "damaged"};

    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        struct inventory *inv = topo_fixture_inventory(fixtures[i], INV_MODE_PASSTHROUGH);
        char *text = NULL;
        size_t n = 0;

        CU_ASSERT_EQUAL_FATAL(nfd_labels_render(inv, &text), 0);
        check_lines(text, false, &n);
        CU_ASSERT(n >= 6);
        free(text);
        inventory_unref(inv);
    }
}

static void
test_labels_values(void)
{
    struct inventory *inv = topo_fixture_inventory("hgx-h100-iommufd", INV_MODE_PPCIE);
    char *text = NULL;

    CU_ASSERT_EQUAL_FATAL(nfd_labels_render(inv, &text), 0);
    CU_ASSERT_TRUE(has_line(text, "gpu.count=8"));
    CU_ASSERT_TRUE(has_line(text, "nvswitch.count=4"));
    CU_ASSERT_TRUE(has_line(text, "gpu.family=hopper"));
    CU_ASSERT_TRUE(has_line(text, "gpu.device-id=2330"));
    CU_ASSERT_TRUE(has_line(text, "gpu.model=GH100_H100_SXM5_80GB"));
    CU_ASSERT_TRUE(has_line(text, "gpu.2330.count=8"));
    CU_ASSERT_TRUE(has_line(text, "gpu.2330.family=hopper"));
    CU_ASSERT_TRUE(has_line(text, "nvswitch.22a3.count=4"));
    CU_ASSERT_TRUE(has_line(text, "iommufd=true"));
    CU_ASSERT_TRUE(has_line(text, "ppcie.capable=true"));
    CU_ASSERT_TRUE(has_line(text, "multi-gpu.capable=false"));
    CU_ASSERT_TRUE(has_line(text, "mode=ppcie"));
    free(text);
    inventory_unref(inv);
    inv = topo_fixture_inventory("hgx-b200", INV_MODE_MULTI);
    CU_ASSERT_EQUAL_FATAL(nfd_labels_render(inv, &text), 0);
    CU_ASSERT_TRUE(has_line(text, "gpu.2901.family=blackwell"));
    CU_ASSERT_TRUE(has_line(text, "multi-gpu.capable=true"));
    CU_ASSERT_TRUE(has_line(text, "ppcie.capable=false"));
    CU_ASSERT_TRUE(has_line(text, "nvswitch.count=0"));
    CU_ASSERT_TRUE(has_line(text, "mode=multi"));
    free(text);
    inventory_unref(inv);
    /* several models: no node-wide model label, one family label per model */
    inv = topo_fixture_inventory("mixed", INV_MODE_PASSTHROUGH);
    CU_ASSERT_EQUAL_FATAL(nfd_labels_render(inv, &text), 0);
    CU_ASSERT_PTR_NULL(strstr(text, "/gpu.model="));
    CU_ASSERT_TRUE(has_line(text, "gpu.26b9.count=3"));
    CU_ASSERT_TRUE(has_line(text, "gpu.2331.family=hopper"));
    CU_ASSERT_TRUE(has_line(text, "iommufd=true"));
    free(text);
    inventory_unref(inv);
}

static size_t
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void
test_writer(void)
{
    struct inventory *a = topo_fixture_inventory("hgx-h100-iommufd", INV_MODE_PASSTHROUGH);
    struct inventory *b = topo_fixture_inventory("hgx-b200", INV_MODE_PASSTHROUGH);
    char dir[] = "/tmp/kgdp-nfd-XXXXXX", path[64];
    const time_t t0 = 1700000000; /* 2023-11-14T22:13:20Z */
    struct plugin_nfd n;
    struct stat st1, st2;
    char *text;
    size_t lines = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, NFD_FILE_NAME);
    CU_ASSERT_EQUAL_FATAL(plugin_nfd_init(&n, dir, 60), 0);
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, a, t0), 0);
    text = ttext_read_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    check_lines(text, true, &lines);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# +expiry-time=2023-11-14T23:13:20Z\n"));
    free(text);
    CU_ASSERT_EQUAL(stat(path, &st1), 0);
    CU_ASSERT_EQUAL(st1.st_mode & 07777, 0644);
    /* same labels, early in the lifetime: the file is not touched */
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, a, t0 + 1799), 0);
    CU_ASSERT_EQUAL(stat(path, &st2), 0);
    CU_ASSERT_EQUAL(st1.st_ino, st2.st_ino);
    /* half the lifetime gone: a fresh expiry */
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, a, t0 + 1800), 0);
    CU_ASSERT_EQUAL(stat(path, &st2), 0);
    CU_ASSERT_NOT_EQUAL(st1.st_ino, st2.st_ino);
    text = ttext_read_file(path);
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "# +expiry-time=2023-11-14T23:43:20Z\n"));
    free(text);
    /* other labels: rewritten at once */
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, b, t0 + 1801), 0);
    text = ttext_read_file(path);
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "gpu.2901.count=8\n"));
    free(text);
    CU_ASSERT_EQUAL(count_entries(dir), 1); /* no temp files left behind */
    plugin_nfd_close(&n);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_entries(dir), 0);
    tproc_rm_tree(dir);
    inventory_unref(a);
    inventory_unref(b);
}

static void
test_writer_missing_dir(void)
{
    struct inventory *a = topo_fixture_inventory("hgx-b200", INV_MODE_PASSTHROUGH);
    char dir[] = "/tmp/kgdp-nfd-XXXXXX", sub[64], path[96];
    struct plugin_nfd n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/features.d", dir);
    snprintf(path, sizeof(path), "%s/%s", sub, NFD_FILE_NAME);
    CU_ASSERT_EQUAL_FATAL(plugin_nfd_init(&n, sub, 0), 0);
    CU_ASSERT_EQUAL(n.ttl, 3600);
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, a, 1000), -ENOENT);
    CU_ASSERT_EQUAL(mkdir(sub, 0755), 0);
    /* the next scan tries again */
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, a, 1001), 0);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    plugin_nfd_close(&n);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    tproc_rm_tree(dir);
    inventory_unref(a);
    /* labels off: nothing to do, nothing written */
    CU_ASSERT_EQUAL(plugin_nfd_init(&n, NULL, 60), 0);
    CU_ASSERT_EQUAL(plugin_nfd_sync(&n, NULL, 1000), 0);
    plugin_nfd_close(&n);
    CU_ASSERT_EQUAL(plugin_nfd_scan_interval(NULL, 0), 0);
    CU_ASSERT_EQUAL(plugin_nfd_scan_interval("/x", 0), NFD_REFRESH_MAX);
    CU_ASSERT_EQUAL(plugin_nfd_scan_interval("/x", 60), 60);
    CU_ASSERT_EQUAL(plugin_nfd_scan_interval("/x", 86400), NFD_REFRESH_MAX);
}

TEST_SUITE(daemon_nfd, NULL, NULL,
           {"every label line of every fixture follows NFD's and Kubernetes' syntax",
            test_labels_fixtures},
           {"label values: counts, families, device IDs, capabilities, mode", test_labels_values},
           {"file: expiry directive, untouched when unchanged, refreshed, removed on close",
            test_writer},
           {"missing features.d: error, retried on the next scan; labels off",
            test_writer_missing_dir})
