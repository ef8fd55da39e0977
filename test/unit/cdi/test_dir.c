#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

#define PGPU_FILE "kata-gpu-device-plugin_nvidia.com-pgpu.json"
#define NVSW_FILE "kata-gpu-device-plugin_nvidia.com-nvswitch.json"

static const struct cdi_t_res both[] = {
    {"nvidia.com/nvswitch", {{"0000:05:00.0", {{"/dev/vfio/devices/vfio9", "/dev/vfio/devices/vfio9"}}}}},
    {"nvidia.com/pgpu", {{"0000:18:00.0", {{"/dev/vfio/devices/vfio0", "/dev/vfio/devices/vfio0"}}}}},
};
static const struct cdi_t_res pgpu_changed[] = {
    {"nvidia.com/pgpu", {{"0000:18:00.0", {{"/dev/vfio/devices/vfio3", "/dev/vfio/devices/vfio3"}}}}},
};

static int
stat_at(const char *dir, const char *name, struct stat *st)
{
    _cleanup_free_ char *path = NULL;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return -ENOMEM;
    return stat(path, st) < 0 ? -errno : 0;
}

static int
sync_table(const char *dir, const struct cdi_t_res *t, size_t n, bool takeover,
           struct cdi_report *rep)
{
    struct inventory *inv = cdi_t_inventory(t, n);
    struct topo_error err = TOPO_ERROR_INIT;
    int r;

    CU_ASSERT_FATAL(inv != NULL);
    r = cdi_sync(dir, inv, takeover, rep, &err);
    inventory_unref(inv);
    return r;
}

static void
test_write_mode_no_temp(void)
{
    char *dir = cdi_t_tempdir();
    struct cdi_report rep = {0};
    struct stat st;
    mode_t old = umask(077);

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    umask(old);
    CU_ASSERT_EQUAL(rep.n_written, 2);
    CU_ASSERT_EQUAL(rep.n_unchanged, 0);
    CU_ASSERT_EQUAL(cdi_t_count(dir), 2); /* no temp file left */
    CU_ASSERT_EQUAL_FATAL(stat_at(dir, PGPU_FILE, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
    CU_ASSERT(cdi_t_exists(dir, NVSW_FILE));
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

static void
test_unchanged_keeps_mtime(void)
{
    char *dir = cdi_t_tempdir();
    struct cdi_report rep = {0};
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    _cleanup_free_ char *path = NULL;
    struct stat a, b, c;

    CU_ASSERT_FATAL(dir != NULL && asprintf(&path, "%s/%s", dir, PGPU_FILE) > 0);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    cdi_report_clear(&rep);
    /* Backdate it: any rewrite would give a new mtime (and inode). */
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, old, 0), 0);
    CU_ASSERT_EQUAL(stat(path, &a), 0);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    CU_ASSERT_EQUAL(rep.n_written, 0);
    CU_ASSERT_EQUAL(rep.n_unchanged, 2);
    cdi_report_clear(&rep);
    CU_ASSERT_EQUAL(stat(path, &b), 0);
    CU_ASSERT_EQUAL(b.st_mtim.tv_sec, a.st_mtim.tv_sec);
    CU_ASSERT_EQUAL(b.st_ino, a.st_ino);
    /* Changed content is rewritten (by rename: a new inode). */
    CU_ASSERT_EQUAL(sync_table(dir, pgpu_changed, 1, false, &rep), 0);
    CU_ASSERT_EQUAL(rep.n_written, 1);
    cdi_report_clear(&rep);
    CU_ASSERT_EQUAL(stat(path, &c), 0);
    CU_ASSERT(c.st_mtim.tv_sec != a.st_mtim.tv_sec);
    CU_ASSERT(c.st_ino != a.st_ino);
    cdi_t_rmdir(dir);
}

static void
test_stale_removal(void)
{
    char *dir = cdi_t_tempdir();
    struct cdi_report rep = {0};

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    cdi_report_clear(&rep);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "unrelated.json", "{\"kind\": \"example.com/x\"}\n"), 0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, ".kata-gpu-device-plugin_nvidia.com-pgpu.json.1234.tmp", "{"), 0);
    CU_ASSERT_EQUAL(sync_table(dir, pgpu_changed, 1, false, &rep), 0);
    CU_ASSERT_FALSE(cdi_t_exists(dir, NVSW_FILE));
    CU_ASSERT(cdi_t_exists(dir, PGPU_FILE));
    CU_ASSERT(cdi_t_exists(dir, "unrelated.json"));
    CU_ASSERT_EQUAL(cdi_t_count(dir), 2);
    CU_ASSERT_EQUAL(rep.n_removed, 2);
    CU_ASSERT_EQUAL(rep.n_conflicts, 0);
    cdi_report_clear(&rep);
    /* An empty inventory leaves none of ours. */
    CU_ASSERT_EQUAL(sync_table(dir, NULL, 0, false, &rep), 0);
    CU_ASSERT_EQUAL(cdi_t_count(dir), 1);
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

