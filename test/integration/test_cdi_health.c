#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/harness.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* Healthy means usable end to end: the real daemon ($KGDP_BIN serve) on a
 * fixture host lists the devices of a resource Unhealthy while its CDI spec
 * cannot be on disk (dir not a directory, read-only, full, file size
 * limit), retries with backoff and recovers by itself; a spec removed or
 * altered by someone else is rewritten on the next rescan; nothing is
 * written before a fatal start error; libgrpc's own lines and kubelet dir
 * errors come in the daemon's key=value log; another stack's GPU is not
 * advertised. */

#define CH_FIXTURE "hgx-h100-iommufd"
#define CH_PGPU "nvidia.com/pgpu"
#define CH_NVSWITCH "nvidia.com/nvswitch"
#define CH_PGPU_SPEC "kata-gpu-device-plugin_nvidia.com-pgpu.json"
#define CH_WAIT_MS 20000

static char *
ch_path(const char *dir, const char *name)
{
    char *p = NULL;

    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

/* $KGDP_BIN serve on fixture with the given kubelet and CDI dirs; one
 * extra flag or NULL. */
static void
ch_spawn_on(struct harness *h, const char *fixture, const char *kubelet_dir, const char *cdi_dir,
            const char *extra)
{
    const char *bin = getenv("KGDP_BIN"), *base = getenv("KGDP_FIXTURES");
    _cleanup_free_ char *sys = NULL, *dev = NULL;

    CU_ASSERT_FATAL(bin && base && access(bin, X_OK) == 0);
    CU_ASSERT_FATAL(asprintf(&sys, "%s/%s/sys", base, fixture) > 0 &&
                    asprintf(&dev, "%s/%s/dev", base, fixture) > 0);
    char *argv[] = {
        (char *)bin,   "serve",         "--sysfs-root",      sys,         "--dev-root",
        dev,           "--kubelet-dir", (char *)kubelet_dir, "--cdi-dir", (char *)cdi_dir,
        "--log-level", "debug",         (char *)extra,       NULL};
    CU_ASSERT_EQUAL_FATAL(tproc_spawn_daemon(argv, h->log, NULL, &h->pid), 0);
}

static void
ch_spawn(struct harness *h, const char *kubelet_dir, const char *cdi_dir, const char *extra)
{
    ch_spawn_on(h, CH_FIXTURE, kubelet_dir, cdi_dir, extra);
}

static void
ch_start(struct harness *h, const char *cdi_dir)
{
    CU_ASSERT_EQUAL_FATAL(harness_start_sim(h), 0);
    ch_spawn(h, h->kubelet_dir, cdi_dir, NULL);
    CU_ASSERT_EQUAL_FATAL(ksim_wait_registered(h->sim, CH_PGPU, CH_WAIT_MS * tproc_factor()), 0);
    CU_ASSERT_EQUAL_FATAL(ksim_wait_lists(h->sim, CH_PGPU, 1, CH_WAIT_MS * tproc_factor()), 0);
}

/* Healthy devices in the last list of resource, or -1 without a list. */
static int
ch_healthy(struct harness *h, const char *resource)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    int n = 0;

    if (ksim_last_list(h->sim, resource, &list, NULL) < 0)
        return -1;
    for (size_t i = 0; i < list->n_devices; i++)
        n += strcmp(list->devices[i]->health, "Healthy") == 0;
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return n;
}

/* Wait until resource lists healthy devices (want) or none (!want). */
static bool
ch_wait_health(struct harness *h, const char *resource, bool want)
{
    long end = tproc_now_ms() + CH_WAIT_MS * tproc_factor();
    int n;

    while ((n = ch_healthy(h, resource)), (want ? n <= 0 : n != 0) && tproc_now_ms() < end)
        usleep(20000);
    if (want ? n <= 0 : n != 0)
        fprintf(stderr, "\n%s: %d healthy devices, wanted %s\n", resource, n,
                want ? "some" : "none");
    return want ? n > 0 : n == 0;
}

