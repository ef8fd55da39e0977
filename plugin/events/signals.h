#pragma once

#include <signal.h>

/* Block SIGTERM, SIGINT and SIGHUP in the calling thread (and every thread
 * it starts afterwards, libgrpc's included); old mask in *old. Ignore
 * SIGXFSZ (a file size limit is an error to report, not a reason to die).
 * 0 or -errno. */
int plugin_signals_block(sigset_t *old);

/* signalfd for the blocked signals (owned by the caller). 0 or -errno. */
int plugin_signals_open(int *ret_fd);

/* Read pending signals from fd; the loop events they ask for. */
unsigned plugin_signals_read(int fd);
