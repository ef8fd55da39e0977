#pragma once

/* Open path (relative to dirfd, or AT_FDCWD) for reading, refusing
 * anything but a regular file. Opened O_NONBLOCK, so that a FIFO or a
 * device planted where a sysfs attribute or a config file belongs can
 * neither block the open nor the read. 0 and *ret_fd (the caller closes
 * it), or -errno: -EISDIR for a directory, -EBADFD for any other kind of
 * file, or open's error. */
int topo_open_regular(int dirfd, const char *path, int *ret_fd);
