#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/support/promtool.h"
#include "test/support/proc.h"

int
tprom_check_metrics(const char *text, const char *out_path)
{
    char in[] = "/tmp/kgdp-promtool-XXXXXX";
    char *cmd = NULL;
    char *argv[] = {"sh", "-c", NULL, NULL};
    int fd = mkstemp(in), status = 0, r;
    size_t len = strlen(text);
    pid_t pid;

    if (fd < 0)
        return -errno;
    r = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
    close(fd);
    if (r == 0 && asprintf(&cmd, "exec promtool check metrics < '%s'", in) < 0)
        r = -ENOMEM;
    argv[2] = cmd;
    if (r == 0)
        r = tproc_spawn(argv, out_path, NULL, &pid);
    if (r == 0)
        r = tproc_wait(pid, 60000 * tproc_factor(), &status);
    free(cmd);
    unlink(in);
    if (r < 0)
        return r;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
