#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/config/config.h"
#include "plugin/config/options.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"
#include "topology/base/cleanup.h"

#define ARGC(a) ((int)(ARRAY_SIZE(a)))

static char config_path[] = "/tmp/kgdp-options-XXXXXX";

static void
write_config(const char *text)
{
    FILE *f = fopen(config_path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static int
setup(void)
{
    int fd = mkstemp(config_path);

    if (fd < 0)
        return 1;
    close(fd);
    unsetenv("P_GPU_ALIAS");
    unsetenv("NVSWITCH_ALIAS");
    return 0;
}

static int
teardown(void)
{
    unlink(config_path);
    return 0;
}

static void
test_defaults(void)
{
    char *argv[] = {"kgdp"};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL_FATAL(plugin_options_parse(ARGC(argv), argv, &o, &err), 0);
    CU_ASSERT_STRING_EQUAL(o.command, "serve");
    CU_ASSERT_STRING_EQUAL(o.sysfs_root, "/sys");
    CU_ASSERT_STRING_EQUAL(o.dev_root, "/dev");
    CU_ASSERT_STRING_EQUAL(o.kubelet_dir, "/var/lib/kubelet/device-plugins");
    CU_ASSERT_STRING_EQUAL(o.cdi_dir, "/var/run/cdi");
    CU_ASSERT_STRING_EQUAL(o.gpu_alias, "pgpu");
    CU_ASSERT_STRING_EQUAL(o.nvswitch_alias, "nvswitch");
    CU_ASSERT_EQUAL(o.mode, INV_MODE_PASSTHROUGH);
    CU_ASSERT_EQUAL(o.iommu, TOPO_IOMMU_AUTO);
    CU_ASSERT_EQUAL(o.rescan_interval, 60);
    CU_ASSERT_FALSE(o.cdi_takeover);
    CU_ASSERT_PTR_NULL(o.nfd_dir);         /* node labels off */
    CU_ASSERT_PTR_NULL(o.metrics_address); /* metrics off */
    CU_ASSERT_EQUAL(o.aer_quiet, 300);
    plugin_options_free(&o);
}

static void
test_flags_and_command(void)
{
    char *argv[] = {"kgdp", "--mode", "ppcie", "discover", "--format=json", "--iommu",
                    "legacy", "--gpu-alias", "", "--rescan-interval", "5", "--cdi-takeover",
                    "--sysfs-root", "/x/sys", "--nfd-features-dir", "/x/features.d",
                    "--metrics-address", "[::1]:9400", "--aer-quiet-period", "0"};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL_FATAL(plugin_options_parse(ARGC(argv), argv, &o, &err), 0);
    CU_ASSERT_STRING_EQUAL(o.command, "discover");
    CU_ASSERT_EQUAL(o.mode, INV_MODE_PPCIE);
    CU_ASSERT_STRING_EQUAL(o.format, "json");
    CU_ASSERT_EQUAL(o.iommu, TOPO_IOMMU_LEGACY);
    CU_ASSERT_STRING_EQUAL(o.gpu_alias, "");
    CU_ASSERT_EQUAL(o.rescan_interval, 5);
    CU_ASSERT_TRUE(o.cdi_takeover);
    CU_ASSERT_STRING_EQUAL(o.sysfs_root, "/x/sys");
    CU_ASSERT_STRING_EQUAL(o.nfd_dir, "/x/features.d");
    CU_ASSERT_STRING_EQUAL(o.metrics_address, "[::1]:9400");
    CU_ASSERT_EQUAL(o.aer_quiet, 0);
    plugin_options_free(&o);
}

static void
test_relative_paths(void)
{
    char *argv[] = {"kgdp", "--dev-root", "fixture/dev", "cdi", "--output", "out"};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;
    char *cwd = getcwd(NULL, 0);
    char want[4096];

    CU_ASSERT_PTR_NOT_NULL_FATAL(cwd);
    CU_ASSERT_EQUAL_FATAL(plugin_options_parse(ARGC(argv), argv, &o, &err), 0);
    snprintf(want, sizeof(want), "%s/fixture/dev", strcmp(cwd, "/") ? cwd : "");
    CU_ASSERT_STRING_EQUAL(o.dev_root, want);
    snprintf(want, sizeof(want), "%s/out", strcmp(cwd, "/") ? cwd : "");
    CU_ASSERT_STRING_EQUAL(o.output, want);
    plugin_options_free(&o);
    free(cwd);
}

static void
test_bad_flags(void)
{
    static const struct {
        char *args[3];
        const char *msg;
    } cases[] = {
        {{"--mode", "turbo"}, "--mode: 'turbo'"},
        {{"--iommu", "vfio"}, "--iommu: 'vfio'"},
        {{"--rescan-interval", "-1"}, "--rescan-interval: '-1'"},
        {{"--rescan-interval", "10s"}, "--rescan-interval: '10s'"},
        {{"--log-level", "loud"}, "--log-level: 'loud'"},
        {{"--metrics-address", "9400"}, "--metrics-address: '9400' is not HOST:PORT"},
        {{"--metrics-address", ":9400"}, "is not HOST:PORT"},
        {{"--metrics-address", "127.0.0.1:0"}, "the port must be 1-65535"},
        {{"--metrics-address", "127.0.0.1:65536"}, "the port must be 1-65535"},
        {{"--metrics-address", "127.0.0.1:http"}, "the port must be 1-65535"},
        {{"--metrics-address", "[::1:9400"}, "IPv6 host goes in brackets"},
        {{"--aer-quiet-period", "5m"}, "--aer-quiet-period: '5m'"},
        {{"--bogus"}, "unknown or incomplete option '--bogus'"},
        {{"frobnicate"}, "unknown command 'frobnicate'"},
        {{"serve", "extra"}, "unexpected argument 'extra'"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *argv[4] = {"kgdp", cases[i].args[0], cases[i].args[1], NULL};
        int argc = cases[i].args[1] ? 3 : 2;
        struct plugin_options o;
        struct topo_error err = TOPO_ERROR_INIT;

        CU_ASSERT_EQUAL(plugin_options_parse(argc, argv, &o, &err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].msg));
    }
}

static void
test_config_precedence(void)
{
    char *argv[] = {"kgdp", "--config", config_path, "--mode", "multi"};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;

    write_config("{ \"mode\": \"ppcie\", \"gpuAlias\": \"from-file\", \"nvswitchAlias\": \"sw\",\n"
                 "  \"rescanInterval\": 7, \"iommu\": \"iommufd\", \"cdiTakeover\": true,\n"
                 "  \"nfdFeaturesDir\": \"/etc/kubernetes/node-feature-discovery/features.d\",\n"
                 "  \"metricsAddress\": \"127.0.0.1:9400\", \"aerQuietPeriod\": 60 }\n\n");
    setenv("NVSWITCH_ALIAS", "from-env", 1);
    CU_ASSERT_EQUAL_FATAL(plugin_options_parse(ARGC(argv), argv, &o, &err), 0);
    unsetenv("NVSWITCH_ALIAS");
    CU_ASSERT_EQUAL(o.mode, INV_MODE_MULTI);             /* flag beats file */
    CU_ASSERT_STRING_EQUAL(o.gpu_alias, "from-file");     /* file beats default */
    CU_ASSERT_STRING_EQUAL(o.nvswitch_alias, "from-env"); /* env beats file */
    CU_ASSERT_EQUAL(o.rescan_interval, 7);
    CU_ASSERT_EQUAL(o.iommu, TOPO_IOMMU_IOMMUFD);
    CU_ASSERT_TRUE(o.cdi_takeover);
    CU_ASSERT_STRING_EQUAL(o.nfd_dir, "/etc/kubernetes/node-feature-discovery/features.d");
    CU_ASSERT_STRING_EQUAL(o.metrics_address, "127.0.0.1:9400");
    CU_ASSERT_EQUAL(o.aer_quiet, 60);
    plugin_options_free(&o);
}

static void
test_bad_config(void)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"{ \"mode\": ", "not valid JSON"},
        {"{ \"mode\": \"ppcie\" } trailing", "not valid JSON"},
        {"[1, 2]", "top level must be a JSON object"},
        {"{ \"modes\": \"ppcie\" }", "unknown key \"modes\""},
        {"{ \"mode\": \"fast\" }", "\"mode\" must be"},
        {"{ \"rescanInterval\": \"60\" }", "\"rescanInterval\" must be seconds"},
        {"{ \"rescanInterval\": -5 }", "\"rescanInterval\" must be seconds"},
        {"{ \"gpuAlias\": 3 }", "\"gpuAlias\" must be a string"},
        {"{ \"cdiTakeover\": \"yes\" }", "\"cdiTakeover\" must be true or false"},
        {"{ \"metricsAddress\": \"localhost\" }", "\"metricsAddress\" must be \"HOST:PORT\""},
        {"{ \"metricsAddress\": 9400 }", "\"metricsAddress\" must be \"HOST:PORT\""},
        {"{ \"aerQuietPeriod\": 86401 }", "\"aerQuietPeriod\" must be seconds"},
        {"{ \"nfdFeaturesDir\": false }", "\"nfdFeaturesDir\" must be a string"},
    };
    char *argv[] = {"kgdp", "--config", config_path};

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct plugin_options o;
        struct topo_error err = TOPO_ERROR_INIT;

        write_config(cases[i].text);
        CU_ASSERT_EQUAL(plugin_options_parse(ARGC(argv), argv, &o, &err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].msg));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, config_path));
    }
}

