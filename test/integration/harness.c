#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "test/integration/harness.h"
#include "topology/base/cleanup.h"

static int
sub_dir(const char *root, const char *name, char **ret)
{
    if (asprintf(ret, "%s/%s", root, name) < 0)
        return -ENOMEM;
    if (mkdir(*ret, 0755) < 0)
        return -errno;
    return 0;
}

int
harness_init(struct harness *h)
{
    char tmpl[] = "/tmp/kgdp-it-XXXXXX";
    int r;

    memset(h, 0, sizeof(*h));
    h->failures_at_start = CU_get_number_of_failures();
    if (!mkdtemp(tmpl))
        return -errno;
    h->root = strdup(tmpl);
    if (!h->root)
        return -ENOMEM;
    if ((r = sub_dir(h->root, "kubelet", &h->kubelet_dir)) < 0 ||
        (r = sub_dir(h->root, "dev", &h->dev_root)) < 0 ||
        (r = sub_dir(h->root, "sys", &h->sysfs_root)) < 0 ||
        (r = sub_dir(h->root, "cdi", &h->cdi_dir)) < 0)
        return r;
    if (asprintf(&h->inventory, "%s/inventory", h->root) < 0 ||
        asprintf(&h->log, "%s/daemon.log", h->root) < 0)
        return -ENOMEM;
    return 0;
}

void
harness_dump(const char *title, const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "re");
    size_t n;

    fprintf(stderr, "\n----- %s (%s) -----\n", title, path);
    if (!f)
        return;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
    fprintf(stderr, "----- end of %s -----\n", title);
}

void
harness_fini(struct harness *h)
{
    tproc_end(&h->pid, 5000 * tproc_factor());
    ksim_stop(h->sim);
    if (h->log && CU_get_number_of_failures() != h->failures_at_start)
        harness_dump("daemon stderr", h->log);
    tproc_rm_tree(h->root);
    free(h->root);
    free(h->kubelet_dir);
    free(h->dev_root);
    free(h->sysfs_root);
    free(h->cdi_dir);
    free(h->inventory);
    free(h->log);
    memset(h, 0, sizeof(*h));
}

/* mkdir -p of the parent of path. */
static int
make_parents(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            *p = '/';
            return -errno;
        }
        *p = '/';
    }
    return 0;
}

/* Create <dev root><path minus "/dev"> for each node of a device. */
static int
make_nodes(const struct harness *h, const char *nodes)
{
    char *copy = strdup(nodes), *save = NULL;
    int r = copy ? 0 : -ENOMEM;

    for (char *n = copy ? strtok_r(copy, ",", &save) : NULL; n && r == 0;
         n = strtok_r(NULL, ",", &save)) {
        char *path;
        int fd;

        if (strncmp(n, "/dev/", 5) != 0 || asprintf(&path, "%s/%s", h->dev_root, n + 5) < 0) {
            r = -EINVAL;
            break;
        }
        r = make_parents(path);
        fd = r == 0 ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
        if (r == 0 && fd < 0)
            r = -errno;
        if (fd >= 0)
            close(fd);
        free(path);
    }
    free(copy);
    return r;
}

int
harness_write_inventory(struct harness *h, const struct h_inv *inv)
{
    char *tmp;
    FILE *f;
    int r = 0;

    if (asprintf(&tmp, "%s.tmp", h->inventory) < 0)
        return -ENOMEM;
    f = fopen(tmp, "we");
    if (!f) {
        free(tmp);
        return -errno;
    }
    fprintf(f, "# written by the integration harness\n");
    for (size_t i = 0; i < inv->n_res; i++) {
        const struct h_res *res = &inv->res[i];

        fprintf(f, "resource %s\n", res->name);
        for (size_t j = 0; j < res->n_devs && r == 0; j++) {
            const struct h_dev *d = &res->devs[j];

            fprintf(f, "device %s %s %d %s\n", d->id, d->healthy ? "Healthy" : "Unhealthy",
                    d->numa, d->nodes);
            r = make_nodes(h, d->nodes);
        }
    }
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, h->inventory) < 0)
        r = -errno;
    free(tmp);
    return r;
}

int
harness_start_sim(struct harness *h)
{
    return ksim_start(h->kubelet_dir, &h->sim);
}

int
harness_spawn_daemon(struct harness *h)
{
    const char *testd = getenv("KGDP_TESTD");
    char *env_inv = NULL;
    char *argv[] = {(char *)testd, "serve", "--sysfs-root", h->sysfs_root, "--dev-root",
                    h->dev_root, "--kubelet-dir", h->kubelet_dir, "--cdi-dir", h->cdi_dir,
                    "--log-level", "debug", NULL};
    int r;

    if (!testd || access(testd, X_OK) < 0) {
        fprintf(stderr, "KGDP_TESTD is not set to an executable (run through make)\n");
        return -ENOENT;
    }
    if (asprintf(&env_inv, "KGDP_FAKE_INVENTORY=%s", h->inventory) < 0)
        return -ENOMEM;
    r = tproc_spawn_daemon(argv, h->log, (char *[]){env_inv, NULL}, &h->pid);
    free(env_inv);
    return r;
}

