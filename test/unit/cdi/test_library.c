#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cdi/cdi.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

/* The CDI library stats every hostPath at injection and needs a real
 * device node, so host paths are character devices every system has;
 * the container paths are the iommufd and legacy VFIO layouts. */
static const struct cdi_t_res host[] = {
    {"nvidia.com/nvswitch",
     {{"0000:05:00.0", {{"/dev/vfio/vfio", "/dev/null"}, {"/dev/vfio/40", "/dev/zero"}}},
      {"0000:06:00.0", {{"/dev/vfio/vfio", "/dev/null"}, {"/dev/vfio/41", "/dev/full"}}}}},
    {"nvidia.com/pgpu",
     {{"0000:18:00.0", {{"/dev/vfio/devices/vfio0", "/dev/urandom"}}},
      {"0000:2a:00.0", {{"/dev/vfio/devices/vfio1", "/dev/random"}}}}},
};

/* Run the checker on dir; FATAL when it could not run. */
static json_object *
run_checker(const char *dir, char *const *args, size_t n, int *ret_status)
{
    json_object *res = cdi_t_run_checker(dir, args, n, ret_status);

    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    return res;
}

static void
check_device(json_object *injected, const char *kind, const struct inv_device *dev)
{
    _cleanup_free_ char *qname = NULL;
    json_object *nodes;

    CU_ASSERT_FATAL(asprintf(&qname, "%s=%s", kind, dev->id) > 0);
    CU_ASSERT_FATAL(json_object_object_get_ex(injected, qname, &nodes));
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(nodes), dev->n_nodes);
    for (size_t n = 0; n < dev->n_nodes; n++) {
        json_object *node = json_object_array_get_idx(nodes, n), *v;
        struct stat st;
        bool found = false;

        /* Exactly its nodes: every injected path is one of the device's,
         * with the major:minor of that node's hostPath. */
        CU_ASSERT_FATAL(json_object_object_get_ex(node, "path", &v));
        for (size_t m = 0; m < dev->n_nodes; m++) {
            json_object *maj, *min, *type;

            if (strcmp(json_object_get_string(v), dev->nodes[m].path) != 0)
                continue;
            found = true;
            CU_ASSERT_FATAL(stat(dev->nodes[m].host_path, &st) == 0);
            CU_ASSERT(json_object_object_get_ex(node, "major", &maj) &&
                      json_object_get_int64(maj) == (int64_t)major(st.st_rdev));
            CU_ASSERT(json_object_object_get_ex(node, "minor", &min) &&
                      json_object_get_int64(min) == (int64_t)minor(st.st_rdev));
            CU_ASSERT(json_object_object_get_ex(node, "type", &type) &&
                      strcmp(json_object_get_string(type), "c") == 0);
        }
        CU_ASSERT(found);
    }
}

static void
test_library_resolves_and_injects(void)
{
    struct inventory *inv = cdi_t_inventory(host, 2);
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    char *dir = cdi_t_tempdir();
    char *names[2 * CDI_T_MAX_DEVS] = {0};
    json_object *res, *devices, *injected, *errors;
    size_t total = 0;
    int status = -1;

    CU_ASSERT_FATAL(inv && dir);
    CU_ASSERT_EQUAL_FATAL(cdi_sync(dir, inv, false, &rep, &err), 0);
    cdi_report_clear(&rep);
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++)
            CU_ASSERT_FATAL(asprintf(&names[total++], "%s=%s", inv->resources[r].name,
                                     inv->resources[r].devices[d].id) > 0);
    res = run_checker(dir, names, total, &status);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "errors", &errors));
    CU_ASSERT_EQUAL(json_object_array_length(errors), 0);
    if (json_object_array_length(errors))
        fprintf(stderr, "\n%s\n", json_object_to_json_string(errors));
    /* The registry knows exactly our devices, and each injects its nodes. */
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "devices", &devices));
    CU_ASSERT_EQUAL(json_object_array_length(devices), total);
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "injected", &injected));
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++)
            check_device(injected, inv->resources[r].name, &inv->resources[r].devices[d]);
    json_object_put(res);
    for (size_t i = 0; i < total; i++)
        free(names[i]);
    cdi_t_rmdir(dir);
    inventory_unref(inv);
}

/* One GPU without a VFIO node (e.g. on the nvidia driver): the library
 * still loads the directory, and knows every other device. */
static void
test_library_loads_with_nodeless_devices(void)
{
    static const struct cdi_t_res t[] = {
        {"nvidia.com/nvswitch", {{"0000:05:00.0", {{NULL}}}}},
        {"nvidia.com/pgpu",
         {{"0000:17:00.0", {{"/dev/vfio/devices/vfio0", "/dev/null"}}},
          {"0000:31:00.0", {{NULL}}}}},
    };
    struct inventory *inv = cdi_t_inventory(t, 2);
    struct topo_error err = TOPO_ERROR_INIT;
    struct cdi_report rep = {0};
    char *dir = cdi_t_tempdir();
    char *args[] = {"nvidia.com/pgpu=0000:17:00.0"};
    json_object *res, *devices, *errors;
    int status = -1;

    CU_ASSERT_FATAL(inv && dir);
    CU_ASSERT_EQUAL_FATAL(cdi_sync(dir, inv, false, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.n_written, 2);
    cdi_report_clear(&rep);
    res = run_checker(dir, args, 1, &status);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT(json_object_object_get_ex(res, "errors", &errors) &&
              json_object_array_length(errors) == 0);
    CU_ASSERT_FATAL(json_object_object_get_ex(res, "devices", &devices));
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(devices), 1);
    CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(devices, 0)),
                           "nvidia.com/pgpu=0000:17:00.0");
    json_object_put(res);
    cdi_t_rmdir(dir);
    inventory_unref(inv);
}

/* The checker must be able to fail: a 0.6.0 spec and an unknown name. */
static void
test_checker_rejects(void)
{
    char *dir = cdi_t_tempdir();
    json_object *res, *errors;
    int status = 0;

    CU_ASSERT_FATAL(dir != NULL);
    CU_ASSERT_EQUAL(
        cdi_t_write(dir, "x.json",
                    "{\"cdiVersion\":\"0.6.0\",\"kind\":\"nvidia.com/pgpu\",\"devices\":"
                    "[{\"name\":\"a\",\"containerEdits\":{\"deviceNodes\":"
                    "[{\"path\":\"/dev/null\"}]}}]}"),
        0);
    res = run_checker(dir, (char *[]){"nvidia.com/pgpu=a"}, 1, &status);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT(json_object_object_get_ex(res, "errors", &errors) &&
              json_object_array_length(errors) == 2);
    json_object_put(res);
    cdi_t_rmdir(dir);
}

TEST_SUITE(cdi_check, NULL, NULL,
           {"CDI library resolves and injects every device", test_library_resolves_and_injects},
           {"CDI library loads specs with nodeless devices left out",
            test_library_loads_with_nodeless_devices},
           {"checker rejects a 0.6.0 spec", test_checker_rejects})
