#include <stdint.h>
#include <stdlib.h>

#include "plugin/config/options.h"

/* The config file parser on arbitrary bytes, over the defaults. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[] = {"kgdp", NULL};
    struct plugin_options o;
    struct topo_error err = TOPO_ERROR_INIT;
    int r;

    if (plugin_options_parse(1, argv, &o, &err) < 0)
        abort();
    r = plugin_config_parse("fuzz", (const char *)data, size, &o, &err);
    if (r < 0 && !err.msg[0])
        abort(); /* every refusal says why */
    plugin_options_free(&o);
    return 0;
}