static bool
ch_log_has(const struct harness *h, const char *a, const char *b)
{
    _cleanup_fclose_ FILE *f = fopen(h->log, "re");
    char line[4096];

    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, a) && (!b || strstr(line, b)))
            return true;
    return false;
}

static void
ch_stop(struct harness *h)
{
    int status = -1;

    CU_ASSERT_EQUAL(tproc_stop(&h->pid, SIGTERM, 5000 * tproc_factor(), &status), 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The CDI dir is a regular file: every device Unhealthy, the reason in the
 * log; once the file is gone the daemon creates the dir, writes the specs
 * and lists the devices Healthy, without a restart or a signal. */
static void
test_not_a_directory(void)
{
    struct harness h;
    _cleanup_free_ char *cdi = NULL, *spec = NULL;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    cdi = ch_path(h.root, "cdi-file");
    spec = ch_path(cdi, CH_PGPU_SPEC);
    CU_ASSERT_EQUAL_FATAL(close(open(cdi, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
    ch_start(&h, cdi);
    CU_ASSERT_EQUAL(ch_healthy(&h, CH_PGPU), 0);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_NVSWITCH, false));
    CU_ASSERT_TRUE(ch_log_has(&h, "event=cdi_failed", "Not a directory"));
    CU_ASSERT_EQUAL(unlink(cdi), 0);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_PGPU, true));
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_NVSWITCH, true));
    CU_ASSERT_EQUAL(access(spec, F_OK), 0);
    ch_stop(&h);
    harness_fini(&h);
}

static void
ch_set_fsize(pid_t pid, rlim_t limit)
{
    struct rlimit rl = {limit, limit};

    /* the hard limit cannot be raised again: keep it */
    rl.rlim_max = RLIM_INFINITY;
    CU_ASSERT_EQUAL(prlimit(pid, RLIMIT_FSIZE, &rl, NULL), 0);
}

/* A spec removed by someone else is rewritten on the next rescan; while it
 * cannot be (the daemon's file size limit is below the spec's size) only
 * its resource turns Unhealthy, until the limit is lifted; an altered spec
 * is rewritten too. */
static void
test_file_size_limit(void)
{
    struct harness h;
    _cleanup_free_ char *spec = NULL, *before = NULL, *after = NULL;
    size_t len = 0;
    FILE *f;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    spec = ch_path(h.cdi_dir, CH_PGPU_SPEC);
    ch_start(&h, h.cdi_dir);
    CU_ASSERT_TRUE_FATAL(ch_wait_health(&h, CH_PGPU, true));
    ch_set_fsize(h.pid, 64); /* first: the CDI dir watch may rescan at once */
    CU_ASSERT_EQUAL(unlink(spec), 0);
    CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_PGPU, false));
    CU_ASSERT_TRUE(ch_healthy(&h, CH_NVSWITCH) > 0); /* its spec is in place */
    /* (the limit holds for the daemon's log file too: no log check here) */
    ch_set_fsize(h.pid, RLIM_INFINITY);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_PGPU, true));
    CU_ASSERT_EQUAL(access(spec, F_OK), 0);
    /* altered: rewritten with the same bytes on the next rescan */
    f = fopen(spec, "re");
    CU_ASSERT_FATAL(f && getdelim(&before, &len, '\0', f) > 0);
    fclose(f);
    f = fopen(spec, "we");
    CU_ASSERT_FATAL(f && fputs("{\"cdiVersion\": \"0.5.0\"}\n", f) >= 0);
    fclose(f);
    CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
    for (long end = tproc_now_ms() + CH_WAIT_MS * tproc_factor(); tproc_now_ms() < end;) {
        f = fopen(spec, "re");
        free(after);
        after = NULL;
        len = 0;
        if (f && getdelim(&after, &len, '\0', f) > 0 && strcmp(after, before) == 0) {
            fclose(f);
            break;
        }
        if (f)
            fclose(f);
        usleep(20000);
    }
    CU_ASSERT_PTR_NOT_NULL(after);
    if (after)
        CU_ASSERT_STRING_EQUAL(after, before);
    ch_stop(&h);
    harness_fini(&h);
}

