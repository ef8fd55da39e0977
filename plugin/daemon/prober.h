#pragma once

struct plugin_loop;

/* A thread that runs a self-probe round of the loop's sockets
 * (plugin_runtime_probe) every interval_ms. */
struct plugin_prober;

/* Start it. 0 and *ret, or -errno. */
int plugin_prober_start(struct plugin_loop *loop, int interval_ms, int timeout_ms,
                        struct plugin_prober **ret);

/* Stop and join it (a round in progress ends first: at most its probes'
 * timeouts), free it. NULL accepted. */
void plugin_prober_stop(struct plugin_prober *p);
