#include <stdio.h>
#include <string.h>

#include "plugin/cli/commands.h"
#include "plugin/log/log.h"
#include "plugin/config/options.h"

int
main(int argc, char **argv)
{
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;
    int status;

    if (plugin_options_parse(argc, argv, &o, &err) < 0) {
        fprintf(stderr, "kata-gpu-device-plugin: %s\n", err.msg);
        return 2;
    }
    log_set_level(o.log_level);
    if (strcmp(o.command, "help") == 0) {
        plugin_usage();
        status = 0;
    } else if (strcmp(o.command, "version") == 0) {
        printf("kata-gpu-device-plugin %s\n", KGDP_VERSION);
        status = 0;
    } else if (strcmp(o.command, "discover") == 0) {
        status = cmd_discover(&o);
    } else if (strcmp(o.command, "cdi") == 0) {
        status = cmd_cdi(&o);
    } else if (strcmp(o.command, "health") == 0) {
        status = cmd_health(&o);
    } else {
        status = cmd_serve(&o);
    }
    plugin_options_free(&o);
    return status;
}
