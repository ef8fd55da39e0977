#pragma once

#include <signal.h>
#include <stddef.h>

#include "topology/error.h"

struct plugin_loop;

/* kubelet_watch.c: inotify on the kubelet dir. */

/* inotify fd watching dir for files created, deleted or moved (owned by
 * the caller). 0 or -errno with err (a missing dir is a clear error). */
int plugin_kubelet_watch_open(const char *dir, int *ret_fd, struct topo_error *err);

/* Loop events (PLUGIN_EV_*) that a buffer of inotify events stands for:
 * kubelet.sock created or moved in -> KUBELET_NEW; any file deleted or
 * moved out -> DIR_DELETE; overflow -> both. Partial records are ignored. */
unsigned plugin_kubelet_watch_parse(const void *buf, size_t len);

/* signals.c */

/* Block SIGTERM, SIGINT and SIGHUP in the calling thread (and every thread
 * it starts afterwards, libgrpc's included); old mask in *old. 0 or -errno. */
int plugin_signals_block(sigset_t *old);

/* signalfd for the blocked signals (owned by the caller). 0 or -errno. */
int plugin_signals_open(int *ret_fd);

/* Read pending signals from fd; the loop events they ask for. */
unsigned plugin_signals_read(int fd);

/* monitor.c: one thread that turns signals and kubelet dir changes into
 * loop events. */
struct plugin_monitor;

/* Start the thread over sig_fd and watch_fd (both stay owned by the
 * caller). 0 and *ret, or -errno. */
int plugin_monitor_start(struct plugin_loop *loop, int sig_fd, int watch_fd,
                         struct plugin_monitor **ret);

/* Stop and join the thread, free it. NULL accepted. */
void plugin_monitor_stop(struct plugin_monitor *m);
