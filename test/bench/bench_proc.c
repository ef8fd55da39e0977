#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test/bench/bench.h"

double
bench_cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long utime, stime;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "re")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command (which may hold spaces) start after ')' */
    p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* after ") ": state, then fields 4..13; utime and stime are 14 and 15 */
    for (int field = 3; p && field < 14; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return -1;
    utime = strtoul(p + 1, &p, 10);
    stime = strtoul(p, NULL, 10);
    return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The value in kB of "key:" in a /proc file. */
static int
kb_of(const char *path, const char *key, double *ret)
{
    FILE *f = fopen(path, "re");
    char line[256];
    size_t len = strlen(key);
    int r = -ENOENT;

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *end;
        double v;

        if (strncmp(line, key, len) != 0 || line[len] != ':')
            continue;
        v = strtod(line + len + 1, &end);
        if (end != line + len + 1) {
            *ret = v;
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

int
bench_memory(pid_t pid, double ret[BENCH_MEM_N])
{
    char status[64], rollup[64];
    double clean, dirty;
    int r;

    snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
    snprintf(rollup, sizeof(rollup), "/proc/%d/smaps_rollup", (int)pid);
    if ((r = kb_of(status, "VmRSS", &ret[0])) < 0 || (r = kb_of(rollup, "Pss", &ret[1])) < 0 ||
        (r = kb_of(rollup, "Private_Clean", &clean)) < 0 ||
        (r = kb_of(rollup, "Private_Dirty", &dirty)) < 0)
        return r;
    ret[2] = clean + dirty;
    ret[3] = dirty;
    return 0;
}

double
bench_thread_cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