/* Mounts need root (CI runs as root); elsewhere the test says why it
 * does not run. They are made in a mount namespace of this test process
 * (and the daemons it starts), so that none outlives it, even when a test
 * stops half-way. */
static bool
ch_can_mount(void)
{
    static int ready; /* 0: not tried, 1: yes, -1: no */

    if (geteuid() != 0) {
        fprintf(stderr, "\nnot root: read-only and full file systems are not tested here\n");
        return false;
    }
    if (!ready)
        /* a type, though the kernel ignores it here: valgrind checks the pointer */
        ready = unshare(CLONE_NEWNS) == 0 && mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0
                    ? 1
                    : -1;
    if (ready < 0)
        fprintf(stderr, "\nno private mount namespace: %s\n", strerror(errno));
    CU_ASSERT_EQUAL(ready, 1);
    return ready > 0;
}

/* A small tmpfs at dir. */
static int
ch_mount_tmpfs(const char *dir, unsigned long flags)
{
    return mount("kgdp-test", dir, "tmpfs", flags, "size=64k,mode=0755") < 0 ? -errno : 0;
}

/* The CDI dir on a read-only file system, then on one that is full: the
 * devices stay Unhealthy with the reason logged, and turn Healthy on their
 * own once the file system is writable, then has room. */
static void
test_read_only_and_full(void)
{
    struct harness h;
    _cleanup_free_ char *filler = NULL, *spec = NULL;
    _cleanup_fclose_ FILE *f = NULL;
    static char page[4096];

    if (!ch_can_mount())
        return;
    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    filler = ch_path(h.cdi_dir, "filler");
    spec = ch_path(h.cdi_dir, CH_PGPU_SPEC);
    CU_ASSERT_EQUAL_FATAL(ch_mount_tmpfs(h.cdi_dir, MS_RDONLY), 0);
    ch_start(&h, h.cdi_dir);
    CU_ASSERT_EQUAL(ch_healthy(&h, CH_PGPU), 0);
    CU_ASSERT_TRUE(ch_log_has(&h, "event=cdi_failed", "Read-only file system"));
    /* writable but full */
    CU_ASSERT_EQUAL(mount("kgdp-test", h.cdi_dir, "tmpfs", MS_REMOUNT, "size=64k"), 0);
    f = fopen(filler, "we");
    CU_ASSERT_PTR_NOT_NULL(f);
    while (f && fwrite(page, 1, sizeof(page), f) == sizeof(page) && fflush(f) == 0)
        ;
    if (f)
        fclose(TAKE_PTR(f)); /* an open file keeps its space */
    CU_ASSERT_EQUAL(access(spec, F_OK), -1);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_PGPU, false));
    for (long end = tproc_now_ms() + CH_WAIT_MS * tproc_factor();
         !ch_log_has(&h, "event=cdi_failed", "No space left on device") && tproc_now_ms() < end;)
        usleep(50000);
    CU_ASSERT_TRUE(ch_log_has(&h, "event=cdi_failed", "No space left on device"));
    CU_ASSERT_EQUAL(unlink(filler), 0);
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_PGPU, true));
    CU_ASSERT_TRUE(ch_wait_health(&h, CH_NVSWITCH, true));
    CU_ASSERT_EQUAL(access(spec, F_OK), 0);
    ch_stop(&h);
    CU_ASSERT_EQUAL(umount2(h.cdi_dir, MNT_DETACH), 0);
    harness_fini(&h);
}

/* A fatal start error (kubelet dir not a directory, read-only, missing;
 * bad flags) writes no CDI file, and the log names what is wrong. */