static void
add_foreign(const char *dir)
{
    CU_ASSERT_EQUAL(cdi_t_write(dir, "nvidia.com-pgpu.yaml",
                                "---\ncdiVersion: 0.5.0\nkind: \"nvidia.com/pgpu\"  # Go plugin\n"
                                "devices:\n- name: \"0000:18:00.0\"\n"),
                    0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "other.json", "{\"cdiVersion\":\"0.5.0\",\"kind\":\"nvidia.com/pgpu\"}"), 0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "nested.yml", "devices:\n  kind: nvidia.com/nvswitch\n"), 0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "mine.json", "{\"kind\":\"example.com/nic\"}"), 0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "notes.txt", "kind: nvidia.com/pgpu\n"), 0);
}

static void
test_conflicts_reported(void)
{
    char *dir = cdi_t_tempdir();
    struct cdi_report rep = {0};

    CU_ASSERT_FATAL(dir != NULL);
    /* Ours first, then a foreign spec of the same kind appears. */
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    cdi_report_clear(&rep);
    add_foreign(dir);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    CU_ASSERT_EQUAL_FATAL(rep.n_conflicts, 2);
    CU_ASSERT(strstr(rep.conflicts[0].path, "/nvidia.com-pgpu.yaml") != NULL);
    CU_ASSERT(strstr(rep.conflicts[1].path, "/other.json") != NULL);
    CU_ASSERT_STRING_EQUAL(rep.conflicts[0].kind, "nvidia.com/pgpu");
    CU_ASSERT(strncmp(rep.conflicts[0].path, dir, strlen(dir)) == 0);
    CU_ASSERT_EQUAL_FATAL(rep.n_skipped, 1);
    CU_ASSERT_STRING_EQUAL(rep.skipped[0], "nvidia.com/pgpu");
    /* Foreign files stay; ours for that kind yields; the other kind stays. */
    CU_ASSERT(cdi_t_exists(dir, "nvidia.com-pgpu.yaml") && cdi_t_exists(dir, "other.json"));
    CU_ASSERT_FALSE(cdi_t_exists(dir, PGPU_FILE));
    CU_ASSERT(cdi_t_exists(dir, NVSW_FILE));
    CU_ASSERT_EQUAL(cdi_t_count(dir), 6);
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

static void
test_takeover(void)
{
    char *dir = cdi_t_tempdir();
    struct cdi_report rep = {0};

    CU_ASSERT_FATAL(dir != NULL);
    add_foreign(dir);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, true, &rep), 0);
    CU_ASSERT_EQUAL(rep.n_conflicts, 2);
    CU_ASSERT_EQUAL(rep.n_skipped, 0);
    CU_ASSERT_EQUAL(rep.n_removed, 2);
    CU_ASSERT_EQUAL(rep.n_written, 2);
    CU_ASSERT_FALSE(cdi_t_exists(dir, "nvidia.com-pgpu.yaml"));
    CU_ASSERT_FALSE(cdi_t_exists(dir, "other.json"));
    CU_ASSERT(cdi_t_exists(dir, "nested.yml") && cdi_t_exists(dir, "mine.json"));
    CU_ASSERT(cdi_t_exists(dir, "notes.txt") && cdi_t_exists(dir, PGPU_FILE));
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

