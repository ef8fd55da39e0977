#include <stdio.h>
#include <string.h>

#include "plugin/log/log.h"
#include "plugin/config/options.h"
#include "plugin/daemon/serve.h"
#include "test/support/fake_inventory.h"

/* The serving daemon over the test inventory file named by
 * KGDP_FAKE_INVENTORY (re-read on every rescan); same command line as
 * `kata-gpu-device-plugin serve`. */
int
main(int argc, char **argv)
{
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;
    int status;

    if (plugin_options_parse(argc, argv, &o, &err) < 0) {
        fprintf(stderr, "testd: %s\n", err.msg);
        return 2;
    }
    if (strcmp(o.command, "serve") != 0) {
        fprintf(stderr, "testd: only the serve command is supported\n");
        plugin_options_free(&o);
        return 2;
    }
    log_set_level(o.log_level);
    status = plugin_serve_run(&o, &(struct plugin_source){.load = fake_inventory_loader}, NULL) < 0
                 ? 1
                 : 0;
    plugin_options_free(&o);
    return status;
}
