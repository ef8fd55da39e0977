#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/fixture.h"
#include "test/support/suite.h"

/* The real binary ($KGDP_BIN serve) on a generated fixture host
 * ($KGDP_FIXTURES/<name>/{sys,dev}), with a temp kubelet dir and CDI dir,
 * against the C kubelet simulator and the grpc-go peer; and its handling
 * of the config file. */

#define PGPU "nvidia.com/pgpu"
#define NVSW "nvidia.com/nvswitch"
#define H100 "hgx-h100-iommufd"
#define MAX_ARGS 32

static const char *const h100_gpus[] = {"0000:0a:00.0", "0000:11:00.0", "0000:18:00.0",
                                        "0000:69:00.0", "0000:9d:00.0", "0000:ad:00.0",
                                        "0000:bd:00.0", "0000:dd:00.0"};
static const char *const h100_switches[] = {"0000:1c:00.0", "0000:1d:00.0", "0000:1e:00.0",
                                            "0000:1f:00.0"};

/* <fixtures>/<name>/<sub>; caller frees. */
static char *
fixture_path(const char *name, const char *sub)
{
    const char *base = getenv("KGDP_FIXTURES");
    char *p = NULL;

    if (!base || asprintf(&p, "%s/%s/%s", base, name, sub) < 0)
        return NULL;
    return p;
}

/* Spawn $KGDP_BIN (under valgrind when KGDP_VALGRIND=1) with args, output
 * to log. 0 and *ret_pid, or -errno. */
