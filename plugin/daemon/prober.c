#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "plugin/daemon/prober.h"
#include "plugin/grpc/runtime.h"

struct plugin_prober {
    struct plugin_loop *loop;
    int interval_ms, timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stop;
    pthread_t thread;
};

static void
add_ms(struct timespec *at, int ms)
{
    at->tv_sec += ms / 1000;
    at->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (at->tv_nsec >= 1000000000L) {
        at->tv_sec++;
        at->tv_nsec -= 1000000000L;
    }
}

static void *
prober_main(void *arg)
{
    struct plugin_prober *p = arg;
    struct timespec at;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        clock_gettime(CLOCK_MONOTONIC, &at);
        add_ms(&at, p->interval_ms);
        while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &at) != ETIMEDOUT)
            ;
        if (p->stop)
            break;
        pthread_mutex_unlock(&p->lock);
        plugin_runtime_probe(p->loop, p->timeout_ms);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int
plugin_prober_start(struct plugin_loop *loop, int interval_ms, int timeout_ms,
                    struct plugin_prober **ret)
{
    struct plugin_prober *p = calloc(1, sizeof(*p));
    pthread_condattr_t attr;
    int r;

    if (!p)
        return -ENOMEM;
    p->loop = loop;
    p->interval_ms = interval_ms;
    p->timeout_ms = timeout_ms;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &attr);
    pthread_condattr_destroy(&attr);
    r = -pthread_create(&p->thread, NULL, prober_main, p);
    if (r < 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return r;
    }
    *ret = p;
    return 0;
}

void
plugin_prober_stop(struct plugin_prober *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
