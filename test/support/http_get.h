#pragma once

/* A minimal HTTP/1.0 GET for tests (the daemon's /metrics, Prometheus'
 * API): connect to 127.0.0.1:port, send the request, read the whole
 * answer within timeout_ms. 0 with the status code in *ret_status and the
 * body in *ret_body (caller frees), or -errno. libc only. */
int thttp_get(int port, const char *path, int timeout_ms, int *ret_status, char **ret_body);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
 * closed), or -errno. */
int thttp_free_port(void);
