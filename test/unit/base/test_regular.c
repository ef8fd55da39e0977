#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test/support/proc.h"
#include "test/support/suite.h"
#include "topology/base/regular.h"

/* topo_open_regular: regular files open, anything else is refused at once
 * (a FIFO without a writer included: a blocking open would hang here). */
static void
test_open_regular(void)
{
    char dir[] = "/tmp/kgdp-regular-XXXXXX";
    int dfd, fd = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_TRUE_FATAL(dfd >= 0);
    CU_ASSERT_EQUAL(mkfifoat(dfd, "fifo", 0644), 0);
    CU_ASSERT_EQUAL(mkdirat(dfd, "sub", 0755), 0);
    fd = openat(dfd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CU_ASSERT_TRUE(fd >= 0 && write(fd, "1\n", 2) == 2);
    close(fd);
    fd = -1;
    CU_ASSERT_EQUAL(topo_open_regular(dfd, "file", &fd), 0);
    CU_ASSERT_TRUE(fd >= 0);
    if (fd >= 0)
        close(fd);
    fd = -1;
    CU_ASSERT_EQUAL(topo_open_regular(dfd, "fifo", &fd), -EBADFD);
    CU_ASSERT_EQUAL(topo_open_regular(dfd, "sub", &fd), -EISDIR);
    CU_ASSERT_EQUAL(topo_open_regular(dfd, "missing", &fd), -ENOENT);
    CU_ASSERT_EQUAL(topo_open_regular(AT_FDCWD, "/dev/null", &fd), -EBADFD);
    CU_ASSERT_EQUAL(fd, -1); /* untouched on failure */
    close(dfd);
    tproc_rm_tree(dir);
}

TEST_SUITE(base_regular, NULL, NULL, {"open only regular files, never block", test_open_regular})
