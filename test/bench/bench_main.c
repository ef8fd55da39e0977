#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/bench/bench.h"

#define MAX_BENCHES 32

static struct {
    const char *name;
    bench_fn fn;
} benches[MAX_BENCHES];
static size_t n_benches;

void
bench_add(const char *name, bench_fn fn)
{
    if (n_benches == MAX_BENCHES) {
        fprintf(stderr, "too many benchmarks (max %d)\n", MAX_BENCHES);
        abort();
    }
    benches[n_benches].name = name;
    benches[n_benches].fn = fn;
    n_benches++;
}

double
bench_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double
bench_median(double *samples, size_t n)
{
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof(samples[0]), dbl_cmp);
    return samples[n / 2];
}

int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int failed = 0;

    for (size_t i = 0; i < n_benches; i++) {
        if (filter && !strstr(benches[i].name, filter))
            continue;
        printf("== %s\n", benches[i].name);
        fflush(stdout);
        if (benches[i].fn() != 0) {
            printf("%s: could not measure\n", benches[i].name);
            failed = 1;
        }
    }
    return failed;
}
