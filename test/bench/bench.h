#pragma once

#include <stddef.h>

/* Benchmarks register themselves from a constructor (like test suites);
 * test/bench/bench_main.c runs them all, or those whose name contains
 * argv[1]. A benchmark prints its own result lines and returns 0, or
 * non-zero when it could not measure. */
typedef int (*bench_fn)(void);

void bench_add(const char *name, bench_fn fn);

#define BENCH(ident)                                                                               \
    static int ident(void);                                                                        \
    __attribute__((constructor)) static void ident##_register(void)                                \
    {                                                                                              \
        bench_add(#ident, ident);                                                                  \
    }                                                                                              \
    static int ident(void)

/* Monotonic clock in milliseconds. */
double bench_now_ms(void);

/* Median of n samples (sorts them in place). */
double bench_median(double *samples, size_t n);
