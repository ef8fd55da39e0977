#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "plugin/discover/discover.h"
#include "test/support/discover_test.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* A small hand-built host: one switch with two GPUs (one usable, one with no
 * driver), an audio companion, an NVSwitch on its own root port and a NIC
 * that must stay out of every output. */
enum {
    F_RP1, F_RP2, F_RP3, F_UP, F_DN1, F_DN2, F_GPU0, F_AUDIO, F_GPU1, F_NVSW, F_NIC, N_F,
};

static char hb0[] = "pci0000:00";
static char m_h100[] = "H100 SXM5 80GB";
static char m_weird[] = "Weird \"Q\" \\ name";
static char m_audio[] = "device-22e8";
static char m_nvsw[] = "H100 NVSwitch";
static char d_vfio[] = "vfio-pci";
static char d_pcie[] = "pcieport";
static char d_mlx[] = "mlx5_core";
static char w0[] = "bus/pci/devices/0000:07:00.0/class: unreadable";
static char *warnings[] = {w0};

#define BR(b, par, rp, grp)                                                                        \
    {b, 0x8086, 0x1234, 0x060400, TOPO_KIND_BRIDGE, TOPO_FAMILY_OTHER, NULL, d_pcie, false, grp,  \
     -1, false, 0, false, -1, par, rp, (par) < 0 ? hb0 : NULL}

static struct topo_function funcs[N_F] = {
    [F_RP1] = BR("0000:00:01.0", -1, F_RP1, 1),
    [F_RP2] = BR("0000:00:02.0", -1, F_RP2, 2),
    [F_RP3] = BR("0000:00:03.0", -1, F_RP3, 3),
    [F_UP] = BR("0000:01:00.0", F_RP1, F_RP1, 4),
    [F_DN1] = BR("0000:02:00.0", F_UP, F_RP1, 4),
    [F_DN2] = BR("0000:02:01.0", F_UP, F_RP1, 4),
    [F_GPU0] = {"0000:03:00.0", 0x10de, 0x2330, 0x030200, TOPO_KIND_GPU, TOPO_FAMILY_HOPPER,
                m_h100, d_vfio, true, 10, 0, true, 0, false, -1, F_DN1, F_RP1, NULL},
    [F_AUDIO] = {"0000:03:00.1", 0x10de, 0x22e8, 0x040300, TOPO_KIND_COMPANION,
                 TOPO_FAMILY_HOPPER, m_audio, d_vfio, true, 10, 2, true, 0, false, -1, F_DN1,
                 F_RP1, NULL},
    [F_GPU1] = {"0000:04:00.0", 0x10de, 0x2330, 0x030200, TOPO_KIND_GPU, TOPO_FAMILY_HOPPER,
                m_weird, NULL, false, 11, -1, false, 0, false, -1, F_DN2, F_RP1, NULL},
    [F_NVSW] = {"0000:05:00.0", 0x10de, 0x22a3, 0x068000, TOPO_KIND_NVSWITCH, TOPO_FAMILY_HOPPER,
                m_nvsw, d_vfio, true, 12, 1, true, -1, false, -1, F_RP2, F_RP2, NULL},
    [F_NIC] = {"0000:06:00.0", 0x15b3, 0x1021, 0x020000, TOPO_KIND_OTHER, TOPO_FAMILY_OTHER, NULL,
               d_mlx, false, 13, -1, false, 0, false, -1, F_RP3, F_RP3, NULL},
};

static size_t g1[] = {F_RP1}, g2[] = {F_RP2}, g3[] = {F_RP3}, g4[] = {F_UP, F_DN1, F_DN2};
static size_t g10[] = {F_GPU0, F_AUDIO}, g11[] = {F_GPU1}, g12[] = {F_NVSW}, g13[] = {F_NIC};
static char nv11[] = "0000:04:00.0 has no driver";

#define GRP(id, m, ok, why) {id, true, ARRAY_SIZE(m), m, ok, why}

static struct topo_group groups[] = {
    GRP(1, g1, true, NULL),   GRP(2, g2, true, NULL),   GRP(3, g3, true, NULL),
    GRP(4, g4, true, NULL),   GRP(10, g10, true, NULL), GRP(11, g11, false, nv11),
    GRP(12, g12, true, NULL), GRP(13, g13, false, NULL),
};

static struct topo_host host = {
    .n_functions = N_F,
    .functions = funcs,
    .n_groups = ARRAY_SIZE(groups),
    .groups = groups,
    .dev_vfio = true,
    .n_warnings = 1,
    .warnings = warnings,
};

/* The line of text that starts with prefix, copied into buf; NULL if none. */
static const char *
line_starting(const char *text, const char *prefix, char *buf, size_t len)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(p, "\n");

            snprintf(buf, len, "%.*s", (int)n, p);
            return buf;
        }
    }
    return NULL;
}