static void
test_fatal_start_writes_nothing(void)
{
    static const struct {
        const char *kubelet; /* under the root; "file": a regular file */
        const char *extra;
        int exit;
        const char *msg;
    } cases[] = {
        {"file", NULL, 1, "is not a directory"},
        {"missing", NULL, 1, "No such file or directory"},
        {"kubelet", "--mode=bogus", 2, NULL},
        {"ro", NULL, 1, "is on a read-only file system"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct harness h;
        _cleanup_free_ char *kd = NULL, *cdi = NULL;
        int status = -1;

        if (strcmp(cases[i].kubelet, "ro") == 0 && !ch_can_mount())
            continue;
        CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
        kd = ch_path(h.root, cases[i].kubelet);
        cdi = ch_path(h.root, "cdi-new");
        if (strcmp(cases[i].kubelet, "file") == 0)
            CU_ASSERT_EQUAL(close(open(kd, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        if (strcmp(cases[i].kubelet, "ro") == 0)
            CU_ASSERT(mkdir(kd, 0755) == 0 && ch_mount_tmpfs(kd, MS_RDONLY) == 0);
        ch_spawn(&h, kd, cdi, cases[i].extra);
        CU_ASSERT_EQUAL(tproc_wait(h.pid, 10000 * tproc_factor(), &status), 0);
        h.pid = 0;
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == cases[i].exit);
        CU_ASSERT_EQUAL(access(cdi, F_OK), -1);
        if (cases[i].msg)
            CU_ASSERT_TRUE(ch_log_has(&h, "event=serve_failed", cases[i].msg));
        CU_ASSERT_FALSE(ch_log_has(&h, "Cannot assign requested address", NULL));
        if (strcmp(cases[i].kubelet, "ro") == 0)
            umount2(kd, MNT_DETACH);
        harness_fini(&h);
    }
}

/* libgrpc's own error (a socket path taken by a directory, which it cannot
 * unlink) arrives as event=grpc in the key=value log: every line of the
 * daemon's stderr is one of ours. */
static void
test_grpc_log(void)
{
    struct harness h;
    _cleanup_free_ char *blocker = NULL;
    _cleanup_fclose_ FILE *f = NULL;
    char line[4096];
    int status = -1, lines = 0;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    blocker = ch_path(h.kubelet_dir, "kgdp-pgpu.sock");
    CU_ASSERT_EQUAL_FATAL(mkdir(blocker, 0755), 0);
    ch_spawn(&h, h.kubelet_dir, h.cdi_dir, NULL);
    CU_ASSERT_EQUAL(tproc_wait(h.pid, 10000 * tproc_factor(), &status), 0);
    h.pid = 0;
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    /* The daemon binds its sockets itself (plugin/grpc/listener.c): the
     * failure is its own line, naming the socket. */
    CU_ASSERT_TRUE(ch_log_has(&h, "level=error event=serve_failed", "kgdp-pgpu.sock"));
    f = fopen(h.log, "re");
    while (f && fgets(line, sizeof(line), f)) {
        lines++;
        if (strncmp(line, "ts=", 3) != 0 && strncmp(line, "==", 2) != 0) /* valgrind's own */
            fprintf(stderr, "\nnot a key=value line: %s", line);
        CU_ASSERT(strncmp(line, "ts=", 3) == 0 || strncmp(line, "==", 2) == 0);
    }
    CU_ASSERT(lines > 0);
    harness_fini(&h);
}

/* Lines of the log holding both words. */
static int
ch_log_count(const struct harness *h, const char *a, const char *b)
{
    _cleanup_fclose_ FILE *f = fopen(h->log, "re");
    char line[4096];
    int n = 0;

    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, a) && strstr(line, b);
    return n;
}

/* Count only ours, on the mixed host: the GPU on the nvidia driver is not
 * advertised and the log says so once (not again on each rescan); the one
 * without a driver is listed Unhealthy. */
static void
test_another_stacks_gpu(void)
{
    struct harness h;
    V1beta1__ListAndWatchResponse *list = NULL;
    bool listed = false, waiting = false;
    long end;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_start_sim(&h), 0);
    ch_spawn_on(&h, "mixed", h.kubelet_dir, h.cdi_dir, NULL);
    CU_ASSERT_EQUAL_FATAL(ksim_wait_lists(h.sim, CH_PGPU, 1, CH_WAIT_MS * tproc_factor()), 0);
    CU_ASSERT_EQUAL_FATAL(ksim_last_list(h.sim, CH_PGPU, &list, NULL), 0);
    for (size_t i = 0; i < list->n_devices; i++) {
        listed |= strcmp(list->devices[i]->id, "0000:31:00.0") == 0;
        waiting |= strcmp(list->devices[i]->id, "0000:f1:00.0") == 0 &&
                   strcmp(list->devices[i]->health, "Unhealthy") == 0;
    }
    protobuf_c_message_free_unpacked(&list->base, NULL);
    CU_ASSERT_FALSE(listed);
    CU_ASSERT_TRUE(waiting);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(kill(h.pid, SIGHUP), 0);
        end = tproc_now_ms() + CH_WAIT_MS * tproc_factor();
        while (ch_log_count(&h, "event=rescan", "reason=sighup") <= i && tproc_now_ms() < end)
            usleep(20000);
    }
    CU_ASSERT_EQUAL(ch_log_count(&h, "event=rescan", "reason=sighup"), 2);
    CU_ASSERT_EQUAL(ch_log_count(&h, "event=not_advertised", "id=0000:31:00.0 driver=nvidia"), 1);
    ch_stop(&h);
    harness_fini(&h);
}

