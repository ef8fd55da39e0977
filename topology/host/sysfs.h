#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Root-relative sysfs readers: every path is relative to a directory fd
 * (the configured sysfs root or a device directory), one bounded read per
 * attribute, checked parsers. Internal to topology/. */

/* Read the attribute at dirfd/path into buf (NUL-terminated, trailing
 * newline removed). Returns its length, -errno on failure, -EFBIG when it
 * does not fit in size-1 bytes, -EBADFD/-EISDIR when it is not a regular
 * file (never blocks on a FIFO). buf is untouched on failure. */
int topo_sysfs_read(int dirfd, const char *path, char *buf, size_t size);

/* Target of the symlink dirfd/path in a new string (*ret, caller frees).
 * Returns 0, or -errno (-ENOENT: no such link, -EINVAL: not a link). */
int topo_sysfs_readlink(int dirfd, const char *path, char **ret);

/* Does dirfd/path exist, following links (a dangling link does not)? */
bool topo_sysfs_exists(int dirfd, const char *path);

/* Called by topo_sysfs_list for each entry name; a negative return stops
 * the listing and is returned by it. */
typedef int topo_sysfs_entry_fn(const char *name, void *ctx);

/* Call fn for every entry of the directory dirfd/path except "." and "..",
 * with raw getdents64 (open, reads, close: no stdio, no DIR). Returns 0,
 * -errno when the directory cannot be read, or fn's negative return. */
int topo_sysfs_list(int dirfd, const char *path, topo_sysfs_entry_fn *fn, void *ctx);

/* The last component of a path (pointer into path). */
const char *topo_path_basename(const char *path);

/* Parse a whole decimal int (optional '-'); 0 or -EINVAL / -ERANGE. */
int topo_parse_int(const char *s, int *ret);

/* Parse "vfioN" style names: prefix followed by a decimal >= 0. */
int topo_parse_prefixed_int(const char *s, const char *prefix, int *ret);

/* Is s a canonical PCI address "dddd:bb:dd.f" (4 or 5 hex digit domain)? */
bool topo_is_bdf(const char *s);