static void
test_missing_config(void)
{
    char *argv[] = {"kgdp", "--config", "/nonexistent/kgdp.json"};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;

    CU_ASSERT_EQUAL(plugin_options_parse(ARGC(argv), argv, &o, &err), -ENOENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/kgdp.json"));
}

/* A file of exactly the limit (padded with blanks) parses; one byte more does not. */
static void
test_config_size_limit(void)
{
    char *argv[] = {"kgdp", "--config", config_path};
    static const char head[] = "{ \"mode\": \"multi\"";
    _cleanup_free_ char *text = malloc(PLUGIN_CONFIG_MAX_BYTES + 2);

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (size_t extra = 0; extra < 2; extra++) {
        struct plugin_options o;
        struct topo_error err = TOPO_ERROR_INIT;
        size_t len = PLUGIN_CONFIG_MAX_BYTES + extra;

        memset(text, ' ', len);
        memcpy(text, head, strlen(head));
        text[len - 1] = '}';
        text[len] = '\0';
        write_config(text);
        if (extra == 0) {
            CU_ASSERT_EQUAL_FATAL(plugin_options_parse(ARGC(argv), argv, &o, &err), 0);
            CU_ASSERT_EQUAL(o.mode, INV_MODE_MULTI);
            plugin_options_free(&o);
        } else {
            CU_ASSERT_EQUAL(plugin_options_parse(ARGC(argv), argv, &o, &err), -EFBIG);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "larger than 65536 bytes"));
        }
    }
}

/* A NUL byte is not the end of the text: what follows it must not be ignored. */
static void
test_config_nul(void)
{
    char *argv[] = {"kgdp", "--config", config_path};
    static const char text[] = "{ \"mode\": \"multi\" }\0garbage";
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;
    FILE *f = fopen(config_path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
    fclose(f);
    CU_ASSERT_EQUAL(plugin_options_parse(ARGC(argv), argv, &o, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NUL byte at offset 19"));
    CU_ASSERT_EQUAL(plugin_config_parse("mem", text, 5, &o, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not valid JSON"));
}

TEST_SUITE(plugin_options, setup, teardown, {"defaults", test_defaults},
           {"flags and command", test_flags_and_command}, {"relative paths", test_relative_paths},
           {"bad flags", test_bad_flags}, {"config precedence", test_config_precedence},
           {"bad config", test_bad_config}, {"missing config", test_missing_config},
           {"config size limit", test_config_size_limit}, {"config NUL byte", test_config_nul})
