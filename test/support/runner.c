#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test/support/suite.h"

#define MAX_SUITES 128

static struct {
    const char *name;
    CU_InitializeFunc init;
    CU_CleanupFunc cleanup;
    CU_TestInfo *tests;
} suites[MAX_SUITES];
static size_t n_suites;

void
test_suite_add(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
               CU_TestInfo *tests)
{
    if (n_suites == MAX_SUITES) {
        fprintf(stderr, "too many test suites (max %d)\n", MAX_SUITES);
        abort();
    }
    suites[n_suites].name = name;
    suites[n_suites].init = init;
    suites[n_suites].cleanup = cleanup;
    suites[n_suites].tests = tests;
    n_suites++;
}

/* Parent pid of process pid from /proc/<pid>/stat: 0 and *ret, or -errno
 * (-EINVAL for a line that does not parse). */
static int
parent_of(const char *pid, pid_t *ret)
{
    char *path = NULL, buf[512], *p, *end;
    FILE *f;
    size_t n;
    long ppid;

    if (asprintf(&path, "/proc/%s/stat", pid) < 0)
        return -ENOMEM;
    f = fopen(path, "re");
    free(path);
    if (!f)
        return -errno;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -EINVAL;
    errno = 0;
    ppid = strtol(p + 4, &end, 10);
    if (errno || end == p + 4 || ppid <= 0)
        return -EINVAL;
    *ret = (pid_t)ppid;
    return 0;
}

/* A fatal assertion leaves its test early, possibly with a daemon still
 * running: stop every child that is left when the runner exits. */
static void
stop_leftover_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10), ppid;

        if (pid > 0 && parent_of(e->d_name, &ppid) == 0 && ppid == getpid()) {
            fprintf(stderr, "runner: stopping leftover child %d\n", (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    closedir(d);
}

/* With KGDP_TEST_SUMMARY set, append this run's counts to that file as one
 * line, "<program> suites=N suites_failed=N tests=N tests_failed=N
 * asserts=N asserts_failed=N", for scripts/test-summary.sh to add up over
 * every test program of make test. */
static void
append_summary(const char *program)
{
    const char *path = getenv("KGDP_TEST_SUMMARY");
    const char *name = strrchr(program, '/');
    FILE *f;

    if (!path || !*path)
        return;
    f = fopen(path, "ae");
    if (!f) {
        fprintf(stderr, "runner: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f,
            "%s suites=%u suites_failed=%u tests=%u tests_failed=%u asserts=%u "
            "asserts_failed=%u\n",
            name ? name + 1 : program, CU_get_number_of_suites_run(),
            CU_get_number_of_suites_failed(), CU_get_number_of_tests_run(),
            CU_get_number_of_tests_failed(), CU_get_number_of_asserts(),
            CU_get_number_of_failures());
    if (fclose(f) != 0)
        fprintf(stderr, "runner: %s: %s\n", path, strerror(errno));
}

/* Usage: runner [SUITE-SUBSTRING]: run every suite, or those whose name
 * contains the argument. Exit status 1 when anything failed. */
int
main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    unsigned failed;

    atexit(stop_leftover_children);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < n_suites; i++) {
        CU_pSuite s;

        if (filter && !strstr(suites[i].name, filter))
            continue;
        s = CU_add_suite(suites[i].name, suites[i].init, suites[i].cleanup);
        if (!s)
            return 2;
        for (CU_TestInfo *t = suites[i].tests; t->pName; t++)
            if (!CU_add_test(s, t->pName, t->pTestFunc))
                return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    append_summary(argv[0]);
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
             CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
