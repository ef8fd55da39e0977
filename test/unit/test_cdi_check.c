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
#include "test/unit/cdi_test_util.h"
#include "test/unit/suite.h"
#include "topology/cleanup.h"

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

static char *
checker_path(void)
{
    const char *env = getenv("KGDP_CDI_CHECK");
    const char *build = getenv("KGDP_BUILD");
    char *p = NULL;

    if (env && *env)
        return strdup(env);
    if (asprintf(&p, "%s/test/cdi-check", build && *build ? build : "build") < 0)
        return NULL;
    return p;
}

/* Run the checker; its JSON output (parsed) and exit status. */
static json_object *
run_checker(const char *dir, const char *names, int *ret_status)
{
    _cleanup_free_ char *bin = checker_path();
    _cleanup_free_ char *cmd = NULL;
    _cleanup_free_ char *out = NULL;
    size_t len = 0;
    FILE *p;
    int status;

    CU_ASSERT_FATAL(bin != NULL);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "\ncdi-check not built at %s (make build/test/cdi-check)\n", bin);
        CU_FAIL_FATAL("cdi-check missing");
    }
    CU_ASSERT_FATAL(asprintf(&cmd, "'%s' -schema -dir '%s' %s", bin, dir, names) > 0);
    p = popen(cmd, "re");
    CU_ASSERT_FATAL(p != NULL);
    out = malloc(1 << 20);
    CU_ASSERT_FATAL(out != NULL);
    len = fread(out, 1, (1 << 20) - 1, p);
    out[len] = '\0';
    status = pclose(p);
    *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return json_tokener_parse(out);
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
    _cleanup_free_ char *names = strdup("");
    json_object *res, *devices, *injected, *errors;
    size_t total = 0;
    int status = -1;

    CU_ASSERT_FATAL(inv && dir && names);
    CU_ASSERT_EQUAL_FATAL(cdi_sync(dir, inv, false, &rep, &err), 0);
    cdi_report_clear(&rep);
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            char *more;

            CU_ASSERT_FATAL(asprintf(&more, "%s '%s=%s'", names, inv->resources[r].name,
                                     inv->resources[r].devices[d].id) > 0);
            free(names);
            names = more;
            total++;
        }
    res = run_checker(dir, names, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
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
    CU_ASSERT_EQUAL(cdi_t_write(dir, "x.json",
                                "{\"cdiVersion\":\"0.6.0\",\"kind\":\"nvidia.com/pgpu\",\"devices\":"
                                "[{\"name\":\"a\",\"containerEdits\":{\"deviceNodes\":"
                                "[{\"path\":\"/dev/null\"}]}}]}"),
                    0);
    res = run_checker(dir, "'nvidia.com/pgpu=a'", &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    CU_ASSERT_EQUAL(status, 1);
    CU_ASSERT(json_object_object_get_ex(res, "errors", &errors) &&
              json_object_array_length(errors) == 2);
    json_object_put(res);
    cdi_t_rmdir(dir);
}

TEST_SUITE(cdi_check, NULL, NULL,
           {"CDI library resolves and injects every device", test_library_resolves_and_injects},
           {"checker rejects a 0.6.0 spec", test_checker_rejects})
