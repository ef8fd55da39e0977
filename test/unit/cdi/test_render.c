#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cdi/cdi.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static const struct cdi_t_res two_gpus[] = {
    {"nvidia.com/pgpu",
     {{"0000:b8:00.0", {{"/dev/vfio/devices/vfio1", "/host/dev/vfio/devices/vfio1"}}},
      {"0000:18:00.0",
       {{"/dev/vfio/vfio", "/host/dev/vfio/vfio"}, {"/dev/vfio/12", "/host/dev/vfio/12"}}}}},
};

/* The same devices, listed the other way round. */
static const struct cdi_t_res two_gpus_reversed[] = {
    {"nvidia.com/pgpu",
     {{"0000:18:00.0",
       {{"/dev/vfio/vfio", "/host/dev/vfio/vfio"}, {"/dev/vfio/12", "/host/dev/vfio/12"}}},
      {"0000:b8:00.0", {{"/dev/vfio/devices/vfio1", "/host/dev/vfio/devices/vfio1"}}}}},
};

static const char golden[] = "{\n"
                             "  \"cdiVersion\": \"0.5.0\",\n"
                             "  \"kind\": \"nvidia.com/pgpu\",\n"
                             "  \"devices\": [\n"
                             "    {\n"
                             "      \"name\": \"0000:18:00.0\",\n"
                             "      \"containerEdits\": {\n"
                             "        \"deviceNodes\": [\n"
                             "          {\n"
                             "            \"path\": \"/dev/vfio/vfio\",\n"
                             "            \"hostPath\": \"/host/dev/vfio/vfio\"\n"
                             "          },\n"
                             "          {\n"
                             "            \"path\": \"/dev/vfio/12\",\n"
                             "            \"hostPath\": \"/host/dev/vfio/12\"\n"
                             "          }\n"
                             "        ]\n"
                             "      }\n"
                             "    },\n"
                             "    {\n"
                             "      \"name\": \"0000:b8:00.0\",\n"
                             "      \"containerEdits\": {\n"
                             "        \"deviceNodes\": [\n"
                             "          {\n"
                             "            \"path\": \"/dev/vfio/devices/vfio1\",\n"
                             "            \"hostPath\": \"/host/dev/vfio/devices/vfio1\"\n"
                             "          }\n"
                             "        ]\n"
                             "      }\n"
                             "    }\n"
                             "  ]\n"
                             "}\n";

static char *
render_first(const struct cdi_t_res *table, size_t n, size_t *ret_len)
{
    struct inventory *inv = cdi_t_inventory(table, n);
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_spec spec;
    char *text = NULL;

    CU_ASSERT_FATAL(inv != NULL);
    CU_ASSERT_FATAL(cdi_spec_from_resource(&inv->resources[0], &spec, &err) == 0);
    CU_ASSERT_EQUAL(cdi_spec_render(&spec, &text, ret_len, &err), 0);
    cdi_spec_clear(&spec);
    inventory_unref(inv);
    return text;
}

static void
test_golden(void)
{
    size_t len = 0;
    char *text = render_first(two_gpus, 1, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(len, strlen(golden));
    CU_ASSERT_STRING_EQUAL(text, golden);
    free(text);
}

static void
test_byte_stable(void)
{
    size_t la = 0, lb = 0, lc = 0;
    char *a = render_first(two_gpus, 1, &la);
    char *b = render_first(two_gpus, 1, &lb);
    char *c = render_first(two_gpus_reversed, 1, &lc);

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT(la == lb && memcmp(a, b, la) == 0);
    /* Device order of the input must not matter: devices are sorted. */
    CU_ASSERT(la == lc && memcmp(a, c, la) == 0);
    CU_ASSERT_EQUAL(a[la - 1], '\n');
    free(a);
    free(b);
    free(c);
}

static void
test_no_host_path(void)
{
    static const struct cdi_t_res t[] = {
        {"nvidia.com/pgpu", {{"gpu0", {{"/dev/vfio/devices/vfio0", NULL}}}}},
    };
    size_t len = 0;
    char *text = render_first(t, 1, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "hostPath"));
    CU_ASSERT_PTR_NULL(strstr(text, "\"type\""));
    CU_ASSERT_PTR_NULL(strstr(text, "major"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"path\": \"/dev/vfio/devices/vfio0\""));
    free(text);
}

