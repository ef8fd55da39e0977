#pragma once

#include <sys/types.h>

/* Child processes and temp trees for tests, testd and benchmarks: time
 * limits stretched under valgrind, posix_spawn with output to a file,
 * bounded waits. libc only (no CUnit, no gRPC). */

/* Time limits are multiplied by this: 1, or 10 under KGDP_VALGRIND=1.
 * Callers scale every wait that the program under test must meet. */
int tproc_factor(void);

/* CLOCK_MONOTONIC in milliseconds.
 * For deadlines and durations, never for wall time. */
long tproc_now_ms(void);

/* Spawn argv (argv[0] looked up in PATH) with stdin from /dev/null and
 * stdout+stderr appended to out_path, environ plus extra_env (may be NULL). 0 and *ret_pid, or
 * -errno. */
int tproc_spawn(char *const *argv, const char *out_path, char *const *extra_env, pid_t *ret_pid);

/* tproc_spawn, under valgrind (exit 99 on errors or definite leaks) when
 * KGDP_VALGRIND=1; argv names the program itself. 0 and *ret_pid, or -errno. */
int tproc_spawn_daemon(char *const *argv, const char *out_path, char *const *extra_env,
                       pid_t *ret_pid);

/* Wait up to timeout_ms for pid to exit: 0 with its wait status in
 * *ret_status, -ETIMEDOUT (still running) or -errno. */
int tproc_wait(pid_t pid, int timeout_ms, int *ret_status);

/* Send sig (0: none) to *pid and wait up to timeout_ms: 0 with the wait
 * status (and *pid = 0), -ETIMEDOUT (still running), -ESRCH (*pid <= 0). */
int tproc_stop(pid_t *pid, int sig, int timeout_ms, int *ret_status);

/* Teardown: SIGTERM and up to timeout_ms, then SIGKILL and up to 5 s;
 * *pid = 0 afterwards. No-op when *pid <= 0. */
void tproc_end(pid_t *pid, int timeout_ms);

/* Delete path and everything below it, best effort (no links followed).
 * NULL is a no-op. */
void tproc_rm_tree(const char *path);

/* Open descriptors of pid (entries of /proc/<pid>/fd), or -errno. */
int tproc_fd_count(pid_t pid);

/* Resident set size of pid in kB (VmRSS), or -errno. */
long tproc_rss_kb(pid_t pid);
