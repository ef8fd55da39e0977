#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "plugin/log/log.h"
#include "plugin/metrics/metrics.h"
#include "topology/base/cleanup.h"

/* /metrics over libmicrohttpd: one internal polling thread of its own,
 * bounded connections and timeouts so a slow scraper cannot pile up
 * work. The handler only renders from struct plugin_metrics. */

#define MAX_CONNECTIONS 8
#define CONNECTION_TIMEOUT_S 10

struct plugin_metrics_http {
    struct MHD_Daemon *daemon;
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, char *body, size_t len, bool owned,
      const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result r;

    if (!resp) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
    static char not_found[] = "not found: try /metrics\n";
    static char not_allowed[] = "only GET\n";
    struct plugin_metrics *m = cls;
    char *body = NULL;
    size_t len = 0;

    (void)version;
    (void)upload_data;
    if (!*req_cls) { /* first call: headers only */
        *req_cls = c;
        return MHD_YES;
    }
    *upload_size = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed), false,
                     "text/plain");
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), false, "text/plain");
    if (plugin_metrics_render(m, &body, &len) < 0)
        return MHD_NO;
    return reply(c, MHD_HTTP_OK, body, len, true, "text/plain; version=0.0.4; charset=utf-8");
}

/* "127.0.0.1:9400", "localhost:9400", "[::1]:9400" -> a socket address. */
static int
resolve(const char *address, struct addrinfo **ret, struct topo_error *err)
{
    _cleanup_free_ char *host = strdup(address);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    char *colon, *h;
    int r;

    if (!host)
        return topo_error_set(err, -ENOMEM, "out of memory");
    colon = strrchr(host, ':');
    if (!colon || colon == host)
        return topo_error_set(err, -EINVAL, "metrics address %s: not HOST:PORT", address);
    *colon = '\0';
    h = host;
    if (h[0] == '[' && colon[-1] == ']') {
        h++;
        colon[-1] = '\0';
    }
    r = getaddrinfo(h, colon + 1, &hints, ret);
    if (r != 0)
        return topo_error_set(err, -EINVAL, "metrics address %s: %s", address, gai_strerror(r));
    return 0;
}

int
plugin_metrics_http_start(struct plugin_metrics *m, const char *address,
                          struct plugin_metrics_http **ret, struct topo_error *err)
{
    struct addrinfo *ai = NULL;
    struct plugin_metrics_http *h;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    int r = resolve(address, &ai, err);

    if (r < 0)
        return r;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h = calloc(1, sizeof(*h));
    if (h)
        h->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h)
        return topo_error_set(err, -ENOMEM, "out of memory");
    if (!h->daemon) {
        free(h);
        return topo_error_set(err, -EADDRNOTAVAIL,
                              "metrics address %s: cannot listen (in use, or not an address "
                              "of this host)",
                              address);
    }
    *ret = h;
    return 0;
}

void
plugin_metrics_http_stop(struct plugin_metrics_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
