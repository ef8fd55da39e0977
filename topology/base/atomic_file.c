#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology/base/atomic_file.h"
#include "topology/base/cleanup.h"

/* Files others read while we replace them (CDI specs, NFD feature files):
 * readers see the old bytes or the new ones, never a mix, and a crash
 * leaves no half-written file under the real name. */

#define FILE_MODE 0644
/* Larger files cannot be ours; they simply count as different. */
#define COMPARE_MAX (16u << 20)

/* Read exactly len bytes (short only at EOF); bytes read or -errno. */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int
write_full(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Does dirfd/name already hold exactly data, as a plain 0644 file? */
static bool
same_content(int dirfd, const char *name, const char *data, size_t len)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    ssize_t n;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (st.st_mode & 07777) != FILE_MODE || (size_t)st.st_size != len || len > COMPARE_MAX)
        return false;
    buf = malloc(len + 1);
    if (!buf)
        return false;
    /* Read one byte more than expected to notice a file that grew. */
    n = read_full(fd, buf, len + 1);
    return n == (ssize_t)len && memcmp(buf, data, len) == 0;
}

/* Create a fresh temp file beside name; its name starts with '.' and ends
 * in ".tmp": CDI consumers load only JSON and YAML specs, NFD skips dot
 * files. */
static int
create_temp(int dirfd, const char *name, char **ret_name, int *ret_fd)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned long long rnd;
        char *tmp;
        int fd, r;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
            rnd = ((unsigned long long)getpid() << 20) ^ (unsigned long long)attempt;
        if (asprintf(&tmp, ".%s.%016llx%s", name, rnd, TOPO_ATOMIC_TEMP_SUFFIX) < 0)
            return -ENOMEM;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
        if (fd >= 0) {
            *ret_name = tmp;
            *ret_fd = fd;
            return 0;
        }
        r = -errno; /* before free() */
        free(tmp);
        if (r != -EEXIST)
            return r;
    }
    return -EEXIST;
}

/* Fill the temp file and make it durable; "what" names the failed step. */
static int
fill_temp(int fd, const char *data, size_t len, const char **what)
{
    int r;

    *what = "write";
    r = write_full(fd, data, len);
    if (r < 0)
        return r;
    /* The umask must not decide who can read the file. */
    *what = "chmod";
    if (fchmod(fd, FILE_MODE) < 0)
        return -errno;
    *what = "fsync";
    if (fsync(fd) < 0)
        return -errno;
    return 0;
}

int
topo_atomic_write_at(int dirfd, const char *name, const char *data, size_t len, bool *ret_changed,
                  struct topo_error *err)
{
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -1;
    const char *what = "create temp file for";
    int r;

    if (!name[0] || strchr(name, '/') || name[0] == '.')
        return topo_error_set(err, -EINVAL, "invalid file name \"%s\"", name);
    if (same_content(dirfd, name, data, len)) {
        *ret_changed = false;
        return 0;
    }
    r = create_temp(dirfd, name, &tmp, &fd);
    if (r < 0)
        return topo_error_set(err, r, "create temp file for %s: %s", name, strerror(-r));
    r = fill_temp(fd, data, len, &what);
    if (r == 0) {
        what = "close";
        r = close(TAKE_FD(fd)) < 0 ? -errno : 0;
    }
    if (r == 0) {
        what = "rename temp file to";
        r = renameat(dirfd, tmp, dirfd, name) < 0 ? -errno : 0;
    }
    if (r < 0) {
        /* The analyzer takes a failed openat()'s -errno for a success. */
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
        unlinkat(dirfd, tmp, 0);
        return topo_error_set(err, r, "%s %s: %s", what, name, strerror(-r));
    }
    /* The rename itself must survive a crash too. */
    if (fsync(dirfd) < 0)
        return topo_error_set(err, -errno, "fsync directory of %s: %s", name, strerror(errno));
    *ret_changed = true;
    return 0;
}
