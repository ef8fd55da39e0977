#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "test/kubelet-sim/ksim-priv.h"

struct ksim_res *
ksim_res_get(struct ksim *sim, const char *resource, bool create)
{
    struct ksim_res **grown, *res;

    for (size_t i = 0; i < sim->n_res; i++)
        if (strcmp(sim->res[i]->name, resource) == 0)
            return sim->res[i];
    if (!create)
        return NULL;
    grown = realloc(sim->res, (sim->n_res + 1) * sizeof(struct ksim_res *));
    if (!grown)
        return NULL;
    sim->res = grown;
    res = calloc(1, sizeof(*res));
    if (!res || !(res->name = strdup(resource))) {
        free(res);
        return NULL;
    }
    sim->res[sim->n_res++] = res;
    return res;
}

struct ksim_reg *
ksim_reg_get(struct ksim *sim, const char *resource)
{
    struct ksim_reg *reg = NULL;
    struct ksim_res *res;

    pthread_mutex_lock(&sim->mu);
    res = ksim_res_get(sim, resource, false);
    if (res && res->reg) {
        reg = res->reg;
        reg->refs++;
    }
    pthread_mutex_unlock(&sim->mu);
    return reg;
}

int
ksim_start(const char *dir, struct ksim **ret)
{
    pthread_condattr_t attr;
    struct ksim *sim;
    int r;

    sim = calloc(1, sizeof(*sim));
    if (!sim)
        return -ENOMEM;
    sim->dir = strdup(dir);
    if (!sim->dir || asprintf(&sim->sock_path, "%s/kubelet.sock", dir) < 0) {
        free(sim->dir);
        free(sim);
        return -ENOMEM;
    }
    pthread_mutex_init(&sim->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sim->cond, &attr);
    pthread_condattr_destroy(&attr);
    grpc_init();
    r = ksim_server_start(sim);
    if (r < 0) {
        ksim_stop(sim);
        return r;
    }
    *ret = sim;
    return 0;
}

/* Close every registration (streams cancelled, readers joined). */
static void
drop_registrations(struct ksim *sim)
{
    for (;;) {
        struct ksim_reg *reg = NULL;

        pthread_mutex_lock(&sim->mu);
        for (size_t i = 0; i < sim->n_res && !reg; i++) {
            reg = sim->res[i]->reg;
            sim->res[i]->reg = NULL;
        }
        pthread_cond_broadcast(&sim->cond);
        pthread_mutex_unlock(&sim->mu);
        if (!reg)
            return;
        ksim_reg_close(reg);
        ksim_reg_unref(reg, false);
    }
}

void
ksim_stop(struct ksim *sim)
{
    if (!sim)
        return;
    ksim_server_stop(sim);
    drop_registrations(sim);
    unlink(sim->sock_path);
    for (size_t i = 0; i < sim->n_res; i++) {
        free(sim->res[i]->name);
        free(sim->res[i]);
    }
    free(sim->res);
    free(sim->last_reject);
    pthread_cond_destroy(&sim->cond);
    pthread_mutex_destroy(&sim->mu);
    free(sim->sock_path);
    free(sim->dir);
    free(sim);
    grpc_shutdown();
}

/* What a restarting kubelet does to its dir: every socket file goes. */
static int
delete_sockets(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int r = 0;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        struct stat st;

        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            r = -errno;
    }
    closedir(d);
    return r;
}

void
ksim_set_listen_delay(struct ksim *sim, int ms)
{
    sim->listen_delay_ms = ms;
}

int
ksim_restart(struct ksim *sim)
{
    int r;

    ksim_server_stop(sim);
    drop_registrations(sim);
    r = delete_sockets(sim->dir);
    if (r < 0)
        return r;
    return ksim_server_start(sim);
}