/* Wait until path holds exactly want (NULL: exists). */
static bool
ch_wait_content(const char *path, const char *want)
{
    long end = tproc_now_ms() + CH_WAIT_MS * tproc_factor();

    for (;;) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (f && (!want || (getdelim(&text, &len, '\0', f) > 0 && strcmp(text, want) == 0)))
            return true;
        if (tproc_now_ms() >= end)
            return false;
        usleep(20000);
    }
}

/* Without any signal and long before the periodic rescan (60 s), a spec
 * that someone else removes or alters is rewritten: the daemon watches the
 * CDI dir. Its own writes do not keep it rescanning. */
static void
test_rewritten_at_once(void)
{
    struct harness h;
    _cleanup_free_ char *spec = NULL, *before = NULL;
    _cleanup_fclose_ FILE *f = NULL;
    size_t len = 0;
    int rescans;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    spec = ch_path(h.cdi_dir, CH_PGPU_SPEC);
    ch_start(&h, h.cdi_dir);
    f = fopen(spec, "re");
    CU_ASSERT_FATAL(f && getdelim(&before, &len, '\0', f) > 0);
    CU_ASSERT_EQUAL(unlink(spec), 0);
    CU_ASSERT_TRUE(ch_wait_content(spec, before));
    fclose(TAKE_PTR(f));
    f = fopen(spec, "we");
    CU_ASSERT_FATAL(f && fputs("{}\n", f) >= 0);
    fclose(TAKE_PTR(f));
    CU_ASSERT_TRUE(ch_wait_content(spec, before));
    usleep(500000);
    rescans = ch_log_count(&h, "event=rescan", "reason=");
    usleep(1500000);
    CU_ASSERT_EQUAL(ch_log_count(&h, "event=rescan", "reason="), rescans);
    CU_ASSERT_TRUE(ch_healthy(&h, CH_PGPU) > 0);
    ch_stop(&h);
    harness_fini(&h);
}

TEST_SUITE(cdi_health, NULL, NULL, {"CDI dir not a directory, then fixed", test_not_a_directory},
           {"file size limit; spec removed and altered", test_file_size_limit},
           {"read-only, then full, then room", test_read_only_and_full},
           {"fatal start writes no CDI file", test_fatal_start_writes_nothing},
           {"libgrpc lines in the key=value log", test_grpc_log},
           {"another stack's GPU is not advertised", test_another_stacks_gpu},
           {"a removed or altered spec is rewritten at once", test_rewritten_at_once})
