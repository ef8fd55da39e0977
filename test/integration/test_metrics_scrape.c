#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/integration/test_health.h"
#include "test/support/http_get.h"
#include "test/support/promtool.h"
#include "test/support/suite.h"
#include "test/support/text.h"

/* The daemon's outputs for operators, with their real consumers: /metrics
 * checked by `promtool check metrics` and scraped by a Prometheus server
 * that this test starts on loopback (own config and data dir, free port)
 * and then asks for one of the daemon's series over its HTTP API; the
 * NFD feature file written while it runs and removed when it stops. */

#define FIXTURE "pcie-faults"
#define DEAD_GPU "0000:1b:00.0"
#define GOOD_GPU "0000:18:00.0"
#define PROM_READY_MS 120000 /* Prometheus start + first scrapes; times tproc_factor() */

struct prom {
    char dir[64];
    int port;
    pid_t pid;
};

/* Start prometheus scraping 127.0.0.1:target every second. 0 or -errno. */
static int
prom_start(struct prom *p, int target)
{
    char *cfg = NULL, *data = NULL, *listen = NULL, *log = NULL, *cfg_arg = NULL;
    FILE *f;
    int r = -ENOMEM;

    snprintf(p->dir, sizeof(p->dir), "/tmp/kgdp-prom-XXXXXX");
    if (!mkdtemp(p->dir))
        return -errno;
    if ((p->port = thttp_free_port()) < 0)
        return p->port;
    if (asprintf(&cfg, "%s/prometheus.yml", p->dir) < 0 ||
        asprintf(&data, "--storage.tsdb.path=%s/data", p->dir) < 0 ||
        asprintf(&listen, "--web.listen-address=127.0.0.1:%d", p->port) < 0 ||
        asprintf(&log, "%s/prometheus.log", p->dir) < 0 ||
        asprintf(&cfg_arg, "--config.file=%s", cfg) < 0)
        goto out;
    if (!(f = fopen(cfg, "we"))) {
        r = -errno;
        goto out;
    }
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: kgdp\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            target);
    fclose(f);
    {
        char *argv[] = {"prometheus", cfg_arg, data, listen, "--log.level=warn", NULL};

        r = tproc_spawn(argv, log, NULL, &p->pid);
    }
out:
    free(cfg);
    free(data);
    free(listen);
    free(log);
    free(cfg_arg);
    return r;
}

static void
prom_stop(struct prom *p)
{
    int status = 0;

    if (p->pid > 0)
        CU_ASSERT_EQUAL(tproc_stop(&p->pid, SIGTERM, 30000 * tproc_factor(), &status), 0);
    tproc_end(&p->pid, 1000);
    if (p->dir[0])
        tproc_rm_tree(p->dir);
}

/* Ask Prometheus for query until the answer holds want (or time runs out). */
static bool
prom_wait(const struct prom *p, const char *query, const char *want, char **ret_body)
{
    long deadline = tproc_now_ms() + PROM_READY_MS * tproc_factor();
    char *path = NULL;
    bool ok = false;

    *ret_body = NULL;
    if (asprintf(&path, "/api/v1/query?query=%s", query) < 0)
        return false;
    while (!ok && tproc_now_ms() < deadline) {
        int status = 0;

        free(*ret_body);
        *ret_body = NULL;
        if (thttp_get(p->port, path, 5000, &status, ret_body) == 0 && status == 200 &&
            strstr(*ret_body, "\"status\":\"success\"") && strstr(*ret_body, want))
            ok = true;
        else
            usleep(500 * 1000);
    }
    free(path);
    return ok;
}

static void
allocate_one(struct hl *t, const char *id, grpc_status_code want)
{
    const char *ids[] = {id};
    V1beta1__AllocateResponse *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *msg = NULL;

    CU_ASSERT_EQUAL(ksim_allocate(t->sim, HL_PGPU, ids, 1, &resp, &status, &msg), 0);
    CU_ASSERT_EQUAL(status, want);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    free(msg);
}

