#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "test/integration/harness.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* CDI specs of the real daemon ($KGDP_BIN serve) on a fixture host: kept
 * across restarts and SIGTERM, stale ones removed, foreign ones of our
 * kinds reported and only replaced with --cdi-takeover; and the `cdi`
 * command writes exactly what serve writes. */

#define CS_FIXTURE "hgx-h100-iommufd"
#define CS_PGPU "kata-gpu-device-plugin_nvidia.com-pgpu.json"
#define CS_NVSWITCH "kata-gpu-device-plugin_nvidia.com-nvswitch.json"
#define CS_WAIT_MS 15000

static const char *const cs_resources[] = {"nvidia.com/nvswitch", "nvidia.com/pgpu"};

/* Fixture roots: 0, or -ENOENT with the reason printed. */
static int
cs_roots(char **ret_sys, char **ret_dev)
{
    const char *base = getenv("KGDP_FIXTURES");

    if (!base || !*base) {
        fprintf(stderr, "\nKGDP_FIXTURES is not set (run through make)\n");
        return -ENOENT;
    }
    if (asprintf(ret_sys, "%s/%s/sys", base, CS_FIXTURE) < 0 ||
        asprintf(ret_dev, "%s/%s/dev", base, CS_FIXTURE) < 0)
        return -ENOMEM;
    return access(*ret_sys, R_OK) == 0 ? 0 : -ENOENT;
}

