#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "test/kubelet-sim/ksim-priv.h"
#include "test/soak/soak.h"
#include "test/support/live_host.h"

/* make soak: the real daemon on a copy of the hgx-h100-iommufd fixture,
 * driven by the kubelet simulator through kubelet restarts, concurrent
 * Allocates and health flips watched by a slow reader, with its open
 * descriptors and RSS sampled throughout. Exit 0 only if every call
 * succeeded and neither grew beyond noise. */

#define FIXTURE "hgx-h100-iommufd"
#define PGPU "nvidia.com/pgpu"
#define NVSWITCH "nvidia.com/nvswitch"
#define RESTARTS 100
#define ALLOCATES 20000
#define CLIENTS 8
#define FLIPS 1000
#define WARMUP_RESTARTS 5
#define WARMUP_ALLOCATES 800
#define READY_MS 15000
/* Growth from the warmed-up baseline to the end that is still noise:
 * libgrpc and malloc keep arenas and caches of their own. */
#define FD_NOISE 2
#define RSS_NOISE_KB 2048

static const char *const gpus[] = {"0000:0a:00.0", "0000:11:00.0", "0000:18:00.0", "0000:9d:00.0",
                                   "0000:ad:00.0", "0000:bd:00.0", "0000:dd:00.0"};
#define FLIP_GPU "0000:69:00.0" /* not in gpus: Allocates never meet it unbound */

struct soak {
    struct live_host lh;
    struct ksim *sim;
    char *pgpu_socket;
    struct soak_samples samples;
    int failures;
};

static void
fail(struct soak *s, const char *what)
{
    fprintf(stderr, "soak: FAILED: %s\n", what);
    s->failures++;
}

static int
wait_ready(struct soak *s, int timeout_ms)
{
    static const char *const resources[] = {PGPU, NVSWITCH};

    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        if (ksim_wait_registered(s->sim, resources[i], timeout_ms) < 0 ||
            ksim_wait_lists(s->sim, resources[i], 1, timeout_ms) < 0)
            return -ETIMEDOUT;
    return 0;
}

static void
restarts(struct soak *s, int n, bool sample)
{
    for (int i = 0; i < n; i++) {
        if (ksim_restart(s->sim) < 0 || wait_ready(s, 5000) < 0) {
            fail(s, "kubelet restart: not registered and listed again within 5 s");
            return;
        }
        if (sample && (i + 1) % 20 == 0)
            soak_sample(&s->samples, s->lh.pid, "restarts", i + 1);
    }
}

struct client {
    struct soak *s;
    int index, calls, failed;
    char last_error[200];
};

static int
allocate_once(grpc_channel *ch, const char *id, char *err, size_t err_len)
{
    V1beta1__AllocateRequest req = V1BETA1__ALLOCATE_REQUEST__INIT;
    V1beta1__ContainerAllocateRequest creq = V1BETA1__CONTAINER_ALLOCATE_REQUEST__INIT;
    V1beta1__ContainerAllocateRequest *creqs[1] = {&creq};
    ProtobufCMessage *resp = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    char *ids[1] = {(char *)id}, *msg = NULL;
    int r;

    creq.n_devices_ids = 1;
    creq.devices_ids = ids;
    req.n_container_requests = 1;
    req.container_requests = creqs;
    r = ksim_unary(ch, "/v1beta1.DevicePlugin/Allocate", &req.base,
                   &v1beta1__allocate_response__descriptor, 10000, &resp, &status, &msg);
    if (r == 0 && status != GRPC_STATUS_OK)
        r = -EIO;
    if (r < 0)
        snprintf(err, err_len, "%s: %s (status %d: %s)", id, strerror(-r), (int)status,
                 msg ? msg : "");
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    free(msg);
    return r;
}

/* One client: its own connection (own subchannel), calls Allocate. */
static void *
client_main(void *arg)
{
    struct client *c = arg;
    grpc_arg a = {.type = GRPC_ARG_INTEGER,
                  .key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                  .value.integer = 1};
    grpc_channel_args args = {.num_args = 1, .args = &a};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    char *target = NULL;
    grpc_channel *ch = NULL;

    if (asprintf(&target, "unix:%s", c->s->pgpu_socket) >= 0)
        ch = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    free(target);
    for (int i = 0; ch && i < c->calls; i++) {
        const char *id = gpus[(size_t)(c->index + i) % (sizeof(gpus) / sizeof(gpus[0]))];

        if (allocate_once(ch, id, c->last_error, sizeof(c->last_error)) < 0)
            c->failed++;
    }
    if (!ch)
        c->failed = c->calls;
    else
        grpc_channel_destroy(ch);
    return NULL;
}