/* The daemon's own /metrics: series present, promtool clean, 404 elsewhere. */
static void
check_endpoint(int port)
{
    char *body = NULL;
    int status = 0;

    CU_ASSERT_EQUAL_FATAL(thttp_get(port, "/metrics", 10000 * tproc_factor(), &status, &body), 0);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_TRUE(ttext_has_line(body, "kata_gpu_allocations_total{resource=\"nvidia.com/pgpu\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(body, "kata_gpu_allocation_refusals_total{resource=\"nvidia.com/pgpu\","
                                  "reason=\"unhealthy\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(body, "kata_gpu_registrations_total{resource=\"nvidia.com/pgpu\","
                                  "result=\"ok\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(body, "kata_gpu_devices{resource=\"nvidia.com/pgpu\","
                                  "health=\"unhealthy\"} 1"));
    CU_ASSERT_TRUE(ttext_has_line(body, "kata_gpu_rescans_total{result=\"ok\"} 1"));
    CU_ASSERT_EQUAL(tprom_check_metrics(body, "/dev/stderr"), 0);
    free(body);
    body = NULL;
    CU_ASSERT_EQUAL(thttp_get(port, "/", 10000 * tproc_factor(), &status, &body), 0);
    CU_ASSERT_EQUAL(status, 404);
    free(body);
}

/* A kubelet restart and a SIGHUP rescan show in the counters. */
static void
check_restart_counted(struct hl *t, int port)
{
    long deadline = tproc_now_ms() + 10000 * tproc_factor();
    char *body = NULL, regs[160];
    int status = 0;
    bool seen = false;

    CU_ASSERT_EQUAL_FATAL(ksim_restart(t->sim), 0);
    CU_ASSERT_EQUAL(ksim_wait_registered(t->sim, HL_PGPU, 10000 * tproc_factor()), 0);
    CU_ASSERT_EQUAL(hl_sighup(t), 0);
    while (!seen && tproc_now_ms() < deadline) {
        /* every registration the kubelet accepted, counted by both sides */
        snprintf(regs, sizeof(regs),
                 "kata_gpu_registrations_total{resource=\"nvidia.com/pgpu\",result=\"ok\"} %u",
                 ksim_registrations(t->sim, HL_PGPU));
        free(body);
        body = NULL;
        seen = thttp_get(port, "/metrics", 5000, &status, &body) == 0 &&
               ttext_has_line(body, "kata_gpu_kubelet_restarts_total 1") &&
               ttext_has_line(body, regs) && ksim_registrations(t->sim, HL_PGPU) >= 2 &&
               ttext_has_line(body, "kata_gpu_rescans_total{result=\"ok\"} 2");
        if (!seen)
            usleep(100 * 1000);
    }
    if (!seen)
        fprintf(stderr, "\n%s\n", body ? body : "(no answer)");
    CU_ASSERT_TRUE(seen);
    free(body);
}

static void
test_scrape_and_labels(void)
{
    char addr[32], nfd[] = "/tmp/kgdp-nfd-XXXXXX", *file = NULL, *text, *body = NULL;
    const char *args[] = {"--metrics-address", addr, "--nfd-features-dir", nfd, NULL};
    struct prom p = {.pid = 0};
    int port = thttp_free_port(), status = 0;
    struct hl t;

    CU_ASSERT_FATAL(port > 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(nfd));
    CU_ASSERT_FATAL(asprintf(&file, "%s/kata-gpu-device-plugin", nfd) > 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    if (hl_start(&t, FIXTURE, args) < 0)
        goto out;
    allocate_one(&t, GOOD_GPU, GRPC_STATUS_OK);
    allocate_one(&t, DEAD_GPU, GRPC_STATUS_FAILED_PRECONDITION);
    check_endpoint(port);
    check_restart_counted(&t, port);
    text = ttext_read_file(file);
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "/gpu.count=6\n"));
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "/nvswitch.count=2\n"));
    CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "# +expiry-time="));
    free(text);
    CU_ASSERT_EQUAL_FATAL(prom_start(&p, port), 0);
    CU_ASSERT_TRUE(prom_wait(&p,
                             "kata_gpu_devices%7Bresource%3D%22nvidia.com%2Fpgpu%22%2Chealth%3D%22"
                             "unhealthy%22%7D",
                             ",\"1\"]", &body));
    fprintf(stderr, "[prometheus: %.300s] ", body ? body : "(no answer)");
    CU_ASSERT_PTR_NOT_NULL(body && strstr(body, "\"job\":\"kgdp\""));
    free(body);
    CU_ASSERT_TRUE(prom_wait(&p, "kata_gpu_allocations_total", ",\"1\"]", &body));
    free(body);
    prom_stop(&p);
    /* a clean stop takes the labels away */
    CU_ASSERT_EQUAL(tproc_stop(&t.lh.pid, SIGTERM, 10000 * tproc_factor(), &status), 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(access(file, F_OK), -1);
    hl_finish(&t);
out:
    prom_stop(&p);
    free(file);
    tproc_rm_tree(nfd);
}

TEST_SUITE(integ_metrics_scrape, NULL, NULL,
           {"/metrics: promtool clean, scraped and queried by Prometheus; NFD file while running",
            test_scrape_and_labels})
