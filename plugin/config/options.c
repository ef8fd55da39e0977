#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/config/config.h"
#include "plugin/config/options.h"
#include "plugin/config/values.h"
#include "topology/base/cleanup.h"
#include "topology/base/macros.h"

enum {
    OPT_SYSFS = 0x100,
    OPT_DEV,
    OPT_KUBELET,
    OPT_CDI_DIR,
    OPT_MODE,
    OPT_GPU_ALIAS,
    OPT_NVSWITCH_ALIAS,
    OPT_IOMMU,
    OPT_RESCAN,
    OPT_CONFIG,
    OPT_LOG_LEVEL,
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_TAKEOVER,
    OPT_NFD_DIR,
    OPT_METRICS,
    OPT_AER_QUIET,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"sysfs-root", required_argument, NULL, OPT_SYSFS},
    {"dev-root", required_argument, NULL, OPT_DEV},
    {"kubelet-dir", required_argument, NULL, OPT_KUBELET},
    {"cdi-dir", required_argument, NULL, OPT_CDI_DIR},
    {"mode", required_argument, NULL, OPT_MODE},
    {"gpu-alias", required_argument, NULL, OPT_GPU_ALIAS},
    {"nvswitch-alias", required_argument, NULL, OPT_NVSWITCH_ALIAS},
    {"iommu", required_argument, NULL, OPT_IOMMU},
    {"rescan-interval", required_argument, NULL, OPT_RESCAN},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"cdi-takeover", no_argument, NULL, OPT_TAKEOVER},
    {"nfd-features-dir", required_argument, NULL, OPT_NFD_DIR},
    {"metrics-address", required_argument, NULL, OPT_METRICS},
    {"aer-quiet-period", required_argument, NULL, OPT_AER_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void
plugin_usage(void)
{
    fputs("usage: kata-gpu-device-plugin [serve] [--sysfs-root DIR] [--dev-root DIR]\n"
          "    [--kubelet-dir DIR] [--cdi-dir DIR] [--mode passthrough|multi|ppcie]\n"
          "    [--gpu-alias NAME] [--nvswitch-alias NAME] [--iommu auto|iommufd|legacy]\n"
          "    [--rescan-interval SECONDS] [--config FILE] [--log-level LEVEL]\n"
          "    [--cdi-takeover] [--nfd-features-dir DIR] [--metrics-address HOST:PORT]\n"
          "    [--aer-quiet-period SECONDS]\n"
          "  kata-gpu-device-plugin discover [--format table|json|dot] [same roots]\n"
          "  kata-gpu-device-plugin cdi [--output DIR|-] [same roots]\n"
          "  kata-gpu-device-plugin health [--kubelet-dir DIR] [--cdi-dir DIR]\n"
          "  kata-gpu-device-plugin version\n",
          stdout);
}

static int
set_str(char **dst, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static int
parse_seconds(const char *s, unsigned *ret)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > 86400)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

static int
set_defaults(struct plugin_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = INV_MODE_PASSTHROUGH;
    o->iommu = TOPO_IOMMU_AUTO;
    o->rescan_interval = 60;
    o->aer_quiet = 300;
    o->log_level = LOG_LEVEL_INFO;
    if (set_str(&o->command, "serve") || set_str(&o->sysfs_root, "/sys") ||
        set_str(&o->dev_root, "/dev") ||
        set_str(&o->kubelet_dir, "/var/lib/kubelet/device-plugins") ||
        set_str(&o->cdi_dir, "/var/run/cdi") || set_str(&o->gpu_alias, "pgpu") ||
        set_str(&o->nvswitch_alias, "nvswitch") || set_str(&o->format, "table"))
        return -ENOMEM;
    return 0;
}

/* Find --config before anything else so flags can override the file. */
static const char *
find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

static int
apply_env(struct plugin_options *o)
{
    const char *v;

    if ((v = getenv("P_GPU_ALIAS")) && set_str(&o->gpu_alias, v))
        return -ENOMEM;
    if ((v = getenv("NVSWITCH_ALIAS")) && set_str(&o->nvswitch_alias, v))
        return -ENOMEM;
    return 0;
}

static int
apply_flag(struct plugin_options *o, int c, const char *arg, struct topo_error *err)
{
    int r = 0;

    switch (c) {
    case OPT_SYSFS: r = set_str(&o->sysfs_root, arg); break;
    case OPT_DEV: r = set_str(&o->dev_root, arg); break;
    case OPT_KUBELET: r = set_str(&o->kubelet_dir, arg); break;
    case OPT_CDI_DIR: r = set_str(&o->cdi_dir, arg); break;
    case OPT_GPU_ALIAS: r = set_str(&o->gpu_alias, arg); break;
    case OPT_NVSWITCH_ALIAS: r = set_str(&o->nvswitch_alias, arg); break;
    case OPT_CONFIG: r = set_str(&o->config, arg); break;
    case OPT_FORMAT: r = set_str(&o->format, arg); break;
    case OPT_OUTPUT: r = set_str(&o->output, arg); break;
    case OPT_TAKEOVER: o->cdi_takeover = true; break;
    case OPT_NFD_DIR: r = set_str(&o->nfd_dir, arg); break;
    case OPT_METRICS:
        if ((r = plugin_parse_address(arg, err)) < 0)
            return topo_error_prefix(err, r, "--metrics-address");
        r = set_str(&o->metrics_address, arg);
        break;
    case OPT_AER_QUIET:
        if (parse_seconds(arg, &o->aer_quiet) < 0)
            return topo_error_set(err, -EINVAL,
                                  "--aer-quiet-period: '%s' is not a number of seconds (0-86400)",
                                  arg);
        break;
    case OPT_MODE:
        if (plugin_parse_mode(arg, &o->mode) < 0)
            return topo_error_set(err, -EINVAL,
                                  "--mode: '%s' is not one of passthrough, multi, ppcie", arg);
        break;
    case OPT_IOMMU:
        if (plugin_parse_iommu(arg, &o->iommu) < 0)
            return topo_error_set(err, -EINVAL,
                                  "--iommu: '%s' is not one of auto, iommufd, legacy", arg);
        break;
    case OPT_RESCAN:
        if (parse_seconds(arg, &o->rescan_interval) < 0)
            return topo_error_set(err, -EINVAL,
                                  "--rescan-interval: '%s' is not a number of seconds (0-86400)",
                                  arg);
        break;
    case OPT_LOG_LEVEL:
        if (log_level_parse(arg, &o->log_level) < 0)
            return topo_error_set(err, -EINVAL,
                                  "--log-level: '%s' is not one of debug, info, warn, error", arg);
        break;
    default:
        return topo_error_set(err, -EINVAL, "unknown option (see --help)");
    }
    return r < 0 ? topo_error_set(err, r, "out of memory") : 0;
}

/* Host paths handed to the kubelet and written into CDI specs must be
 * absolute, whatever directory the daemon was started from. */
static int
make_absolute(char **path)
{
    _cleanup_free_ char *cwd = NULL;
    char *abs;

    if (!*path || (*path)[0] == '/' || (*path)[0] == '\0')
        return 0;
    cwd = getcwd(NULL, 0);
    if (!cwd)
        return -errno;
    if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, *path) < 0)
        return -ENOMEM;
    free(*path);
    *path = abs;
    return 0;
}

