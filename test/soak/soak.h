#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "test/kubelet-sim/ksim.h"
#include "test/support/proc.h"

/* Pieces of make soak (test/soak/soak.c). */

/* samples.c: descriptors and RSS of the daemon over the run. */
#define SOAK_MAX_SAMPLES 64

struct soak_sample {
    const char *phase;
    int count; /* progress within the phase */
    long at_ms;
    int fds;
    long rss_kb;
};

struct soak_samples {
    struct soak_sample v[SOAK_MAX_SAMPLES];
    size_t n;
    long start_ms;
};

/* Record the descriptors and RSS of pid now (dropped when full). */
void soak_sample(struct soak_samples *s, pid_t pid, const char *phase, int count);
/* Print every sample as a table on stdout. */
void soak_print(const struct soak_samples *s);
/* Compare the last samples of phases from and to: 0 when descriptors grew
 * by at most fd_noise and RSS by at most rss_noise_kb, else -1 (printed). */
int soak_growth(const struct soak_samples *s, const char *from, const char *to, int fd_noise,
                long rss_noise_kb);

/* slow_reader.c: a ListAndWatch client on its own connection that takes
 * one list every few milliseconds, with a small flow-control window, so
 * that the daemon's sends wait on it. */
struct soak_slow_reader;
int soak_slow_reader_start(const char *socket_path, struct soak_slow_reader **ret);
/* Lists received so far. */
int soak_slow_reader_lists(struct soak_slow_reader *r);
/* Cancel the stream, join, free. NULL accepted. */
void soak_slow_reader_stop(struct soak_slow_reader *r);

/* Wait until id is Healthy in the last list of resource. 0 or -ETIMEDOUT. */
int soak_wait_healthy(struct ksim *sim, const char *resource, const char *id, int timeout_ms);
