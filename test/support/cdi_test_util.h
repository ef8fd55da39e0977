#pragma once

#include <stddef.h>

#include "topology/units/inventory.h"

/* Hand-made inventories and temp dirs for the cdi/ suites. */

#define CDI_T_MAX_NODES 4
#define CDI_T_MAX_DEVS 6

struct cdi_t_dev {
    const char *id; /* NULL ends the list */
    const char *nodes[CDI_T_MAX_NODES][2]; /* {path, host_path}; {NULL} ends */
};

struct cdi_t_res {
    const char *name;
    struct cdi_t_dev devs[CDI_T_MAX_DEVS];
};

/* A snapshot holding deep copies of the table (no ops); NULL on ENOMEM. */
struct inventory *cdi_t_inventory(const struct cdi_t_res *res, size_t n);

/* mkdtemp under $TMPDIR or /tmp; malloc'ed path or NULL. */
char *cdi_t_tempdir(void);

/* rm -r of a flat temp dir (files and empty subdirs); NULL accepted. */
void cdi_t_rmdir(char *dir);

/* Whole file, NUL-terminated, or NULL. */
char *cdi_t_read(const char *dir, const char *name, size_t *ret_len);

/* Write a file (not atomically: test setup only); 0 or -errno. */
int cdi_t_write(const char *dir, const char *name, const char *text);

/* Number of entries in dir (without . and ..), -1 on error. */
int cdi_t_count(const char *dir);

/* Does dir/name exist? */
int cdi_t_exists(const char *dir, const char *name);

struct json_object;

/* Run the CDI-library checker ($KGDP_CDI_CHECK, else $KGDP_BUILD/test/cdi-check)
 * with schema validation on dir; args are its injection arguments
 * ("kind=ID[,kind=ID...]", no quotes). Its parsed JSON output (caller puts)
 * and exit status in *ret_status, or NULL with the reason on stderr. */
struct json_object *cdi_t_run_checker(const char *dir, char *const *args, size_t n_args,
                                      int *ret_status);
