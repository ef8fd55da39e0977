#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test/support/proc.h"

int
tproc_factor(void)
{
    const char *v = getenv("KGDP_VALGRIND");

    return v && strcmp(v, "1") == 0 ? 10 : 1;
}

long
tproc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static size_t
count(char *const *v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    return n;
}

/* a then b (both NULL-terminated, may be NULL) in one malloc'ed,
 * NULL-terminated array; the strings are borrowed. */
static char **
concat(char *const *a, char *const *b)
{
    size_t n = count(a), m = count(b);
    char **v = calloc(n + m + 1, sizeof(*v));

    if (!v)
        return NULL;
    if (n)
        memcpy(v, a, n * sizeof(*v));
    if (m)
        memcpy(v + n, b, m * sizeof(*v));
    return v;
}

int
tproc_spawn(char *const *argv, const char *out_path, char *const *extra_env, pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    char **env = concat(environ, extra_env);
    pid_t pid;
    int r;

    if (!env)
        return -ENOMEM;
    /* posix_spawn, never fork: callers run gRPC threads. */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (r != 0)
        return -r;
    *ret_pid = pid;
    return 0;
}

int
tproc_spawn_daemon(char *const *argv, const char *out_path, char *const *extra_env, pid_t *ret_pid)
{
    /* Possible leaks count too; what libraries keep in ways valgrind
     * cannot follow is listed, with the reason, in scripts/valgrind.supp. */
    static char *const vg[] = {"valgrind",
                               "-q",
                               "--error-exitcode=99",
                               "--leak-check=full",
                               "--errors-for-leak-kinds=definite,possible",
                               "--show-leak-kinds=definite,possible",
                               "--trace-children=no",
                               NULL, /* --suppressions=, when the source dir is known */
                               NULL};
    char *vg_args[sizeof(vg) / sizeof(vg[0])];
    const char *src = getenv("KGDP_SRCDIR");
    char *supp = NULL;
    char **full;
    int r;

    if (tproc_factor() == 1)
        return tproc_spawn(argv, out_path, extra_env, ret_pid);
    memcpy(vg_args, vg, sizeof(vg));
    if (src && asprintf(&supp, "--suppressions=%s/scripts/valgrind.supp", src) >= 0)
        vg_args[sizeof(vg) / sizeof(vg[0]) - 2] = supp;
    full = concat(vg_args, argv);
    if (!full) {
        free(supp);
        return -ENOMEM;
    }
    r = tproc_spawn(full, out_path, extra_env, ret_pid);
    free(full);
    free(supp);
    return r;
}

int
tproc_wait(pid_t pid, int timeout_ms, int *ret_status)
{
    long end = tproc_now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid) {
            *ret_status = status;
            return 0;
        }
        if (r < 0)
            return -errno;
        if (tproc_now_ms() >= end)
            return -ETIMEDOUT;
        usleep(2000);
    }
}

int
tproc_stop(pid_t *pid, int sig, int timeout_ms, int *ret_status)
{
    int r;

    if (*pid <= 0)
        return -ESRCH;
    if (sig && kill(*pid, sig) < 0)
        return -errno;
    r = tproc_wait(*pid, timeout_ms, ret_status);
    if (r == 0)
        *pid = 0;
    return r;
}

void
tproc_end(pid_t *pid, int timeout_ms)
{
    int status;

    if (*pid <= 0 || tproc_stop(pid, SIGTERM, timeout_ms, &status) == 0)
        return;
    kill(*pid, SIGKILL);
    tproc_wait(*pid, 5000, &status);
    *pid = 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void
tproc_rm_tree(const char *path)
{
    if (path)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
tproc_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *e;
    int n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (!d)
        return -errno;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

long
tproc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -ENODATA;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *end;
        long v;

        if (strncmp(line, "VmRSS:", 6) != 0)
            continue;
        errno = 0;
        v = strtol(line + 6, &end, 10);
        if (errno == 0 && end != line + 6)
            kb = v;
        break;
    }
    fclose(f);
    return kb;
}