static void
test_errors(void)
{
    char *dir = cdi_t_tempdir();
    _cleanup_free_ char *file = NULL, *sub = NULL;
    _cleanup_close_ int dfd = -1;
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    bool changed = false;

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(asprintf(&file, "%s/plain", dir) > 0 && asprintf(&sub, "%s/plain/cdi", dir) > 0);
    CU_ASSERT_EQUAL(cdi_t_write(dir, "plain", "x"), 0);
    CU_ASSERT(sync_table(sub, both, 2, false, &rep) < 0);
    CU_ASSERT(sync_table(file, both, 2, false, &rep) < 0);
    /* A rename that fails (target is a non-empty directory) leaves no temp. */
    CU_ASSERT_EQUAL(unlink(file), 0);
    CU_ASSERT_EQUAL(mkdir(file, 0755), 0);
    CU_ASSERT_EQUAL(cdi_t_write(file, "x", "x"), 0);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(dfd >= 0);
    CU_ASSERT(topo_atomic_write_at(dfd, "plain", "{}\n", 3, &changed, &err) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "plain"));
    CU_ASSERT_EQUAL(cdi_t_count(dir), 1);
    CU_ASSERT_EQUAL(topo_atomic_write_at(dfd, "../x.json", "{}\n", 3, &changed, &err), -EINVAL);
    CU_ASSERT_EQUAL(topo_atomic_write_at(dfd, ".x.json", "{}\n", 3, &changed, &err), -EINVAL);
    cdi_t_rmdir(strdup(file));
    cdi_t_rmdir(dir);
}

static void
test_our_kinds(void)
{
    char *dir = cdi_t_tempdir();
    _cleanup_free_ char *gone = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    char **kinds = NULL;
    size_t n = 0;

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    add_foreign(dir); /* foreign specs of our kinds are not ours */
    CU_ASSERT_EQUAL(cdi_t_write(dir, CDI_FILE_PREFIX "broken.json", "{"), 0);
    CU_ASSERT_EQUAL_FATAL(cdi_our_kinds(dir, &kinds, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(kinds[0], "nvidia.com/nvswitch");
    CU_ASSERT_STRING_EQUAL(kinds[1], "nvidia.com/pgpu");
    inventory_free_strv(kinds, n);
    CU_ASSERT_FATAL(asprintf(&gone, "%s/absent", dir) > 0);
    CU_ASSERT_EQUAL(cdi_our_kinds(gone, &kinds, &n, &err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, gone));
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

/* A spec that cannot be written (its name taken by a directory) is reported
 * as failed with the reason, and the other spec is still written. */
static void
test_one_spec_fails(void)
{
    char *dir = cdi_t_tempdir();
    _cleanup_free_ char *blocker = NULL;
    struct cdi_report rep = {0};

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_FATAL(asprintf(&blocker, "%s/%s", dir, PGPU_FILE) > 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(blocker, 0755), 0);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    CU_ASSERT_EQUAL(rep.n_written, 1);
    CU_ASSERT(cdi_t_exists(dir, NVSW_FILE));
    CU_ASSERT_EQUAL_FATAL(rep.n_failed, 1);
    CU_ASSERT_STRING_EQUAL(rep.failed[0].kind, "nvidia.com/pgpu");
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.failed[0].error, PGPU_FILE));
    CU_ASSERT_EQUAL(cdi_t_count(dir), 2); /* the blocker and nvswitch; no temp file */
    cdi_report_clear(&rep);
    CU_ASSERT_EQUAL(rmdir(blocker), 0);
    CU_ASSERT_EQUAL(sync_table(dir, both, 2, false, &rep), 0);
    CU_ASSERT_EQUAL(rep.n_failed, 0);
    CU_ASSERT_EQUAL(rep.n_written, 1);
    cdi_report_clear(&rep);
    cdi_t_rmdir(dir);
}

TEST_SUITE(cdi_dir, NULL, NULL, {"our kinds", test_our_kinds},
           {"mode 0644, no temp file left", test_write_mode_no_temp},
           {"unchanged input keeps mtime", test_unchanged_keeps_mtime},
           {"stale specs and temp files removed", test_stale_removal},
           {"conflicts reported, ours yields", test_conflicts_reported},
           {"takeover replaces foreign specs", test_takeover}, {"errors", test_errors},
           {"one spec fails, the other is written", test_one_spec_fails})
