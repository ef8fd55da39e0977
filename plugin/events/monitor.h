#pragma once

struct plugin_kubelet_watch;
struct plugin_sink;

/* One thread that turns signals and kubelet dir changes into
 * events posted to sink. */
struct plugin_monitor;

struct plugin_kubelet_watch;
struct plugin_rescan;

/* Start the thread over sig_fd and watch (both stay owned by the
 * caller). SIGHUP becomes a rescan request (the one route to a rescan),
 * the rest events for sink (a kubelet restart re-registers; the hardware
 * did not change). 0 and *ret, or -errno. */
int plugin_monitor_start(const struct plugin_sink *sink, struct plugin_rescan *rescan, int sig_fd,
                         struct plugin_kubelet_watch *watch, struct plugin_monitor **ret);

/* Stop and join the thread, free it. NULL accepted. */
void plugin_monitor_stop(struct plugin_monitor *m);
