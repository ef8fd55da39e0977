#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

/* vfio-group-status: what the kernel says of legacy VFIO groups, for the
 * real-kernel test. For each /dev/vfio/<group> argument prints
 * "<path> viable=yes|no" (VFIO_GROUP_GET_STATUS), or "<path> error=<errno
 * text>" when it cannot be opened or asked. Exit 0 when every group could be
 * asked, 1 otherwise. */

static int
group_status(const char *path)
{
    struct vfio_group_status st = {.argsz = sizeof(st)};
    int fd = open(path, O_RDWR | O_CLOEXEC), r = 0;

    if (fd < 0 || ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
        printf("%s error=%s\n", path, strerror(errno));
        r = -1;
    } else {
        printf("%s viable=%s\n", path, st.flags & VFIO_GROUP_FLAGS_VIABLE ? "yes" : "no");
    }
    if (fd >= 0)
        close(fd);
    return r;
}

int
main(int argc, char **argv)
{
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: vfio-group-status /dev/vfio/GROUP...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        failed |= group_status(argv[i]) < 0;
    return failed ? 1 : 0;
}