static void
test_render_all(void)
{
    static const struct cdi_t_res t[] = {
        {"nvidia.com/nvswitch",
         {{"0000:05:00.0", {{"/dev/vfio/devices/vfio9", "/dev/vfio/devices/vfio9"}}}}},
        {"nvidia.com/pgpu",
         {{"0000:18:00.0", {{"/dev/vfio/devices/vfio0", "/dev/vfio/devices/vfio0"}}}}},
    };
    struct inventory *inv = cdi_t_inventory(t, 2);
    struct topo_error err = TOPO_ERROR_INIT;
    struct json_tokener *tok = json_tokener_new();
    const char *kinds[2] = {"nvidia.com/nvswitch", "nvidia.com/pgpu"};
    char *all = NULL;
    size_t len = 0, off = 0;

    CU_ASSERT_FATAL(inv != NULL && tok != NULL);
    CU_ASSERT_EQUAL_FATAL(cdi_render_all(inv, &all, &len, &err), 0);
    CU_ASSERT_EQUAL(strlen(all), len);
    /* A stream of exactly two JSON documents, in resource order. */
    for (int i = 0; i < 2; i++) {
        json_object *o, *kind;

        while (off < len && all[off] == '\n')
            off++;
        json_tokener_reset(tok);
        o = json_tokener_parse_ex(tok, all + off, (int)(len - off));
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        CU_ASSERT(json_object_object_get_ex(o, "kind", &kind));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(kind), kinds[i]);
        off += (size_t)json_tokener_get_parse_end(tok);
        json_object_put(o);
    }
    while (off < len && all[off] == '\n')
        off++;
    CU_ASSERT_EQUAL(off, len);
    free(all);
    json_tokener_free(tok);
    inventory_unref(inv);
}

/* A device without nodes (unhealthy: no VFIO node) has nothing to
 * inject; it is left out rather than making the whole spec invalid. */
static void
test_nodeless_left_out(void)
{
    static const struct cdi_t_res t[] = {
        {"nvidia.com/pgpu",
         {{"0000:31:00.0", {{NULL}}},
          {"0000:17:00.0", {{"/dev/vfio/devices/vfio0", "/dev/vfio/devices/vfio0"}}},
          {"0000:40:00.0", {{NULL}}}}},
        {"nvidia.com/nvswitch", {{"0000:05:00.0", {{NULL}}}}},
    };
    struct inventory *inv = cdi_t_inventory(t, 2);
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_spec spec;
    char *text = NULL;
    size_t len = 0;

    CU_ASSERT_FATAL(inv != NULL);
    CU_ASSERT_EQUAL_FATAL(cdi_spec_from_resource(&inv->resources[0], &spec, &err), 0);
    CU_ASSERT_EQUAL(spec.n_devices, 1);
    CU_ASSERT_STRING_EQUAL(spec.devices[0].name, "0000:17:00.0");
    CU_ASSERT_EQUAL(cdi_spec_render(&spec, &text, &len, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(text, "0000:31:00.0"));
    cdi_spec_clear(&spec);
    free(text);
    /* Every device without nodes: an empty but valid spec. */
    CU_ASSERT_EQUAL_FATAL(cdi_spec_from_resource(&inv->resources[1], &spec, &err), 0);
    CU_ASSERT_EQUAL(spec.n_devices, 0);
    CU_ASSERT_EQUAL(cdi_spec_validate(&spec, &err), 0);
    cdi_spec_clear(&spec);
    inventory_unref(inv);
}

static void
test_file_name(void)
{
    struct topo_error err = TOPO_ERROR_INIT;
    char *name = NULL;
    static const char *const bad[] = {"nvidia.com", "/pgpu", "nvidia.com/", "a/b/c"};

    CU_ASSERT_EQUAL(cdi_spec_file_name("nvidia.com/pgpu", &name, &err), 0);
    CU_ASSERT_STRING_EQUAL(name, "kata-gpu-device-plugin_nvidia.com-pgpu.json");
    free(name);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        name = NULL;
        CU_ASSERT_EQUAL(cdi_spec_file_name(bad[i], &name, &err), -EINVAL);
        CU_ASSERT_PTR_NULL(name);
    }
}

TEST_SUITE(cdi_render, NULL, NULL, {"golden output", test_golden},
           {"byte-stable, devices sorted", test_byte_stable},
           {"no hostPath, no type/major", test_no_host_path},
           {"render_all document stream", test_render_all},
           {"devices without nodes left out", test_nodeless_left_out},
           {"file names", test_file_name})
