#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/suite.h"
#include "topology/units/inventory.h"

/* One resource, two devices; every field set so that each can differ. */
static struct inventory *
make(void)
{
    struct inventory *inv = inventory_new(NULL, NULL);
    struct inv_resource *r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
    inv->resources = calloc(1, sizeof(*inv->resources));
    CU_ASSERT_PTR_NOT_NULL_FATAL(inv->resources);
    inv->n_resources = 1;
    r = &inv->resources[0];
    r->name = strdup("nvidia.com/pgpu");
    r->devices = calloc(2, sizeof(*r->devices));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->devices);
    r->n_devices = 2;
    r->devices[0].id = strdup("0000:18:00.0");
    r->devices[0].healthy = true;
    r->devices[0].numa_node = 0;
    r->devices[0].nodes = calloc(1, sizeof(*r->devices[0].nodes));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->devices[0].nodes);
    r->devices[0].n_nodes = 1;
    r->devices[0].nodes[0].path = strdup("/dev/vfio/devices/vfio0");
    r->devices[0].nodes[0].host_path = strdup("/dev/vfio/devices/vfio0");
    r->devices[1].id = strdup("0000:2a:00.0");
    r->devices[1].numa_node = -1;
    r->devices[1].reason = strdup("bound to nvidia, not to a VFIO driver");
    return inv;
}

static void
replace(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

static void
test_equal(void)
{
    struct inventory *a = make(), *b = make();
    struct inv_device *d0 = &b->resources[0].devices[0], *d1 = &b->resources[0].devices[1];

    CU_ASSERT_TRUE(inventory_equal(a, b));
    CU_ASSERT_TRUE(inventory_equal(NULL, NULL));
    CU_ASSERT_FALSE(inventory_equal(a, NULL));
    d0->healthy = false;
    CU_ASSERT_FALSE(inventory_equal(a, b));
    d0->healthy = true;
    d0->numa_node = 1;
    CU_ASSERT_FALSE(inventory_equal(a, b));
    d0->numa_node = 0;
    replace(&d0->nodes[0].host_path, "/other/dev/vfio/devices/vfio0");
    CU_ASSERT_FALSE(inventory_equal(a, b));
    replace(&d0->nodes[0].host_path, "/dev/vfio/devices/vfio0");
    replace(&d1->reason, "no longer present on the PCI bus");
    CU_ASSERT_FALSE(inventory_equal(a, b));
    replace(&d1->reason, "bound to nvidia, not to a VFIO driver");
    replace(&b->resources[0].name, "nvidia.com/other");
    CU_ASSERT_FALSE(inventory_equal(a, b));
    replace(&b->resources[0].name, "nvidia.com/pgpu");
    CU_ASSERT_TRUE(inventory_equal(a, b));
    b->resources[0].n_devices = 1; /* the second is still freed: clear uses n_devices */
    CU_ASSERT_FALSE(inventory_equal(a, b));
    b->resources[0].n_devices = 2;
    inventory_unref(a);
    inventory_unref(b);
}

static void
test_lookups_and_refs(void)
{
    struct inventory *inv = make();
    const struct inv_allocation empty = {0};
    struct inv_allocation a = empty;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL(inventory_find_resource(inv, "nvidia.com/pgpu"), 0);
    CU_ASSERT_EQUAL(inventory_find_resource(inv, "nvidia.com/nvswitch"), -ENOENT);
    CU_ASSERT_EQUAL(inventory_find_device(&inv->resources[0], "0000:2a:00.0"), 1);
    CU_ASSERT_EQUAL(inventory_find_device(&inv->resources[0], "0000:99:00.0"), -ENOENT);
    /* no ops: the wrappers refuse instead of crashing */
    CU_ASSERT_EQUAL(inventory_allocate(inv, 0, NULL, 0, &a, &err), -EOPNOTSUPP);
    CU_ASSERT_EQUAL(memcmp(&a, &empty, sizeof(a)), 0);
    CU_ASSERT_EQUAL(inv->refcount, 1);
    CU_ASSERT_PTR_EQUAL(inventory_ref(inv), inv);
    CU_ASSERT_EQUAL(inv->refcount, 2);
    inventory_unref(inv);
    CU_ASSERT_EQUAL(inv->refcount, 1);
    inventory_unref(inv);
    inventory_unref(NULL);
}

struct seen {
    char line[8][96];
    size_t n;
};

static void
record(void *ctx, enum inv_change what, const char *resource, const struct inv_device *old,
       const struct inv_device *new)
{
    struct seen *s = ctx;
    static const char *const names[] = {"added", "removed", "health"};

    CU_ASSERT_FATAL(s->n < 8);
    CU_ASSERT_EQUAL(old == NULL, what == INV_CHANGE_ADDED);
    CU_ASSERT_EQUAL(new == NULL, what == INV_CHANGE_REMOVED);
    snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s", names[what], resource,
             (new ? new : old)->id);
}

/* One call per device added, removed or changed in health or reason. */
static void
test_diff(void)
{
    struct inventory *a = make(), *b = make();
    struct inv_resource *r = &b->resources[0];
    struct seen s = {0};

    CU_ASSERT_EQUAL(inventory_diff(a, b, record, &s), 0);
    r->devices[0].numa_node = 3; /* not a change of health */
    CU_ASSERT_EQUAL(inventory_diff(a, b, record, &s), 0);
    replace(&r->devices[1].reason, "no longer present on the PCI bus");
    replace(&r->devices[0].id, "0000:17:00.0"); /* 18 removed, 17 added */
    CU_ASSERT_EQUAL(inventory_diff(a, b, record, &s), 3);
    CU_ASSERT_STRING_EQUAL(s.line[0], "added nvidia.com/pgpu 0000:17:00.0");
    CU_ASSERT_STRING_EQUAL(s.line[1], "removed nvidia.com/pgpu 0000:18:00.0");
    CU_ASSERT_STRING_EQUAL(s.line[2], "health nvidia.com/pgpu 0000:2a:00.0");
    s.n = 0;
    CU_ASSERT_EQUAL(inventory_diff(NULL, a, record, &s), 2);
    CU_ASSERT_STRING_EQUAL(s.line[0], "added nvidia.com/pgpu 0000:18:00.0");
    s.n = 0;
    replace(&b->resources[0].name, "nvidia.com/other");
    CU_ASSERT_EQUAL(inventory_diff(a, b, record, &s), 4);
    CU_ASSERT_STRING_EQUAL(s.line[0], "removed nvidia.com/pgpu 0000:18:00.0");
    CU_ASSERT_STRING_EQUAL(s.line[3], "added nvidia.com/other 0000:2a:00.0");
    inventory_unref(a);
    inventory_unref(b);
}

TEST_SUITE(inventory, NULL, NULL, {"equal", test_equal}, {"lookups and refs", test_lookups_and_refs},
           {"diff", test_diff})
