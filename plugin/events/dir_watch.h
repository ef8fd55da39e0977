#pragma once

#include "topology/base/error.h"

/* A thread watching a directory that the daemon writes into for its
 * consumers (the CDI dir): when someone else creates, changes, removes or
 * renames a file in it, or the directory itself goes away, cb(ctx) is
 * called (a rescan request, which rewrites what is ours at once instead of
 * at the next periodic rescan). Names starting with '.' (temp files) are
 * not looked at. While the directory does not exist it is looked for once
 * a second, and cb is called when it appears. */
struct plugin_dir_watch;

/* Start watching dir (copied; it need not exist yet). 0 and *ret, or
 * -errno with err. */
int plugin_dir_watch_start(const char *dir, void (*cb)(void *ctx), void *ctx,
                           struct plugin_dir_watch **ret, struct topo_error *err);

/* Stop and join the thread, free it. NULL accepted. */
void plugin_dir_watch_stop(struct plugin_dir_watch *w);