static void
test_table_rows(void)
{
    struct captured c = discover_capture(&host, RENDER_TABLE);
    char line[512];

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, "0000:03:00.0  gpu", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "H100 SXM5 80GB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " vfio-pci "));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " vfio0 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " 0000:02:00.0 "));
    CU_ASSERT_EQUAL(topo_assignable(&host, F_GPU0, NULL, 0), strstr(line, " yes") != NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, "0000:03:00.1", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "companion"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "with 0000:03:00.0"));

    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, "0000:04:00.0", line, sizeof(line)));
    CU_ASSERT_FALSE(topo_assignable(&host, F_GPU1, NULL, 0));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " no: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " - ")); /* driver and cdev */

    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, "0000:05:00.0", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "nvswitch"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " vfio1 "));

    /* Bridges and the NIC are not rows. */
    CU_ASSERT_PTR_NULL(strstr(c.text, "0000:06:00.0"));
    CU_ASSERT_PTR_NULL(line_starting(c.text, "0000:02:00.0", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(line_starting(c.text, "iommu: legacy", line, sizeof(line)));
    CU_ASSERT_PTR_NOT_NULL(line_starting(c.text, "warning: bus/pci/devices/0000:07:00.0/class",
                                         line, sizeof(line)));
    free(c.text);
}

/* Every row starts its columns where the header starts them. */
static void
test_table_aligned(void)
{
    static const char *const titles[] = {"KIND", "MODEL", "DRIVER", "IOMMU", "VFIO", "NUMA",
                                         "PARENT", "ASSIGNABLE"};
    struct captured c = discover_capture(&host, RENDER_TABLE);
    char header[512], row[512];
    const char *bdfs[] = {"0000:03:00.0", "0000:03:00.1", "0000:04:00.0", "0000:05:00.0"};

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, "BDF ", header, sizeof(header)));
    for (size_t r = 0; r < 4; r++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(c.text, bdfs[r], row, sizeof(row)));
        for (size_t t = 0; t < ARRAY_SIZE(titles); t++) {
            size_t col = (size_t)(strstr(header, titles[t]) - header);

            CU_ASSERT_FATAL(col < strlen(row));
            CU_ASSERT(row[col - 1] == ' ' && row[col] != ' ');
        }
    }
    free(c.text);
}

static void
test_table_matrix(void)
{
    struct captured c = discover_capture(&host, RENDER_TABLE);
    char line[512], want[64];
    const char *hdr;

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    hdr = strstr(c.text, "GPU topology:\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(hdr);
    hdr = strchr(hdr, '\n') + 1;
    CU_ASSERT_PTR_NOT_NULL(strstr(hdr, "0000:03:00.0  0000:04:00.0"));
    CU_ASSERT_PTR_NULL(line_starting(hdr, "0000:05:00.0", line, sizeof(line))); /* no NVSwitch */
    CU_ASSERT_PTR_NOT_NULL_FATAL(line_starting(hdr, "0000:04:00.0", line, sizeof(line)));
    snprintf(want, sizeof(want), " %s ",
             discover_distance_name(topo_distance(&host, F_GPU1, F_GPU0)));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " X "));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "Legend:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "PXB  ="));
    free(c.text);
}

static void
test_table_no_nvidia(void)
{
    struct topo_host empty = {.n_functions = 3, .functions = funcs, .n_groups = 3, .groups = groups};
    struct captured c = discover_capture(&empty, RENDER_TABLE);

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    CU_ASSERT_STRING_EQUAL(c.text, "no NVIDIA PCI functions found under /fake/sys\n");
    free(c.text);
}

static struct json_object *
json_key(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    CU_ASSERT_FATAL(json_object_object_get_ex(o, key, &v));
    return v;
}

static void
test_json_functions(void)
{
    static const char *const keys[] = {
        "bdf", "kind", "vendor", "device", "class", "model", "family", "driver", "vfio",
        "iommuGroup", "vfioCdev", "vfioCdevNode", "numaNode", "isVf", "physfn", "parent",
        "rootPort", "hostBridge", "companionOf", "assignable", "reason", "pcie"};
    struct captured c = discover_capture(&host, RENDER_JSON);
    struct json_object *root, *fns, *f;
    size_t k = 0;

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    root = json_tokener_parse(c.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(root, "iommu")), "legacy");
    fns = json_key(root, "functions");
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(fns), 4);
    f = json_object_array_get_idx(fns, 0);
    json_object_object_foreach(f, key, val) {
        (void)val;
        CU_ASSERT_FATAL(k < ARRAY_SIZE(keys));
        CU_ASSERT_STRING_EQUAL(key, keys[k]);
        k++;
    }
    CU_ASSERT_EQUAL(k, ARRAY_SIZE(keys));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "bdf")), "0000:03:00.0");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "vendor")), "10de");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "device")), "2330");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "class")), "0x030200");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "family")), "hopper");
    CU_ASSERT_EQUAL(json_object_get_int(json_key(f, "iommuGroup")), 10);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "parent")), "0000:02:00.0");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "rootPort")), "0000:00:01.0");
    CU_ASSERT_EQUAL(json_object_get_boolean(json_key(f, "assignable")),
                    topo_assignable(&host, F_GPU0, NULL, 0));
    f = json_object_array_get_idx(fns, 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "companionOf")), "0000:03:00.0");
    f = json_object_array_get_idx(fns, 2);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "model")), m_weird);
    CU_ASSERT_PTR_NULL(json_key(f, "driver"));
    CU_ASSERT_PTR_NULL(json_key(f, "vfioCdev"));
    CU_ASSERT_FALSE(json_object_get_boolean(json_key(f, "assignable")));
    CU_ASSERT_PTR_NOT_NULL(json_object_get_string(json_key(f, "reason")));
    f = json_object_array_get_idx(fns, 3);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(f, "kind")), "nvswitch");
    CU_ASSERT_PTR_NULL(json_key(f, "numaNode"));
    json_object_put(root);
    free(c.text);
}

