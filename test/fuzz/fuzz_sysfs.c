#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/host/sysfs.h"

/* The sysfs attribute readers and parsers: one bounded read of a file that
 * holds the input (buffers smaller and larger than it), then the number,
 * "vfioN" and PCI address parsers on what was read. */

static int dir_fd = -1;
static char dir_path[] = "/tmp/kgdp-fuzz-sysfs-XXXXXX";

static void
remove_dir(void)
{
    unlinkat(dir_fd, "attr", 0);
    rmdir(dir_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse_all(const char *s)
{
    int v;

    if (topo_parse_int(s, &v) == 0 && v < 0 && s[0] != '-')
        abort(); /* a negative number without a sign */
    (void)topo_parse_prefixed_int(s, "vfio", &v);
    (void)topo_parse_prefixed_int(s, "", &v);
    if (topo_is_bdf(s) && strlen(s) != 12 && strlen(s) != 13)
        abort(); /* "dddd:bb:dd.f" or a 5-digit domain */
    (void)topo_path_basename(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[] = {1, 8, 64, 4097};
    int fd;

    if (dir_fd < 0) {
        if (!mkdtemp(dir_path) || (dir_fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            abort();
        atexit(remove_dir);
    }
    fd = openat(dir_fd, "attr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
        abort();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *buf = malloc(sizes[i]);
        int n;

        if (!buf)
            abort();
        n = topo_sysfs_read(dir_fd, "attr", buf, sizes[i]);
        if (n >= 0 && ((size_t)n >= sizes[i] || buf[n] != '\0'))
            abort(); /* over-long or unterminated */
        if (n >= 0)
            parse_all(buf);
        free(buf);
    }
    return 0;
}