static int
spawn_bin(char *const *args, const char *log, pid_t *ret_pid)
{
    const char *bin = getenv("KGDP_BIN");
    char *argv[MAX_ARGS + 2];
    size_t n = 0;

    if (!bin || access(bin, X_OK) < 0) {
        fprintf(stderr, "KGDP_BIN is not set to an executable (run through make)\n");
        return -ENOENT;
    }
    argv[n++] = (char *)bin;
    for (size_t i = 0; args[i] && i < MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tproc_spawn_daemon(argv, log, NULL, ret_pid);
}

/* serve on fixture name with the harness's kubelet and CDI dirs, plus
 * extra flags (NULL-terminated, may be NULL). 0 or -errno. */
static int
spawn_real(struct harness *h, const char *name, char *const *extra)
{
    char *sys = fixture_path(name, "sys"), *dev = fixture_path(name, "dev");
    char *args[MAX_ARGS] = {"serve", "--sysfs-root", sys, "--dev-root", dev, "--kubelet-dir",
                            h->kubelet_dir, "--cdi-dir", h->cdi_dir, "--log-level", "debug"};
    size_t n = 11;
    int r;

    for (size_t i = 0; extra && extra[i] && n + 1 < MAX_ARGS; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    r = sys && dev ? spawn_bin(args, h->log, &h->pid) : -ENOMEM;
    free(sys);
    free(dev);
    return r;
}

/* Temp tree, simulator, the real daemon; wait for every resource in want
 * to register and list. 0 or -errno. */
static int
start_real(struct harness *h, const char *name, char *const *extra, const char *const *want,
           size_t n_want)
{
    int ready_ms = FIX_READY_MS * tproc_factor(), r;

    if ((r = harness_init(h)) < 0 || (r = harness_start_sim(h)) < 0 ||
        (r = spawn_real(h, name, extra)) < 0) {
        fprintf(stderr, "real daemon: setup failed: %s\n", strerror(-r));
        return r;
    }
    for (size_t i = 0; i < n_want; i++) {
        r = ksim_wait_registered(h->sim, want[i], ready_ms);
        if (r == 0)
            r = ksim_wait_lists(h->sim, want[i], 1, ready_ms);
        if (r < 0) {
            fprintf(stderr, "real daemon: %s not registered/listed: %s\n", want[i],
                    strerror(-r));
            return r;
        }
    }
    return 0;
}

static void
check_list(struct ksim *sim, const char *res, const char *const *ids, size_t n, int numa_split)
{
    V1beta1__ListAndWatchResponse *list = NULL;

    CU_ASSERT_EQUAL_FATAL(ksim_last_list(sim, res, &list, NULL), 0);
    CU_ASSERT_EQUAL(list->n_devices, n);
    for (size_t i = 0; i < list->n_devices && i < n; i++) {
        const V1beta1__Device *d = list->devices[i];
        bool found = false;

        for (size_t j = 0; j < n; j++)
            found |= strcmp(d->id, ids[j]) == 0;
        CU_ASSERT_TRUE(found);
        CU_ASSERT_STRING_EQUAL(d->health, "Healthy");
        CU_ASSERT_PTR_NOT_NULL_FATAL(d->topology);
        CU_ASSERT_EQUAL_FATAL(d->topology->n_nodes, 1);
        /* GPUs before 0000:9d are on NUMA node 0, the rest on 1 */
        CU_ASSERT_EQUAL(d->topology->nodes[0]->id, (int)i < numa_split ? 0 : 1);
    }
    protobuf_c_message_free_unpacked(&list->base, NULL);
}

/* Allocate ids and check specs (vfioN in cdevs order, host paths under the
 * fixture dev root), CDI names and env. */
static void
check_allocate(struct harness *h, const char *res, const char *const *ids, size_t n,
               const int *cdevs, const char *env_key, const char *env_want)
{
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    char *msg = NULL, *dev = fixture_path(H100, "dev");
    const V1beta1__ContainerAllocateResponse *c;

    CU_ASSERT_EQUAL_FATAL(ksim_allocate(h->sim, res, ids, n, &resp, &st, &msg), 0);
    if (st != GRPC_STATUS_OK)
        fprintf(stderr, "\nAllocate %s: status %d %s\n", res, st, msg ? msg : "");
    CU_ASSERT_EQUAL_FATAL(st, GRPC_STATUS_OK);
    CU_ASSERT_EQUAL_FATAL(resp->n_container_responses, 1);
    c = resp->container_responses[0];
    CU_ASSERT_EQUAL(c->n_devices, n);
    /* one spec per cdev, in any order (the daemon sorts them by path) */
    for (size_t k = 0; k < n; k++) {
        char want[64], *host = NULL;
        size_t hits = 0;

        snprintf(want, sizeof(want), "/dev/vfio/devices/vfio%d", cdevs[k]);
        CU_ASSERT_FATAL(asprintf(&host, "%s/vfio/devices/vfio%d", dev, cdevs[k]) > 0);
        for (size_t i = 0; i < c->n_devices; i++) {
            if (strcmp(c->devices[i]->container_path, want) != 0)
                continue;
            hits++;
            CU_ASSERT_STRING_EQUAL(c->devices[i]->host_path, host);
            CU_ASSERT_PTR_NOT_NULL(strchr(c->devices[i]->permissions, 'r'));
            CU_ASSERT_PTR_NOT_NULL(strchr(c->devices[i]->permissions, 'w'));
        }
        if (hits != 1)
            fprintf(stderr, "\nAllocate %s: %zu specs for %s\n", res, hits, want);
        CU_ASSERT_EQUAL(hits, 1);
        free(host);
    }
    CU_ASSERT_EQUAL(c->n_cdi_devices, n);
    for (size_t i = 0; i < c->n_cdi_devices && i < n; i++) {
        char want[96];

        snprintf(want, sizeof(want), "%s=%s", res, ids[i]);
        CU_ASSERT_STRING_EQUAL(c->cdi_devices[i]->name, want);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_env_value(c, env_key));
    CU_ASSERT_STRING_EQUAL(harness_env_value(c, env_key), env_want);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
    free(dev);
}

static bool
file_exists(const char *dir, const char *name)
{
    struct stat st;
    char *p = NULL;
    bool r;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return false;
    r = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return r;
}

static void
test_h100_two_resources(void)
{
    const char *const want[] = {PGPU, NVSW};
    const char *const pair[] = {"0000:0a:00.0", "0000:11:00.0"};
    const int pair_cdevs[] = {0, 1}, switch_cdevs[] = {3, 4, 5, 6};
    V1beta1__PreferredAllocationResponse *pref = NULL;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    struct harness h;
    char **names = NULL, *msg = NULL;
    int n;

    CU_ASSERT_EQUAL_FATAL(start_real(&h, H100, NULL, want, 2), 0);
    /* one process serves both resources */
    n = ksim_registered(h.sim, &names);
    CU_ASSERT_EQUAL(n, 2);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    CU_ASSERT_EQUAL(kill(h.pid, 0), 0);
    check_list(h.sim, PGPU, h100_gpus, 8, 4);
    check_list(h.sim, NVSW, h100_switches, 4, 4);
    /* preferred 2 of 8: the pair under one PCIe switch */
    CU_ASSERT_EQUAL_FATAL(
        ksim_preferred(h.sim, PGPU, h100_gpus, 8, NULL, 0, 2, &pref, &st, &msg), 0);
    free(msg);
    CU_ASSERT_EQUAL_FATAL(st, GRPC_STATUS_OK);
    CU_ASSERT_EQUAL_FATAL(pref->n_container_responses, 1);
    CU_ASSERT_EQUAL_FATAL(pref->container_responses[0]->n_deviceids, 2);
    CU_ASSERT_STRING_EQUAL(pref->container_responses[0]->deviceids[0], "0000:0a:00.0");
    CU_ASSERT_STRING_EQUAL(pref->container_responses[0]->deviceids[1], "0000:11:00.0");
    protobuf_c_message_free_unpacked(&pref->base, NULL);
    check_allocate(&h, PGPU, pair, 2, pair_cdevs, "PCI_RESOURCE_NVIDIA_COM_PGPU",
                   "0000:0a:00.0,0000:11:00.0");
    check_allocate(&h, NVSW, h100_switches, 4, switch_cdevs, "PCI_RESOURCE_NVIDIA_COM_NVSWITCH",
                   "0000:1c:00.0,0000:1d:00.0,0000:1e:00.0,0000:1f:00.0");
    /* the CDI specs that the names resolve through */
    CU_ASSERT_TRUE(file_exists(h.cdi_dir, "kata-gpu-device-plugin_nvidia.com-pgpu.json"));
    CU_ASSERT_TRUE(file_exists(h.cdi_dir, "kata-gpu-device-plugin_nvidia.com-nvswitch.json"));
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_ppcie(void)
{
    const char *const want[] = {PGPU, NVSW};
    const int gpu_cdevs[] = {0, 1, 2, 7, 8, 9, 10, 11}, switch_cdevs[] = {3, 4, 5, 6};
    V1beta1__PreferredAllocationResponse *pref = NULL;
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(start_real(&h, H100, (char *[]){"--mode", "ppcie", NULL}, want, 2), 0);
    CU_ASSERT_EQUAL_FATAL(ksim_allocate(h.sim, PGPU, h100_gpus, 2, NULL, &st, &msg), 0);
    CU_ASSERT_EQUAL(st, GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "ppcie mode"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "request all 8 GPUs"));
    free(msg);
    msg = NULL;
    CU_ASSERT_EQUAL_FATAL(
        ksim_preferred(h.sim, PGPU, h100_gpus, 8, NULL, 0, 2, &pref, &st, &msg), 0);
    /* never a set that breaks the rule */
    CU_ASSERT_EQUAL(st, GRPC_STATUS_FAILED_PRECONDITION);
    CU_ASSERT_PTR_NULL(pref);
    free(msg);
    check_allocate(&h, PGPU, h100_gpus, 8, gpu_cdevs, "PCI_RESOURCE_NVIDIA_COM_PGPU",
                   "0000:0a:00.0,0000:11:00.0,0000:18:00.0,0000:69:00.0,0000:9d:00.0,"
                   "0000:ad:00.0,0000:bd:00.0,0000:dd:00.0");
    check_allocate(&h, NVSW, h100_switches, 4, switch_cdevs, "PCI_RESOURCE_NVIDIA_COM_NVSWITCH",
                   "0000:1c:00.0,0000:1d:00.0,0000:1e:00.0,0000:1f:00.0");
    fixture_stop(&h);
    harness_fini(&h);
}

static void
test_go_peer(void)
{
    struct harness h;
    pid_t pid;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    CU_ASSERT_EQUAL_FATAL(harness_go_peer_start(&h, 2, &pid), 0);
    CU_ASSERT_EQUAL(spawn_real(&h, H100, NULL), 0);
    CU_ASSERT_EQUAL(harness_go_peer_finish(&h, pid), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

static int
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

/* serve with --config cfg: must exit non-zero in time, naming the file and
 * every string of want in its output. */
static void
expect_config_error(struct harness *h, const char *text, const char *want)
{
    char *cfg = NULL, *out = NULL, *buf = NULL;
    int status = 0;
    pid_t pid;
    FILE *f;
    size_t len = 0;

    CU_ASSERT_FATAL(asprintf(&cfg, "%s/bad.json", h->root) > 0);
    CU_ASSERT_FATAL(asprintf(&out, "%s/bad.out", h->root) > 0);
    CU_ASSERT_EQUAL_FATAL(write_file(cfg, text), 0);
    unlink(out);
    CU_ASSERT_EQUAL_FATAL(spawn_bin((char *[]){"serve", "--config", cfg, "--kubelet-dir",
                                               h->kubelet_dir, "--cdi-dir", h->cdi_dir, NULL},
                                    out, &pid),
                          0);
    CU_ASSERT_EQUAL_FATAL(tproc_wait(pid, 10000 * tproc_factor(), &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_NOT_EQUAL(WEXITSTATUS(status), 0);
    CU_ASSERT_NOT_EQUAL(WEXITSTATUS(status), 99); /* valgrind found nothing */
    f = fopen(out, "re");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(getdelim(&buf, &len, '\0', f) > 0);
    fclose(f);
    if (buf && (!strstr(buf, cfg) || !strstr(buf, want)))
        fprintf(stderr, "\nconfig error output lacks %s or %s:\n%s\n", cfg, want, buf);
    CU_ASSERT_PTR_NOT_NULL(buf ? strstr(buf, cfg) : NULL);
    CU_ASSERT_PTR_NOT_NULL(buf ? strstr(buf, want) : NULL);
    CU_ASSERT_FALSE(harness_socket_exists(h, "kgdp-pgpu.sock"));
    free(buf);
    free(cfg);
    free(out);
}

static void
test_bad_config(void)
{
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(harness_init(&h), 0);
    expect_config_error(&h, "{\"mode\": \"ppcie\",", "config");
    expect_config_error(&h, "{\"mode\": \"ppcie\", \"noSuchKey\": 1}\n", "noSuchKey");
    expect_config_error(&h, "{\"mode\": \"sometimes\"}\n", "mode");
    harness_fini(&h);
}

/* Precedence: the config file sets what flags leave alone; flags win. */
static void
test_flags_override_config(void)
{
    const char *const want[] = {"nvidia.com/cfggpu", NVSW};
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    char dir[] = "/tmp/kgdp-cfg-XXXXXX";
    char *cfg = NULL, *msg = NULL, *text = NULL;
    struct harness h;

    /* the file lives outside the harness tree that start_real creates */
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_FATAL(asprintf(&cfg, "%s/config.json", dir) > 0);
    /* kubeletDir points nowhere: registering at all shows the flag won */
    CU_ASSERT_FATAL(asprintf(&text,
                             "{\"mode\": \"multi\", \"gpuAlias\": \"cfggpu\", "
                             "\"kubeletDir\": \"%s/nowhere\", \"logLevel\": \"debug\"}\n",
                             dir) > 0);
    CU_ASSERT_EQUAL_FATAL(write_file(cfg, text), 0);
    CU_ASSERT_EQUAL(start_real(&h, H100, (char *[]){"--config", cfg, "--mode", "ppcie", NULL},
                               want, 2),
                    0);
    /* --mode ppcie, not the file's multi: 1 GPU is refused with the ppcie rule */
    if (h.sim && ksim_allocate(h.sim, "nvidia.com/cfggpu", h100_gpus, 1, NULL, &st, &msg) == 0) {
        CU_ASSERT_EQUAL(st, GRPC_STATUS_FAILED_PRECONDITION);
        CU_ASSERT_PTR_NOT_NULL(msg ? strstr(msg, "ppcie mode") : NULL);
    } else {
        CU_FAIL("Allocate on nvidia.com/cfggpu did not complete");
    }
    free(msg);
    fixture_stop(&h);
    harness_fini(&h);
    unlink(cfg);
    rmdir(dir);
    free(text);
    free(cfg);
}

TEST_SUITE(integ_real_daemon, NULL, NULL,
           {"hgx-h100: pgpu and nvswitch from one process, preferred, Allocate",
            test_h100_two_resources},
           {"hgx-h100 --mode ppcie: 2 GPUs refused, all 8 accepted", test_ppcie},
           {"grpc-go peer against the real daemon", test_go_peer},
           {"bad config file: non-zero exit naming the file", test_bad_config},
           {"flags override the config file", test_flags_override_config})
