#include <stdlib.h>
#include <string.h>

#include "plugin/grpc/socket_name.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

static struct inventory *
with_resources(const char *const *names, size_t n)
{
    struct inventory *inv = inventory_new(NULL, NULL);

    CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
    inv->resources = calloc(n, sizeof(*inv->resources));
    CU_ASSERT_PTR_NOT_NULL_FATAL(inv->resources);
    for (size_t i = 0; i < n; i++) {
        inv->resources[i].name = strdup(names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(inv->resources[i].name);
        inv->n_resources++;
    }
    return inv;
}

/* Short names as they are; long ones hashed and short; every one unique. */
static void
test_names(void)
{
    static const char *const res[] = {
        "nvidia.com/AN_EXTREMELY_LONG_MODEL_NAME_THAT_GOES_ON_AND_ON_PAST_SIXTY_THR",
        "nvidia.com/FOO_BAR_BAZ_XY",
        "nvidia.com/H100_SXM5_80GB",
        "nvidia.com/nvswitch",
        "nvidia.com/pgpu",
    };
    struct inventory *inv = with_resources(res, ARRAY_SIZE(res));
    struct topo_error err = TOPO_ERROR_INIT;
    char **names = NULL;

    CU_ASSERT_EQUAL_FATAL(plugin_socket_names(inv, &names, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(names[0], "kgdp-an_extremely_lo-"));
    CU_ASSERT_STRING_EQUAL(names[1], "kgdp-foo_bar_baz_xy.sock");
    CU_ASSERT_STRING_EQUAL(names[2], "kgdp-h100_sxm5_80gb.sock");
    CU_ASSERT_STRING_EQUAL(names[3], "kgdp-nvswitch.sock");
    CU_ASSERT_STRING_EQUAL(names[4], "kgdp-pgpu.sock");
    for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
        CU_ASSERT_TRUE(strlen(names[i]) <= 40);
        for (size_t j = i + 1; j < ARRAY_SIZE(res); j++)
            CU_ASSERT_STRING_NOT_EQUAL(names[i], names[j]);
    }
    plugin_socket_names_free(names, inv->n_resources);
    inventory_unref(inv);
}

/* Names that meet in lower case are both hashed, and differ. */
static void
test_case_collision(void)
{
    static const char *const res[] = {"x.io/Ab", "x.io/aB"};
    struct inventory *inv = with_resources(res, ARRAY_SIZE(res));
    struct topo_error err = TOPO_ERROR_INIT;
    char **names = NULL, *plain = NULL;

    CU_ASSERT_EQUAL_FATAL(plugin_socket_names(inv, &names, &err), 0);
    CU_ASSERT_EQUAL_FATAL(plugin_socket_name("x.io/Ab", false, &plain), 0);
    CU_ASSERT_STRING_EQUAL(plain, "kgdp-ab.sock");
    CU_ASSERT_STRING_NOT_EQUAL(names[0], plain);
    CU_ASSERT_STRING_NOT_EQUAL(names[0], names[1]);
    CU_ASSERT_PTR_NOT_NULL(strstr(names[0], "kgdp-ab-"));
    free(plain);
    plugin_socket_names_free(names, inv->n_resources);
    inventory_unref(inv);
}

/* What health probes: every name we make, plain or hashed, and nothing else. */
static void
test_is_ours(void)
{
    static const char *const resources[] = {"nvidia.com/pgpu", "nvidia.com/H100_PCIE",
                                            "nvidia.com/a-resource-name-longer-than-24"};
    static const char *const others[] = {"kubelet.sock",
                                         "kgdp-.sock",
                                         "kgdp-pgpu.sock.tmp",
                                         "nvidia-gpu.sock",
                                         "kgdp-pgpu",
                                         ".sock",
                                         ""};

    for (size_t i = 0; i < ARRAY_SIZE(resources); i++)
        for (int hashed = 0; hashed < 2; hashed++) {
            char *name = NULL;

            CU_ASSERT_EQUAL_FATAL(plugin_socket_name(resources[i], hashed, &name), 0);
            CU_ASSERT_TRUE(plugin_socket_name_is_ours(name));
            free(name);
        }
    for (size_t i = 0; i < ARRAY_SIZE(others); i++)
        CU_ASSERT_FALSE(plugin_socket_name_is_ours(others[i]));
}

TEST_SUITE(grpc_socket_name, NULL, NULL, {"socket names", test_names},
           {"names that meet in lower case", test_case_collision},
           {"our socket names and others", test_is_ours})
