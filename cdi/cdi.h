#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "topology/base/atomic_file.h"
#include "topology/base/error.h"
#include "topology/units/inventory.h"

/* CDI specs rendered from an inventory snapshot: one spec per resource,
 * kind = resource name, one device per device ID whose containerEdits are
 * exactly the device nodes Allocate returns for it. Consumers: Kata's shim
 * and containerd (see FACTS.md "CDI"). */

/* The version we write: the highest every consumer accepts, and the lowest
 * that allows hostPath and device names starting with a digit. */
#define CDI_VERSION "0.5.0"

/* Our spec files are "<prefix><vendor>-<class>.json"; the prefix is how we
 * recognise ours (JSON has no comments), distinct from the Go plugin's
 * "<vendor>-<class>.yaml". Temp files start with "." and end in ".tmp" so
 * that no CDI consumer loads them. */
#define CDI_FILE_PREFIX "kata-gpu-device-plugin_"
#define CDI_FILE_SUFFIX ".json"
#define CDI_TEMP_PREFIX "." CDI_FILE_PREFIX
#define CDI_TEMP_SUFFIX TOPO_ATOMIC_TEMP_SUFFIX

struct cdi_node {
    char *path;      /* inside the container / VM */
    char *host_path; /* NULL: same as path */
};

struct cdi_device {
    char *name;
    size_t n_nodes;
    struct cdi_node *nodes;
};

struct cdi_spec {
    char *version;
    char *kind;
    size_t n_devices;
    struct cdi_device *devices; /* sorted by name once built from an inventory */
};

/* --- model (cdi/spec.c) --- */

/* Build the spec of one resource (deep copy, devices sorted by name,
 * version CDI_VERSION); devices without device nodes are left out (they
 * are unhealthy and cannot be allocated; the CDI library rejects a device
 * with empty edits). 0 and *ret filled (clear with cdi_spec_clear), or -errno. */
int cdi_spec_from_resource(const struct inv_resource *res, struct cdi_spec *ret,
                           struct topo_error *err);

/* Free what a spec owns and zero it; NULL accepted. */
void cdi_spec_clear(struct cdi_spec *spec);

/* File name of our spec for a kind: "kata-gpu-device-plugin_nvidia.com-pgpu.json".
 * 0 and a malloc'ed name in *ret, -EINVAL for a kind without "vendor/class". */
int cdi_spec_file_name(const char *kind, char **ret, struct topo_error *err);

/* --- names and validation (cdi/names.c) --- */

/* The fully qualified CDI device name "<kind>=<name>"
 * ("nvidia.com/pgpu=0000:18:00.0"), which consumers resolve through the
 * specs. 0 and *ret (owned by the caller), or -ENOMEM. */
int cdi_qualified_name(const char *kind, const char *name, char **ret);

/* Name rules of the CDI library (and its parser's limits): 0 or -EINVAL with
 * the reason in err. */
int cdi_validate_vendor(const char *vendor, struct topo_error *err);
int cdi_validate_class(const char *class_name, struct topo_error *err);
int cdi_validate_kind(const char *kind, struct topo_error *err);
int cdi_validate_device_name(const char *name, struct topo_error *err);

/* Compare two "X.Y.Z" versions: <0, 0, >0. A malformed version sorts
 * before every well-formed one (so it never meets a minimum). */
int cdi_version_compare(const char *a, const char *b);

/* The lowest cdiVersion whose rules this spec needs (static string). */
const char *cdi_spec_min_version(const struct cdi_spec *spec);

/* Everything a consumer would reject: unsupported version or one below the
 * spec's minimum, bad kind or device names, duplicate names, a device
 * without edits, empty or relative paths. 0 or -EINVAL naming the culprit. */
int cdi_spec_validate(const struct cdi_spec *spec, struct topo_error *err);

/* --- rendering (cdi/render.c) --- */

/* Validate and render a spec as pretty JSON with a trailing newline; the
 * same spec always gives the same bytes. 0 and a malloc'ed NUL-terminated
 * text in *ret (length in *ret_len), or -errno. */
int cdi_spec_render(const struct cdi_spec *spec, char **ret, size_t *ret_len,
                    struct topo_error *err);

/* Every spec of the inventory, in resource order, as one text of
 * concatenated JSON documents (each exactly what cdi_sync would write).
 * Nothing is returned unless every spec is valid. 0 and malloc'ed *ret, or -errno. */
int cdi_render_all(const struct inventory *inv, char **ret, size_t *ret_len,
                   struct topo_error *err);

/* --- directory sync (cdi/dir.c) --- */

struct cdi_conflict {
    char *path; /* DIR/file of a foreign spec */
    char *kind; /* the kind of ours it defines */
};

struct cdi_failure {
    char *kind;  /* a kind of ours whose spec is not on disk and current */
    char *error; /* why: the failed step and its errno text */
};

struct cdi_report {
    size_t n_written;
    char **written;   /* our files created or rewritten (file names) */
    size_t n_unchanged;
    size_t n_removed;
    char **removed;   /* files removed: stale ones of ours, foreign ones taken over */
    size_t n_conflicts;
    struct cdi_conflict *conflicts; /* foreign specs defining one of our kinds */
    size_t n_skipped;
    char **skipped;   /* kinds not written because of a conflict (no takeover) */
    size_t n_failed;
    struct cdi_failure *failed; /* kinds whose spec could not be written (dir full,
                                 * read-only, ...); the others are in place */
};

/* Make dir hold exactly our specs for inv (dir is created when missing):
 * write changed specs atomically, remove our specs of resources that no
 * longer exist and leftover temp files of ours. Foreign .json/.yaml/.yml
 * files defining one of our kinds are reported as conflicts; with takeover
 * they are removed and ours written, without it ours for that kind are not
 * written (and an earlier one is removed), since two specs defining the same
 * device break every CDI lookup on the node. Nothing is written unless every
 * spec is valid. A spec that cannot be written does not stop the others: its
 * kind is reported in ret->failed. 0 and *ret filled (clear with
 * cdi_report_clear; conflicts and failed kinds are not an error), or -errno
 * when the directory itself cannot be used (then no spec is known to be in
 * place). */
int cdi_sync(const char *dir, const struct inventory *inv, bool takeover, struct cdi_report *ret,
             struct topo_error *err);

/* Free what a report owns and zero it; NULL accepted. */
void cdi_report_clear(struct cdi_report *r);

/* The kinds (resource names) of our spec files in dir, sorted by file
 * name; a file of ours without a readable kind is skipped. 0 and *ret,
 * *ret_n (free with inventory_free_strv), or -errno with err. */
int cdi_our_kinds(const char *dir, char ***ret, size_t *ret_n, struct topo_error *err);
