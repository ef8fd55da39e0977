#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "topology/base/error.h"

/* inotify on the kubelet dir and on its parent. */
struct plugin_kubelet_watch;

/* What a buffer of inotify events stands for: loop events (kubelet.sock
 * created or moved in -> KUBELET_NEW; any file deleted or moved out, or
 * the dir itself gone -> DIR_DELETE; overflow -> both), and whether the
 * dir went away or a dir of its name appeared in its parent. */
struct plugin_watch_events {
    unsigned events;
    bool dir_gone;
    bool dir_back;
};

/* Watch dir (which must exist) and its parent. 0 and *ret (close with
 * plugin_kubelet_watch_close), or -errno with err. */
int plugin_kubelet_watch_open(const char *dir, struct plugin_kubelet_watch **ret,
                              struct topo_error *err);
void plugin_kubelet_watch_close(struct plugin_kubelet_watch *w);

/* The inotify descriptor to poll (owned by w). */
int plugin_kubelet_watch_fd(const struct plugin_kubelet_watch *w);

/* Read what is pending, follow the dir when it was replaced, and return
 * the loop events (PLUGIN_EV_*). Never blocks. */
unsigned plugin_kubelet_watch_read(struct plugin_kubelet_watch *w);

/* Parse a buffer of events of the watches wd_dir (the dir) and wd_parent
 * (its parent, where the dir is called dir_name) into *ret. Partial
 * records and other watches are ignored. */
void plugin_kubelet_watch_parse(const void *buf, size_t len, int wd_dir, int wd_parent,
                                const char *dir_name, struct plugin_watch_events *ret);
