#pragma once

#include <stdbool.h>

/* Helpers shared by cdi/dir.c and cdi/foreign.c; not part of the API. */

/* The "kind" of a foreign spec file dirfd/name (JSON, else a top-level
 * YAML "kind:" line). 0 and a malloc'ed kind, or -ENOENT when unreadable
 * or without a kind. */
int cdi_foreign_kind(int dirfd, const char *name, char **ret);

bool cdi_name_has_suffix(const char *name, const char *suffix);

/* Would a CDI consumer (or a YAML-minded reader) take name for a spec? */
bool cdi_name_is_spec(const char *name);
