#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "test/bench/bench.h"

#define MAX_BENCHES 32
#define MAX_ROWS 128
#define DASHES "----------------------------------------------------------------"

static struct {
    const char *name;
    bench_fn fn;
} benches[MAX_BENCHES];
static size_t n_benches;

static struct bench_row rows[MAX_ROWS];
static size_t n_rows;

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

void
bench_row(const struct bench_row *row)
{
    struct bench_row *r;

    if (n_rows == MAX_ROWS) {
        fprintf(stderr, "bench: too many rows (max %d)\n", MAX_ROWS);
        return;
    }
    r = &rows[n_rows];
    *r = *row;
    r->figure = strdup(row->figure);
    r->unit = strdup(row->unit ? row->unit : "");
    r->baseline = row->baseline ? strdup(row->baseline) : NULL;
    if (!r->figure || !r->unit || (row->baseline && !r->baseline)) {
        fprintf(stderr, "bench: out of memory\n");
        return;
    }
    n_rows++;
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
bench_percentile(double *samples, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    qsort(samples, n, sizeof(samples[0]), dbl_cmp);
    i = (size_t)((double)n * p / 100.0);
    return samples[i < n ? i : n - 1];
}

double
bench_median(double *samples, size_t n)
{
    return bench_percentile(samples, n, 50);
}

/* "model name : ..." of the first CPU. */
static void
cpu_model(char *buf, size_t size)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[512];

    snprintf(buf, size, "unknown CPU");
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');

        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, size, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
}

static void
print_header(void)
{
    char cpu[256], date[64];
    struct utsname u;
    time_t now = time(NULL);

    cpu_model(cpu, sizeof(cpu));
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    if (uname(&u) < 0)
        snprintf(u.release, sizeof(u.release), "unknown");
    printf("\nkata-gpu-device-plugin benchmarks, %s\n", date);
    printf("machine: %s, %ld cores, Linux %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), u.release);
    printf("(medians unless the figure says p99; each baseline measured in the same run)\n\n");
}

static const char *
verdict(const struct bench_row *r, char *goal, size_t size)
{
    double ratio = r->base > 0 ? r->value / r->base : 0;

    switch (r->goal_kind) {
    case BENCH_GOAL_RATIO_MAX:
        snprintf(goal, size, "<= %.2fx", r->goal);
        return r->base > 0 && ratio <= r->goal ? "met" : "MISSED";
    case BENCH_GOAL_VALUE_MAX:
        snprintf(goal, size, "< %g %s", r->goal, r->unit);
        return r->value < r->goal ? "met" : "MISSED";
    case BENCH_GOAL_NONE:
        break;
    }
    snprintf(goal, size, "-");
    return "";
}

static void
print_table(void)
{
    print_header();
    printf("| %-52s | %12s | %-34s | %12s | %6s | %-10s | %-6s |\n", "figure", "value",
           "baseline (same run)", "baseline", "ratio", "goal", "");
    printf("|%.54s|%.14s|%.36s|%.14s|%.8s|%.12s|%.8s|\n", DASHES, DASHES, DASHES, DASHES,
           DASHES, DASHES, DASHES);
    for (size_t i = 0; i < n_rows; i++) {
        const struct bench_row *r = &rows[i];
        char value[32], base[32], ratio[16], goal[32];
        const char *v = verdict(r, goal, sizeof(goal));

        snprintf(value, sizeof(value), "%.*f %s", r->value < 10 ? 2 : 1, r->value, r->unit);
        snprintf(base, sizeof(base), "%.*f %s", r->base < 10 ? 2 : 1, r->base, r->unit);
        snprintf(ratio, sizeof(ratio), "%.2fx", r->base > 0 ? r->value / r->base : 0);
        printf("| %-52s | %12s | %-34s | %12s | %6s | %-10s | %-6s |\n", r->figure, value,
               r->baseline ? r->baseline : "-", r->baseline ? base : "-",
               r->baseline && r->base > 0 ? ratio : "-", goal, v);
    }
}

int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int failed = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n_benches; i++) {
        double t0 = bench_now_ms();

        if (filter && !strstr(benches[i].name, filter))
            continue;
        fprintf(stderr, "bench: %s ...\n", benches[i].name);
        if (benches[i].fn() != 0) {
            fprintf(stderr, "bench: %s: could not measure\n", benches[i].name);
            failed = 1;
        }
        fprintf(stderr, "bench: %s took %.1f s\n", benches[i].name, (bench_now_ms() - t0) / 1e3);
    }
    print_table();
    return failed;
}
