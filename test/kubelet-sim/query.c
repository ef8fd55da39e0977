#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/kubelet-sim/ksim-priv.h"

/* Waiting for and reading what the simulator recorded. */

static struct timespec
abs_deadline(int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Wait on sim->cond (mu held) until pred returns >= 0 or the deadline.
 * Returns pred's value or -ETIMEDOUT. */
static int
wait_for(struct ksim *sim, int timeout_ms, int (*pred)(struct ksim *, const void *),
         const void *arg)
{
    struct timespec deadline = abs_deadline(timeout_ms);
    int r;

    pthread_mutex_lock(&sim->mu);
    while ((r = pred(sim, arg)) < 0 && r == -EAGAIN)
        if (pthread_cond_timedwait(&sim->cond, &sim->mu, &deadline) == ETIMEDOUT) {
            r = pred(sim, arg);
            if (r == -EAGAIN)
                r = -ETIMEDOUT;
            break;
        }
    pthread_mutex_unlock(&sim->mu);
    return r;
}

struct wait_arg {
    const char *resource;
    size_t count;
};

static int
pred_registered(struct ksim *sim, const void *p)
{
    const struct wait_arg *a = p;
    struct ksim_res *res = ksim_res_get(sim, a->resource, false);

    return res && res->reg ? 0 : -EAGAIN;
}

static int
pred_registrations(struct ksim *sim, const void *p)
{
    const struct wait_arg *a = p;
    struct ksim_res *res = ksim_res_get(sim, a->resource, false);

    return res && res->registrations >= a->count ? 0 : -EAGAIN;
}

static int
pred_lists(struct ksim *sim, const void *p)
{
    const struct wait_arg *a = p;
    struct ksim_res *res = ksim_res_get(sim, a->resource, false);

    if (!res || !res->reg)
        return -EAGAIN;
    if (res->reg->n_lists >= a->count)
        return 0;
    return res->reg->ended ? -EPIPE : -EAGAIN;
}

int
ksim_wait_registered(struct ksim *sim, const char *resource, int timeout_ms)
{
    struct wait_arg a = {resource, 0};

    return wait_for(sim, timeout_ms, pred_registered, &a);
}

int
ksim_wait_registrations(struct ksim *sim, const char *resource, unsigned min_count,
                        int timeout_ms)
{
    struct wait_arg a = {resource, min_count};

    return wait_for(sim, timeout_ms, pred_registrations, &a);
}

int
ksim_wait_lists(struct ksim *sim, const char *resource, size_t min_count, int timeout_ms)
{
    struct wait_arg a = {resource, min_count};

    return wait_for(sim, timeout_ms, pred_lists, &a);
}

unsigned
ksim_registrations(struct ksim *sim, const char *resource)
{
    struct ksim_res *res;
    unsigned n;

    pthread_mutex_lock(&sim->mu);
    res = ksim_res_get(sim, resource, false);
    n = res ? res->registrations : 0;
    pthread_mutex_unlock(&sim->mu);
    return n;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ksim_registered(struct ksim *sim, char ***ret_names)
{
    char **names;
    size_t n = 0;

    pthread_mutex_lock(&sim->mu);
    names = calloc(sim->n_res + 1, sizeof(*names));
    for (size_t i = 0; names && i < sim->n_res; i++) {
        if (!sim->res[i]->reg)
            continue;
        names[n] = strdup(sim->res[i]->name);
        if (!names[n]) {
            while (n > 0)
                free(names[--n]);
            free(names);
            names = NULL;
        } else {
            n++;
        }
    }
    pthread_mutex_unlock(&sim->mu);
    if (!names)
        return -ENOMEM;
    qsort(names, n, sizeof(*names), cmp_str);
    *ret_names = names;
    return (int)n;
}

unsigned
ksim_rejections(struct ksim *sim, char **ret_last_msg)
{
    unsigned n;

    pthread_mutex_lock(&sim->mu);
    n = sim->rejections;
    if (ret_last_msg)
        *ret_last_msg = sim->last_reject ? strdup(sim->last_reject) : NULL;
    pthread_mutex_unlock(&sim->mu);
    return n;
}

int
ksim_last_list(struct ksim *sim, const char *resource, V1beta1__ListAndWatchResponse **ret,
               size_t *ret_count)
{
    struct ksim_res *res;
    ProtobufCMessage *msg = NULL;
    size_t count = 0;
    int r = 0;

    pthread_mutex_lock(&sim->mu);
    res = ksim_res_get(sim, resource, false);
    if (!res || !res->reg) {
        r = -ENOENT;
    } else if (!res->reg->last) {
        r = -ENODATA;
    } else {
        count = res->reg->n_lists;
        msg = protobuf_c_message_unpack(&v1beta1__list_and_watch_response__descriptor, NULL,
                                        res->reg->last_len, res->reg->last);
        if (!msg)
            r = -EBADMSG;
    }
    pthread_mutex_unlock(&sim->mu);
    if (r < 0)
        return r;
    *ret = (V1beta1__ListAndWatchResponse *)msg;
    if (ret_count)
        *ret_count = count;
    return 0;
}

int
ksim_options(struct ksim *sim, const char *resource, bool *ret_pre_start, bool *ret_preferred)
{
    struct ksim_reg *reg = ksim_reg_get(sim, resource);

    if (!reg)
        return -ENOENT;
    *ret_pre_start = reg->pre_start;
    *ret_preferred = reg->preferred;
    ksim_reg_unref(reg, false);
    return 0;
}

int
ksim_stream_ended(struct ksim *sim, const char *resource, grpc_status_code *ret_status)
{
    struct ksim_res *res;
    int r;

    pthread_mutex_lock(&sim->mu);
    res = ksim_res_get(sim, resource, false);
    if (!res || !res->reg) {
        r = -ENOENT;
    } else {
        r = res->reg->ended ? 1 : 0;
        if (r && ret_status)
            *ret_status = res->reg->end_status;
    }
    pthread_mutex_unlock(&sim->mu);
    return r;
}

char *
ksim_endpoint(struct ksim *sim, const char *resource)
{
    struct ksim_reg *reg = ksim_reg_get(sim, resource);
    char *copy;

    if (!reg)
        return NULL;
    copy = strdup(reg->endpoint);
    ksim_reg_unref(reg, false);
    return copy;
}