bool
harness_socket_exists(const struct harness *h, const char *name)
{
    struct stat st;
    char *path;
    bool r;

    if (asprintf(&path, "%s/%s", h->kubelet_dir, name) < 0)
        return false;
    r = stat(path, &st) == 0;
    free(path);
    return r;
}

#define PEER_TIMEOUT_S 60
#define PEER_READY_MS 15000

static char *
peer_log(const struct harness *h)
{
    char *p;

    return asprintf(&p, "%s/go-peer.log", h->root) < 0 ? NULL : p;
}

int
harness_go_peer_start(struct harness *h, size_t n_res, pid_t *ret_pid)
{
    const char *peer = getenv("KGDP_GO_PEER");
    _cleanup_free_ char *log = peer_log(h);
    char n[16], timeout[32];
    long end = tproc_now_ms() + PEER_READY_MS * tproc_factor();
    pid_t pid;
    int r;

    if (!peer) {
        fprintf(stderr, "KGDP_GO_PEER is not set (run through make)\n");
        return -ENOENT;
    }
    if (!log)
        return -ENOMEM;
    snprintf(n, sizeof(n), "%zu", n_res);
    snprintf(timeout, sizeof(timeout), "%ds", PEER_TIMEOUT_S * tproc_factor());
    r = tproc_spawn((char *[]){(char *)peer, "--kubelet-dir", h->kubelet_dir, "--resources", n,
                               "--timeout", timeout, NULL},
                    log, NULL, &pid);
    if (r < 0)
        return r;
    while (!harness_socket_exists(h, "kubelet.sock")) {
        if (tproc_now_ms() >= end) {
            tproc_end(&pid, 0);
            harness_dump("kubelet-go output", log);
            return -ETIMEDOUT;
        }
        usleep(10000);
    }
    *ret_pid = pid;
    return 0;
}

int
harness_go_peer_finish(const struct harness *h, pid_t pid)
{
    _cleanup_free_ char *log = peer_log(h);
    int status = -1;
    int r = tproc_wait(pid, (PEER_TIMEOUT_S * tproc_factor() + 10) * 1000, &status);

    if (r < 0)
        tproc_end(&pid, 0);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        r = -EIO;
    if (r < 0 && log)
        harness_dump("kubelet-go output", log);
    return r;
}

const char *
harness_env_value(const V1beta1__ContainerAllocateResponse *c, const char *key)
{
    for (size_t i = 0; i < c->n_envs; i++)
        if (strcmp(c->envs[i]->key, key) == 0)
            return c->envs[i]->value;
    return NULL;
}

static const struct h_dev *
find_dev(const struct h_res *res, const char *id)
{
    for (size_t i = 0; i < res->n_devs; i++)
        if (strcmp(res->devs[i].id, id) == 0)
            return &res->devs[i];
    return NULL;
}

static int
device_matches(const V1beta1__Device *d, const struct h_res *res)
{
    const struct h_dev *want = find_dev(res, d->id);
    size_t n_nodes = d->topology ? d->topology->n_nodes : 0;

    if (!want) {
        fprintf(stderr, "%s: unexpected device %s\n", res->name, d->id);
        return -EINVAL;
    }
    if (strcmp(d->health, want->healthy ? "Healthy" : "Unhealthy") != 0) {
        fprintf(stderr, "%s: %s health %s\n", res->name, d->id, d->health);
        return -EINVAL;
    }
    if (want->numa < 0 ? n_nodes != 0
                       : n_nodes != 1 || d->topology->nodes[0]->id != want->numa) {
        fprintf(stderr, "%s: %s has %zu NUMA node(s), want %d\n", res->name, d->id, n_nodes,
                want->numa);
        return -EINVAL;
    }
    return 0;
}

int
harness_list_matches(const V1beta1__ListAndWatchResponse *list, const struct h_res *res)
{
    if (list->n_devices != res->n_devs) {
        fprintf(stderr, "%s: %zu device(s) listed, want %zu\n", res->name, list->n_devices,
                res->n_devs);
        return -EINVAL;
    }
    for (size_t i = 0; i < list->n_devices; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(list->devices[i]->id, list->devices[j]->id) == 0) {
                fprintf(stderr, "%s: %s listed twice\n", res->name, list->devices[i]->id);
                return -EINVAL;
            }
        if (device_matches(list->devices[i], res) < 0)
            return -EINVAL;
    }
    return 0;
}