static void
allocates(struct soak *s, int total, const char *phase)
{
    struct client c[CLIENTS];
    pthread_t t[CLIENTS];
    int failed = 0;

    for (int i = 0; i < CLIENTS; i++) {
        c[i] = (struct client){.s = s, .index = i, .calls = total / CLIENTS};
        if (pthread_create(&t[i], NULL, client_main, &c[i]) != 0)
            c[i].calls = -1;
    }
    for (int i = 0; i < CLIENTS; i++) {
        if (c[i].calls < 0) {
            fail(s, "cannot start a client thread");
            continue;
        }
        pthread_join(t[i], NULL);
        failed += c[i].failed;
        if (c[i].failed)
            fprintf(stderr, "soak: client %d: %d failed, last: %s\n", i, c[i].failed,
                    c[i].last_error);
    }
    if (failed)
        fail(s, "Allocate calls failed");
    soak_sample(&s->samples, s->lh.pid, phase, total);
}

static void
flips(struct soak *s, struct soak_slow_reader *slow)
{
    for (int i = 0; i < FLIPS; i++) {
        if (live_host_set_bound(&s->lh, FLIP_GPU, i % 2 == 1) < 0 || kill(s->lh.pid, SIGHUP) < 0) {
            fail(s, "health flip");
            return;
        }
        usleep(2000);
        if ((i + 1) % 250 == 0)
            soak_sample(&s->samples, s->lh.pid, "flips", i + 1);
    }
    /* FLIPS is even: the GPU ends bound, as the fixture started. */
    if (soak_wait_healthy(s->sim, PGPU, FLIP_GPU, 10000) < 0)
        fail(s, "the last flip never reached the kubelet's stream");
    if (soak_slow_reader_lists(slow) < 2)
        fail(s, "the slow reader received fewer than 2 lists");
}

static int
setup(struct soak *s)
{
    static const char *const args[] = {"--log-level", "warn", NULL};
    int r;

    if ((r = live_host_init(&s->lh, FIXTURE)) < 0 || (r = ksim_start(s->lh.kubelet, &s->sim)) < 0 ||
        (r = live_host_spawn(&s->lh, args)) < 0 || (r = wait_ready(s, READY_MS)) < 0)
        return r;
    s->pgpu_socket = NULL;
    {
        char *endpoint = ksim_endpoint(s->sim, PGPU);

        if (!endpoint || asprintf(&s->pgpu_socket, "%s/%s", s->lh.kubelet, endpoint) < 0)
            r = -ENOMEM;
        free(endpoint);
    }
    return r;
}

static void
run(struct soak *s)
{
    struct soak_slow_reader *slow = NULL;
    long t0 = tproc_now_ms();

    /* Warm up: libgrpc and malloc reach their steady state. */
    restarts(s, WARMUP_RESTARTS, false);
    allocates(s, WARMUP_ALLOCATES, "warmup");
    soak_sample(&s->samples, s->lh.pid, "baseline", 0);
    restarts(s, RESTARTS, true);
    printf("soak: %d kubelet restarts in %ld ms\n", RESTARTS, tproc_now_ms() - t0);
    t0 = tproc_now_ms();
    allocates(s, ALLOCATES, "allocates");
    printf("soak: %d Allocates from %d clients in %ld ms\n", ALLOCATES, CLIENTS,
           tproc_now_ms() - t0);
    if (soak_slow_reader_start(s->pgpu_socket, &slow) < 0) {
        fail(s, "cannot start the slow reader");
        return;
    }
    t0 = tproc_now_ms();
    flips(s, slow);
    printf("soak: %d health flips in %ld ms; the slow reader got %d lists\n", FLIPS,
           tproc_now_ms() - t0, soak_slow_reader_lists(slow));
    soak_slow_reader_stop(slow);
    usleep(500000); /* connections of the clients close */
    soak_sample(&s->samples, s->lh.pid, "end", 0);
}

int
main(void)
{
    struct soak s;
    int r, status = 0;

    memset(&s, 0, sizeof(s));
    setvbuf(stdout, NULL, _IOLBF, 0);
    grpc_init();
    r = setup(&s);
    if (r < 0) {
        fprintf(stderr, "soak: setup failed: %s\n", strerror(-r));
        s.failures++;
    } else {
        run(&s);
        soak_print(&s.samples);
        if (soak_growth(&s.samples, "baseline", "end", FD_NOISE, RSS_NOISE_KB) < 0)
            fail(&s, "descriptors or RSS grew beyond noise");
    }
    if (s.lh.pid > 0 && (tproc_stop(&s.lh.pid, SIGTERM, 5000, &status) < 0 || !WIFEXITED(status) ||
                         WEXITSTATUS(status) != 0))
        fail(&s, "the daemon did not exit 0 on SIGTERM");
    ksim_stop(s.sim);
    if (s.failures)
        fprintf(stderr, "soak: daemon log: %s\n", s.lh.log);
    else
        live_host_fini(&s.lh);
    free(s.pgpu_socket);
    grpc_shutdown();
    printf("soak: %s\n", s.failures ? "FAILED" : "passed");
    return s.failures ? 1 : 0;
}
