#pragma once

#include <stddef.h>

#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* Inventories built from the generated fixture hosts ($KGDP_FIXTURES) for
 * the allocation tests: topo_scan, then inventory_build with a policy
 * whose roots are the fixture's own sys/ and dev/ trees. */

struct alloc_fixture {
    char *sys;               /* <fixtures>/<name>/sys */
    char *dev;               /* <fixtures>/<name>/dev */
    struct topo_host *host;
    struct inventory *inv;
};

/* Scan fixture name and build its inventory with mode and aliases ("" =
 * per model). Returns 0, or -errno after failing the current test. Release
 * with alloc_fixture_close. */
int alloc_fixture_open(struct alloc_fixture *fx, const char *name, enum inv_mode mode,
                       const char *gpu_alias, const char *nvswitch_alias);
void alloc_fixture_close(struct alloc_fixture *fx);

/* The resource called name; fails the test (fatally) when absent. */
const struct inv_resource *alloc_fixture_res(const struct alloc_fixture *fx, const char *name,
                                             size_t *ret_index);

/* Device IDs of res joined with ',' into buf. */
void alloc_fixture_ids(const struct inv_resource *res, char *buf, size_t len);

/* Split a comma-joined list in place into at most max pointers; returns
 * the count. */
size_t alloc_fixture_split(char *csv, const char **out, size_t max);

/* GetPreferredAllocation on resource name: available and must are
 * comma-joined ID lists (available NULL = every device of the resource).
 * Returns the op's result; on success the answer, comma-joined, is in
 * got. err receives the op's message. */
int alloc_fixture_preferred(const struct alloc_fixture *fx, const char *name,
                            const char *available, const char *must, size_t size, char *got,
                            size_t got_len, struct topo_error *err);

/* Allocate of the comma-joined ids on resource name. Returns the op's
 * result; on success *ret is filled (clear with inventory_allocation_clear). */
int alloc_fixture_allocate(const struct alloc_fixture *fx, const char *name, const char *ids,
                           struct inv_allocation *ret, struct topo_error *err);