static char *
cs_path(const char *dir, const char *name)
{
    char *p = NULL;

    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

/* $KGDP_BIN (under valgrind with KGDP_VALGRIND=1) serve on the fixture,
 * the harness's kubelet and CDI dirs; stderr to log. extra: one more flag or NULL. */
static void
cs_start(struct harness *h, const char *log, const char *extra)
{
    const char *bin = getenv("KGDP_BIN");
    _cleanup_free_ char *sys = NULL, *dev = NULL;

    CU_ASSERT_FATAL(bin && access(bin, X_OK) == 0);
    CU_ASSERT_EQUAL_FATAL(cs_roots(&sys, &dev), 0);
    char *argv[] = {(char *)bin,   "serve",         "--sysfs-root", sys,         "--dev-root",
                    dev,           "--kubelet-dir", h->kubelet_dir, "--cdi-dir", h->cdi_dir,
                    "--log-level", "debug",         (char *)extra,  NULL};
    CU_ASSERT_EQUAL_FATAL(tproc_spawn_daemon(argv, log, NULL, &h->pid), 0);
}

/* Wait until both resources have registered at least count times. */
static void
cs_wait_registered(struct harness *h, unsigned count)
{
    for (size_t i = 0; i < 2; i++) {
        int r =
            ksim_wait_registrations(h->sim, cs_resources[i], count, CS_WAIT_MS * tproc_factor());

        if (r < 0)
            fprintf(stderr, "\n%s: registration %u not seen: %s\n", cs_resources[i], count,
                    strerror(-r));
        CU_ASSERT_EQUAL_FATAL(r, 0);
    }
}

static void
cs_stop(struct harness *h)
{
    int status = -1;

    CU_ASSERT_EQUAL_FATAL(tproc_stop(&h->pid, SIGTERM, 5000 * tproc_factor(), &status), 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static char *
cs_slurp(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0;
    FILE *m;
    char chunk[4096];
    size_t n;

    if (!f)
        return NULL;
    m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    return buf;
}

/* Does the log at path hold a line with every one of the words? */
static bool
cs_log_has(const char *path, const char *a, const char *b)
{
    _cleanup_free_ char *text = cs_slurp(path);

    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');

        if (nl)
            *nl = '\0';
        if (strstr(line, a) && (!b || strstr(line, b)))
            return true;
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static void
cs_init(struct harness *h, char **ret_log2)
{
    CU_ASSERT_EQUAL_FATAL(harness_init(h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_start_sim(h), 0);
    *ret_log2 = cs_path(h->root, "daemon2.log");
}

static void
cs_fini(struct harness *h, char *log2)
{
    unsigned failed = CU_get_number_of_failures() != h->failures_at_start;

    if (failed)
        harness_dump("second daemon stderr", log2);
    unlink(log2);
    free(log2);
    harness_fini(h);
}

/* Wait until dir/name exists. */
static void
cs_wait_file(const char *dir, const char *name)
{
    _cleanup_free_ char *p = cs_path(dir, name);
    long end = tproc_now_ms() + CS_WAIT_MS * tproc_factor();

    while (access(p, F_OK) != 0 && tproc_now_ms() < end)
        usleep(10000);
    if (access(p, F_OK) != 0)
        fprintf(stderr, "\n%s did not appear\n", p);
    CU_ASSERT_EQUAL_FATAL(access(p, F_OK), 0);
}

static void
cs_write(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *p = cs_path(dir, name);
    _cleanup_fclose_ FILE *f = fopen(p, "we");

    CU_ASSERT_FATAL(f && fputs(text, f) >= 0 && fflush(f) == 0);
}

static bool
cs_exists(const char *dir, const char *name)
{
    _cleanup_free_ char *p = cs_path(dir, name);

    return access(p, F_OK) == 0;
}

/* Entries of dir, without . and .. */
static int
cs_count(const char *dir)
{
    _cleanup_dir_ DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    return d ? n : -1;
}

static void
test_restart_keeps_specs(void)
{
    static const char *const files[] = {CS_NVSWITCH, CS_PGPU};
    struct harness h;
    struct stat before[2], after[2];
    char *text[2] = {0}, *log2;

    cs_init(&h, &log2);
    cs_start(&h, h.log, NULL);
    cs_wait_registered(&h, 1);
    for (size_t i = 0; i < 2; i++)
        cs_wait_file(h.cdi_dir, files[i]);
    cs_stop(&h);
    /* SIGTERM leaves the specs in place: pods still start meanwhile. */
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *p = cs_path(h.cdi_dir, files[i]);

        CU_ASSERT_EQUAL_FATAL(stat(p, &before[i]), 0);
        text[i] = cs_slurp(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text[i]);
    }
    CU_ASSERT(cs_log_has(h.log, "event=cdi_written", CS_PGPU));
    usleep(50000); /* a rewrite would now get a later mtime */
    cs_start(&h, log2, NULL);
    cs_wait_registered(&h, 2);
    cs_stop(&h);
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *p = cs_path(h.cdi_dir, files[i]);
        _cleanup_free_ char *now = NULL;

        CU_ASSERT_EQUAL_FATAL(stat(p, &after[i]), 0);
        CU_ASSERT_EQUAL(after[i].st_ino, before[i].st_ino);
        CU_ASSERT_EQUAL(after[i].st_mtim.tv_sec, before[i].st_mtim.tv_sec);
        CU_ASSERT_EQUAL(after[i].st_mtim.tv_nsec, before[i].st_mtim.tv_nsec);
        now = cs_slurp(p);
        CU_ASSERT(now && strcmp(now, text[i]) == 0);
        free(text[i]);
    }
    CU_ASSERT_FALSE(cs_log_has(log2, "event=cdi_written", NULL));
    CU_ASSERT_EQUAL(cs_count(h.cdi_dir), 2);
    cs_fini(&h, log2);
}

static void
test_stale_removed(void)
{
    static const char stale[] = "kata-gpu-device-plugin_nvidia.com-oldgpu.json";
    static const char temp[] = ".kata-gpu-device-plugin_nvidia.com-pgpu.json.0123456789abcdef.tmp";
    static const char other[] = "example.com-thing.yaml";
    struct harness h;
    char *log2;

    cs_init(&h, &log2);
    cs_write(
        h.cdi_dir, stale,
        "{\"cdiVersion\": \"0.5.0\", \"kind\": \"nvidia.com/oldgpu\", \"devices\": [{\"name\": "
        "\"0000:99:00.0\", \"containerEdits\": {\"deviceNodes\": [{\"path\": "
        "\"/dev/vfio/devices/vfio9\"}]}}]}\n");
    cs_write(h.cdi_dir, temp, "{\"cdiVersion\": \"0.5.0\", \"kind\": \"nvidia.com/pg");
    cs_write(h.cdi_dir, other, "cdiVersion: 0.5.0\nkind: example.com/thing\ndevices: []\n");
    cs_start(&h, h.log, NULL);
    cs_wait_registered(&h, 1);
    cs_wait_file(h.cdi_dir, CS_PGPU);
    cs_wait_file(h.cdi_dir, CS_NVSWITCH);
    cs_stop(&h);
    CU_ASSERT_FALSE(cs_exists(h.cdi_dir, stale));
    CU_ASSERT_FALSE(cs_exists(h.cdi_dir, temp));
    CU_ASSERT_TRUE(cs_exists(h.cdi_dir, other)); /* not ours, not our kind */
    CU_ASSERT(cs_log_has(h.log, "event=cdi_removed", stale));
    CU_ASSERT_EQUAL(cs_count(h.cdi_dir), 3);
    cs_fini(&h, log2);
}

/* The Go sandbox plugin's spec for our pgpu kind. */
static const char go_plugin_spec[] = "cdiVersion: 0.5.0\n"
                                     "kind: nvidia.com/pgpu\n"
                                     "devices:\n"
                                     "- name: \"0000:18:00.0\"\n"
                                     "  containerEdits:\n"
                                     "    deviceNodes:\n"
                                     "    - path: /dev/vfio/devices/vfio0\n";

static void
test_foreign_conflict(void)
{
    static const char foreign[] = "nvidia.com-pgpu.yaml";
    _cleanup_free_ char *fpath = NULL, *fpath_kv = NULL, *after = NULL;
    struct harness h;
    char *log2;

    cs_init(&h, &log2);
    fpath = cs_path(h.cdi_dir, foreign);
    CU_ASSERT_FATAL(asprintf(&fpath_kv, "path=%s ", fpath) > 0);
    cs_write(h.cdi_dir, foreign, go_plugin_spec);
    cs_start(&h, h.log, NULL);
    cs_wait_registered(&h, 1);
    cs_wait_file(h.cdi_dir, CS_NVSWITCH);
    cs_stop(&h);
    /* Reported with its path; ours yields, the foreign file stays as is. */
    CU_ASSERT(cs_log_has(h.log, "event=cdi_conflict", fpath_kv));
    CU_ASSERT(cs_log_has(h.log, "event=cdi_skipped", "kind=nvidia.com/pgpu"));
    CU_ASSERT_FALSE(cs_exists(h.cdi_dir, CS_PGPU));
    after = cs_slurp(fpath);
    CU_ASSERT(after && strcmp(after, go_plugin_spec) == 0);
    /* --cdi-takeover replaces it. */
    cs_start(&h, log2, "--cdi-takeover");
    cs_wait_registered(&h, 2);
    cs_wait_file(h.cdi_dir, CS_PGPU);
    cs_stop(&h);
    CU_ASSERT_FALSE(cs_exists(h.cdi_dir, foreign));
    CU_ASSERT(cs_log_has(log2, "event=cdi_taken_over", fpath_kv));
    CU_ASSERT_EQUAL(cs_count(h.cdi_dir), 2);
    cs_fini(&h, log2);
}

/* Run argv with stdout to out, stderr to errf; exit status or -1. */
static int
cs_run(char *const *argv, const char *out, const char *errf)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = -1, r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_APPEND, 0644);
    r = posix_spawn(&pid, argv[0], &fa, NULL, argv, NULL);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0 || tproc_wait(pid, 60000 * tproc_factor(), &status) < 0)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        harness_dump("cdi command stderr", errf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `cdi --output X` on the fixture; status. */
static int
cs_cdi_command(const struct harness *h, const char *output, const char *out)
{
    _cleanup_free_ char *sys = NULL, *dev = NULL, *errf = cs_path(h->root, "cdi.err");
    char *argv[] = {getenv("KGDP_BIN"), "cdi", "--sysfs-root", NULL, "--dev-root", NULL, "--output",
                    (char *)output,     NULL};

    CU_ASSERT_EQUAL_FATAL(cs_roots(&sys, &dev), 0);
    argv[3] = sys;
    argv[5] = dev;
    return cs_run(argv, out, errf);
}

/* out is a stream of JSON documents: the spec files in resource order. */
static void
cs_check_stream(const char *out, const char *dir)
{
    static const char *const files[] = {CS_NVSWITCH, CS_PGPU};
    _cleanup_free_ char *text = cs_slurp(out);
    struct json_tokener *tok = json_tokener_new();
    size_t off = 0, len;

    CU_ASSERT_FATAL(text && tok);
    len = strlen(text);
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *p = cs_path(dir, files[i]);
        _cleanup_free_ char *want = cs_slurp(p);
        json_object *o, *kind;
        size_t n;

        /* Byte for byte the file serve wrote, and a JSON document alone. */
        CU_ASSERT_FATAL(want != NULL);
        n = strlen(want);
        CU_ASSERT_FATAL(n <= len - off && memcmp(text + off, want, n) == 0);
        json_tokener_reset(tok);
        o = json_tokener_parse_ex(tok, text + off, (int)n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT_EQUAL(json_tokener_get_parse_end(tok), n);
        CU_ASSERT(json_object_object_get_ex(o, "kind", &kind) &&
                  strcmp(json_object_get_string(kind), cs_resources[i]) == 0);
        json_object_put(o);
        off += n;
    }
    CU_ASSERT_EQUAL(off, len);
    json_tokener_free(tok);
}

static void
test_cdi_command_matches_serve(void)
{
    static const char *const files[] = {CS_NVSWITCH, CS_PGPU};
    _cleanup_free_ char *out = NULL, *dir2 = NULL;
    struct harness h;
    char *log2;

    cs_init(&h, &log2);
    cs_start(&h, h.log, NULL);
    cs_wait_registered(&h, 1);
    cs_wait_file(h.cdi_dir, CS_PGPU);
    cs_wait_file(h.cdi_dir, CS_NVSWITCH);
    cs_stop(&h);
    out = cs_path(h.root, "cdi.out");
    CU_ASSERT_EQUAL_FATAL(cs_cdi_command(&h, "-", out), 0);
    cs_check_stream(out, h.cdi_dir);
    dir2 = cs_path(h.root, "cdi2");
    CU_ASSERT_EQUAL_FATAL(cs_cdi_command(&h, dir2, out), 0);
    CU_ASSERT_EQUAL(cs_count(dir2), 2);
    for (size_t i = 0; i < 2; i++) {
        _cleanup_free_ char *a = cs_path(h.cdi_dir, files[i]), *b = cs_path(dir2, files[i]);
        _cleanup_free_ char *ta = cs_slurp(a), *tb = cs_slurp(b);

        CU_ASSERT(ta && tb && strcmp(ta, tb) == 0);
    }
    cs_fini(&h, log2);
}

TEST_SUITE(cdi_serve, NULL, NULL,
           {"second start with unchanged hardware rewrites nothing", test_restart_keeps_specs},
           {"stale specs of ours removed at start", test_stale_removed},
           {"foreign spec of our kind: conflict, takeover", test_foreign_conflict},
           {"cdi command writes what serve writes", test_cdi_command_matches_serve})
