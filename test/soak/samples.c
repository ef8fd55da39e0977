#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "test/soak/soak.h"

void
soak_sample(struct soak_samples *s, pid_t pid, const char *phase, int count)
{
    struct soak_sample *x;

    if (s->n == 0)
        s->start_ms = tproc_now_ms();
    if (s->n == SOAK_MAX_SAMPLES)
        return;
    x = &s->v[s->n++];
    x->phase = phase;
    x->count = count;
    x->at_ms = tproc_now_ms() - s->start_ms;
    x->fds = tproc_fd_count(pid);
    x->rss_kb = tproc_rss_kb(pid);
}

void
soak_print(const struct soak_samples *s)
{
    printf("soak: %-10s %8s %8s %6s %9s\n", "phase", "done", "t_ms", "fds", "rss_kb");
    for (size_t i = 0; i < s->n; i++)
        printf("soak: %-10s %8d %8ld %6d %9ld\n", s->v[i].phase, s->v[i].count, s->v[i].at_ms,
               s->v[i].fds, s->v[i].rss_kb);
}

static const struct soak_sample *
last_of(const struct soak_samples *s, const char *phase)
{
    for (size_t i = s->n; i-- > 0;)
        if (strcmp(s->v[i].phase, phase) == 0)
            return &s->v[i];
    return NULL;
}

int
soak_growth(const struct soak_samples *s, const char *from, const char *to, int fd_noise,
            long rss_noise_kb)
{
    const struct soak_sample *a = last_of(s, from), *b = last_of(s, to);

    if (!a || !b || a->fds < 0 || b->fds < 0 || a->rss_kb < 0 || b->rss_kb < 0) {
        printf("soak: samples missing\n");
        return -1;
    }
    printf("soak: growth %s -> %s: fds %+d (noise %d), rss %+ld kB (noise %ld)\n", from, to,
           b->fds - a->fds, fd_noise, b->rss_kb - a->rss_kb, rss_noise_kb);
    return b->fds - a->fds > fd_noise || b->rss_kb - a->rss_kb > rss_noise_kb ? -1 : 0;
}

int
soak_wait_healthy(struct ksim *sim, const char *resource, const char *id, int timeout_ms)
{
    long end = tproc_now_ms() + timeout_ms;

    for (;;) {
        V1beta1__ListAndWatchResponse *list = NULL;
        size_t count = 0;
        bool healthy = false;

        if (ksim_last_list(sim, resource, &list, &count) == 0) {
            for (size_t i = 0; i < list->n_devices; i++)
                if (strcmp(list->devices[i]->id, id) == 0)
                    healthy = strcmp(list->devices[i]->health, "Healthy") == 0;
            protobuf_c_message_free_unpacked(&list->base, NULL);
        }
        if (healthy)
            return 0;
        if (tproc_now_ms() >= end)
            return -ETIMEDOUT;
        ksim_wait_lists(sim, resource, count + 1, 50);
    }
}
