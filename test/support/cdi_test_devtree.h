#pragma once

#include <stdbool.h>

/* A fixture's dev tree as a CDI consumer needs it: the CDI library stats
 * every hostPath at injection, and fixture /dev entries are plain files. */

enum cdi_t_node_kind {
    CDI_T_NODE_MKNOD,   /* character devices with /dev/null's major:minor */
    CDI_T_NODE_SYMLINK, /* symlinks to /dev/null (no CAP_MKNOD) */
};

/* Copy the tree src to dst (created), turning every regular file into a
 * character device with the major:minor of /dev/null when mknod is allowed,
 * else into a symlink to /dev/null; *ret_kind says which. 0 or -errno. */
int cdi_t_devtree_copy(const char *src, const char *dst, enum cdi_t_node_kind *ret_kind);

/* Words for a node kind, for test output. */
const char *cdi_t_node_kind_str(enum cdi_t_node_kind kind);
