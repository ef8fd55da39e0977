#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugin/grpc/loop.h"
#include "plugin/grpc/probe.h"
#include "plugin/grpc/runtime.h"
#include "plugin/log/log.h"

/* The loop publishes which sockets serve; a thread that may block probes
 * them (plugin_runtime_probe) and hands the ones that did not answer back
 * through the mailbox; the loop restarts those servers, unless they were
 * restarted meanwhile (the generation tells). */

static void
targets_free(struct plugin_probe_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].path);
    free(t);
}

void
plugin_self_probe_targets(struct plugin_loop *loop)
{
    struct plugin_probe_target *t = NULL, *old;
    size_t n = 0, cap = 0, n_old;

    for (struct plugin_server *s = loop->servers; s; s = s->next)
        cap += s->state == PLUGIN_SRV_SERVING && !s->removed;
    if (cap && !(t = calloc(cap, sizeof(*t))))
        return; /* keep the old list: a probe of a gone server is ignored */
    for (struct plugin_server *s = loop->servers; s && n < cap; s = s->next) {
        if (s->state != PLUGIN_SRV_SERVING || s->removed)
            continue;
        t[n].path = strdup(s->socket_path);
        t[n].gen = s->srv_gen;
        if (!t[n].path) {
            targets_free(t, n);
            return;
        }
        n++;
    }
    pthread_mutex_lock(&loop->lock);
    old = loop->probe_targets;
    n_old = loop->n_probe_targets;
    loop->probe_targets = t;
    loop->n_probe_targets = n;
    pthread_mutex_unlock(&loop->lock);
    targets_free(old, n_old);
}

/* A copy of the targets; 0 on out of memory or none. */
static size_t
targets_copy(struct plugin_loop *loop, struct plugin_probe_target **ret)
{
    struct plugin_probe_target *t;
    size_t n;

    pthread_mutex_lock(&loop->lock);
    n = loop->n_probe_targets;
    t = n ? calloc(n, sizeof(*t)) : NULL;
    for (size_t i = 0; t && i < n; i++) {
        t[i].gen = loop->probe_targets[i].gen;
        t[i].path = strdup(loop->probe_targets[i].path);
        if (!t[i].path) {
            targets_free(t, i);
            t = NULL;
        }
    }
    pthread_mutex_unlock(&loop->lock);
    *ret = t;
    return t ? n : 0;
}

/* Whether we could open a socket ourselves right now. */
static bool
can_dial(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

void
plugin_runtime_probe(struct plugin_loop *loop, int timeout_ms)
{
    struct plugin_probe_target *t = NULL, *failed;
    size_t n = targets_copy(loop, &t), n_failed = 0;

    failed = n ? calloc(n, sizeof(*failed)) : NULL;
    for (size_t i = 0; failed && i < n; i++) {
        struct topo_error err = TOPO_ERROR_INIT;
        int r;

        if (!can_dial())
            break;
        r = plugin_probe_socket(t[i].path, timeout_ms, &err);
        /* A busy server gets a second, longer chance before it is
         * replaced; a dead one is refused at once both times. */
        if (r != 0 && can_dial())
            r = plugin_probe_socket(t[i].path, 3 * timeout_ms, &err);
        /* Our own shortage is not the server's fault. */
        if (r == 0 || r == -ENOMEM || r == -EMFILE || r == -ENFILE || !can_dial())
            continue;
        log_warn("probe_failed", "socket=%s error=%s", t[i].path,
                 log_quote(err.msg, (char[600]){0}, 600));
        failed[n_failed] = t[i];
        t[i].path = NULL;
        n_failed++;
    }
    targets_free(t, n);
    pthread_mutex_lock(&loop->lock);
    if (n_failed && !loop->probe_failed) {
        loop->probe_failed = failed;
        loop->n_probe_failed = n_failed;
        failed = NULL;
        n_failed = 0;
    }
    pthread_mutex_unlock(&loop->lock);
    targets_free(failed, n_failed);
    plugin_loop_post(loop, PLUGIN_EV_PROBED, NULL);
}

static struct plugin_server *
find_serving(struct plugin_loop *loop, const struct plugin_probe_target *t)
{
    for (struct plugin_server *s = loop->servers; s; s = s->next)
        if (s->state == PLUGIN_SRV_SERVING && !s->removed && s->srv_gen == t->gen &&
            strcmp(s->socket_path, t->path) == 0)
            return s;
    return NULL;
}

void
plugin_self_probe_apply(struct plugin_loop *loop)
{
    struct plugin_probe_target *failed;
    size_t n;

    pthread_mutex_lock(&loop->lock);
    failed = loop->probe_failed;
    n = loop->n_probe_failed;
    loop->probe_failed = NULL;
    loop->n_probe_failed = 0;
    pthread_mutex_unlock(&loop->lock);
    for (size_t i = 0; i < n; i++) {
        struct plugin_server *s = find_serving(loop, &failed[i]);

        if (!s)
            continue;
        log_warn("socket_not_serving", "resource=%s socket=%s action=recreate", s->resource,
                 s->socket_path);
        s->need_restart = true;
        s->need_register = true;
    }
    targets_free(failed, n);
    /* A server whose socket could not be bound (e.g. out of descriptors)
     * is tried again on every round, not only on kubelet events. */
    for (struct plugin_server *s = loop->servers; s; s = s->next)
        if (s->state == PLUGIN_SRV_DOWN && !s->removed) {
            s->need_restart = true;
            s->need_register = true;
        }
}

void
plugin_self_probe_destroy(struct plugin_loop *loop)
{
    targets_free(loop->probe_targets, loop->n_probe_targets);
    targets_free(loop->probe_failed, loop->n_probe_failed);
    loop->probe_targets = loop->probe_failed = NULL;
    loop->n_probe_targets = loop->n_probe_failed = 0;
}