static int
absolute_paths(struct plugin_options *o, struct topo_error *err)
{
    char **paths[] = {&o->sysfs_root, &o->dev_root, &o->kubelet_dir, &o->cdi_dir, &o->nfd_dir};
    int r;

    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        if ((r = make_absolute(paths[i])) < 0)
            return topo_error_set(err, r, "cannot make %s absolute: %s", *paths[i], strerror(-r));
    if (o->output && strcmp(o->output, "-") != 0 && (r = make_absolute(&o->output)) < 0)
        return topo_error_set(err, r, "cannot make %s absolute: %s", o->output, strerror(-r));
    return 0;
}

static int
check_command(struct plugin_options *o, struct topo_error *err)
{
    static const char *const commands[] = {"serve", "discover", "cdi", "health", "version",
                                                "help"};

    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(o->command, commands[i]) == 0)
            return 0;
    return topo_error_set(err, -EINVAL, "unknown command '%s' (serve, discover, cdi, health, version)",
                          o->command);
}

int
plugin_options_parse(int argc, char **argv, struct plugin_options *ret, struct topo_error *err)
{
    struct plugin_options o;
    const char *config;
    int c, r;

    if (set_defaults(&o) < 0) {
        plugin_options_free(&o);
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    config = find_config(argc, argv);
    if (config && (r = plugin_config_load(config, &o, err)) < 0)
        goto fail;
    if ((r = apply_env(&o)) < 0) {
        topo_error_set(err, r, "out of memory");
        goto fail;
    }
    optind = 0; /* 0: glibc re-initialises its permutation state */
    opterr = 0;
    /* GNU getopt permutes: the command may stand before or after options. */
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            if ((r = set_str(&o.command, "help")) < 0)
                goto fail;
            continue;
        }
        if (c == '?') {
            r = topo_error_set(err, -EINVAL, "unknown or incomplete option '%s' (see --help)",
                               argv[optind - 1]);
            goto fail;
        }
        if ((r = apply_flag(&o, c, optarg, err)) < 0)
            goto fail;
    }
    if (optind < argc && strcmp(o.command, "help") != 0 &&
        (r = set_str(&o.command, argv[optind++])) < 0)
        goto fail;
    if (optind < argc && strcmp(o.command, "help") != 0) {
        r = topo_error_set(err, -EINVAL, "unexpected argument '%s'", argv[optind]);
        goto fail;
    }
    if ((r = check_command(&o, err)) < 0 || (r = absolute_paths(&o, err)) < 0)
        goto fail;
    *ret = o;
    return 0;
fail:
    plugin_options_free(&o);
    return r;
}

void
plugin_options_free(struct plugin_options *o)
{
    if (!o)
        return;
    free(o->command);
    free(o->sysfs_root);
    free(o->dev_root);
    free(o->kubelet_dir);
    free(o->cdi_dir);
    free(o->gpu_alias);
    free(o->nvswitch_alias);
    free(o->config);
    free(o->format);
    free(o->output);
    free(o->nfd_dir);
    free(o->metrics_address);
    memset(o, 0, sizeof(*o));
}