static void
test_json_groups_distances(void)
{
    struct captured c = discover_capture(&host, RENDER_JSON);
    struct json_object *root, *groups_j, *g, *d, *row;

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    root = json_tokener_parse(c.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    groups_j = json_key(root, "groups");
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(groups_j), 3); /* 10, 11, 12 */
    g = json_object_array_get_idx(groups_j, 0);
    CU_ASSERT_EQUAL(json_object_get_int(json_key(g, "id")), 10);
    CU_ASSERT_EQUAL(json_object_array_length(json_key(g, "members")), 2);
    g = json_object_array_get_idx(groups_j, 1);
    CU_ASSERT_FALSE(json_object_get_boolean(json_key(g, "viable")));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(g, "reason")), nv11);
    d = json_key(root, "distances");
    CU_ASSERT_EQUAL(json_object_object_length(d), 2);
    row = json_key(d, "0000:04:00.0");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(row, "0000:04:00.0")), "X");
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_key(row, "0000:03:00.0")),
                           discover_distance_name(topo_distance(&host, F_GPU1, F_GPU0)));
    CU_ASSERT_EQUAL(json_object_array_length(json_key(root, "warnings")), 1);
    json_object_put(root);
    free(c.text);
}

static void
test_dot(void)
{
    struct captured c = discover_capture(&host, RENDER_DOT);
    int rendered;

    CU_ASSERT_EQUAL_FATAL(c.rc, 0);
    CU_ASSERT_EQUAL(strncmp(c.text, "digraph pcie {\n", 15), 0);
    CU_ASSERT(discover_dot_braces_balanced(c.text));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "\"0000:03:00.0\" [label="));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "\"0000:05:00.0\" [label="));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "shape=hexagon"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "fillcolor=\"#76b900\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "\"pci0000:00\" -> \"0000:00:01.0\";"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "\"0000:02:00.0\" -> \"0000:03:00.0\";"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "subgraph \"cluster_iommu_10\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.text, "Weird \\\"Q\\\" \\\\ name"));
    /* Only paths to NVIDIA functions: the NIC and its root port are left out. */
    CU_ASSERT_PTR_NULL(strstr(c.text, "0000:06:00.0"));
    CU_ASSERT_PTR_NULL(strstr(c.text, "0000:00:03.0"));
    CU_ASSERT_PTR_NULL(strstr(c.text, "cluster_iommu_4"));
    rendered = discover_dot_renders(c.text);
    if (rendered >= 0)
        CU_ASSERT_EQUAL(rendered, 1);
    free(c.text);
}

static void
test_dot_braces_checker(void)
{
    /* The checker itself must be able to fail. */
    CU_ASSERT_FALSE(discover_dot_braces_balanced("digraph x { a -> b;"));
    CU_ASSERT_FALSE(discover_dot_braces_balanced("} {"));
    CU_ASSERT_TRUE(discover_dot_braces_balanced("digraph x { \"a}\" -> b; }"));
}

/* A stream that refuses writes: every renderer reports it instead of
 * claiming success. */
static void
test_write_error(void)
{
    FILE *ro = fopen("/dev/null", "r");

    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    setvbuf(ro, NULL, _IONBF, 0);
    CU_ASSERT_EQUAL(discover_table(&host, "/sys", ro), -EIO);
    clearerr(ro);
    CU_ASSERT_EQUAL(discover_json(&host, ro), -EIO);
    clearerr(ro);
    CU_ASSERT_EQUAL(discover_dot(&host, ro), -EIO);
    fclose(ro);
}

TEST_SUITE(discover_output, NULL, NULL, {"table rows", test_table_rows},
           {"table aligned", test_table_aligned}, {"table matrix", test_table_matrix},
           {"table no nvidia", test_table_no_nvidia}, {"json functions", test_json_functions},
           {"json groups and distances", test_json_groups_distances}, {"dot", test_dot},
           {"dot brace checker", test_dot_braces_checker}, {"write error", test_write_error})
