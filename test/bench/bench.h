#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Benchmarks register themselves from a constructor (like test suites);
 * test/bench/bench_main.c runs them all, or those whose name contains
 * argv[1], then prints ONE table: each figure beside its baseline measured
 * in the same run, the ratio, and the goal when the project has one. A
 * benchmark adds rows with bench_row() and returns 0, or non-zero when it
 * could not measure (said on stderr). Adding a benchmark = adding rows. */
typedef int (*bench_fn)(void);

void bench_add(const char *name, bench_fn fn);

#define BENCH(ident)                                                                               \
    static int ident(void);                                                                        \
    __attribute__((constructor)) static void ident##_register(void)                                \
    {                                                                                              \
        bench_add(#ident, ident);                                                                  \
    }                                                                                              \
    static int ident(void)

/* How a row's goal is judged. */
enum bench_goal {
    BENCH_GOAL_NONE = 0,
    BENCH_GOAL_RATIO_MAX, /* value / baseline <= goal */
    BENCH_GOAL_VALUE_MAX, /* value <= goal (in the row's unit) */
};

struct bench_row {
    const char *figure;   /* "discover large (4064 fn), per function" */
    double value;
    const char *unit;     /* "us", "ms", "KiB", ... */
    const char *baseline; /* what value is set beside, NULL when none */
    double base;          /* baseline value, same unit */
    enum bench_goal goal_kind;
    double goal;
};

/* Add one row to the table (strings are copied). */
void bench_row(const struct bench_row *row);

/* Monotonic clock in milliseconds. */
double bench_now_ms(void);

/* Median of n samples (sorts them in place). */
double bench_median(double *samples, size_t n);

/* The p-th percentile (0..100) of n samples (sorts them in place). */
double bench_percentile(double *samples, size_t n, double p);

/* CPU time (user + system) of process pid so far, in ms; < 0 on error. */
double bench_cpu_ms(pid_t pid);

/* CPU time of the calling thread in ms: what a request costs the serving
 * thread, without the time other processes on a busy machine take. */
double bench_thread_cpu_ms(void);

/* Memory of process pid in KiB from /proc/PID/status and smaps_rollup:
 * ret[0] resident set, ret[1] proportional set, ret[2] private (clean +
 * dirty: includes the text of a binary no other process maps), ret[3]
 * private dirty (what this process alone wrote). 0 or -errno. */
#define BENCH_MEM_N 4
int bench_memory(pid_t pid, double ret[BENCH_MEM_N]);
