#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "plugin/grpc/handlers.h"
#include "plugin/log/log.h"
#include "topology/host/host.h"
#include "topology/units/inventory.h"

/* Each unary RPC's decoding plus handler on the HGX H100 fixture: the first
 * byte picks the method and the resource, the rest is the request as it
 * comes off the wire. Allocate re-checks the fixture's sysfs and /dev, as
 * it does on a host. KGDP_FIXTURES names the generated fixtures. */

static struct inventory *inv;

static int
load(const char *base)
{
    char sys[4096], dev[4096];
    struct topo_scan_options so = {.sysfs_root = sys, .dev_root = dev};
    struct inv_policy p = {.domain = "nvidia.com",
                           .gpu_alias = "pgpu",
                           .nvswitch_alias = "nvswitch",
                           .sysfs_root = sys,
                           .dev_root = dev};
    struct topo_error err = TOPO_ERROR_INIT;
    struct topo_host *host = NULL;
    int r;

    snprintf(sys, sizeof(sys), "%s/hgx-h100-iommufd/sys", base);
    snprintf(dev, sizeof(dev), "%s/hgx-h100-iommufd/dev", base);
    if ((r = topo_scan(&so, &host, &err)) == 0) {
        r = inventory_build(host, &p, &inv, &err);
        topo_host_free(host);
    }
    if (r < 0)
        fprintf(stderr, "fuzz_rpc: fixture %s: %s\n", sys, err.msg);
    return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = getenv("KGDP_FIXTURES");

    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR);
    if (!base || load(base) < 0 || inv->n_resources == 0) {
        fprintf(stderr, "fuzz_rpc: set KGDP_FIXTURES to the generated fixtures\n");
        exit(1);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plugin_reply rep;
    enum plugin_unary m;
    const char *resource;

    if (size < 1)
        return 0;
    m = (enum plugin_unary)(data[0] & 3);
    resource =
        (data[0] & 4) ? "nvidia.com/none" : inv->resources[(data[0] >> 3) % inv->n_resources].name;
    plugin_handle_request(&(struct plugin_served){.resource = resource}, inv, m,
                          size > 1 ? data + 1 : NULL, size - 1, &rep);
    if (rep.code == GRPC_STATUS_OK && !rep.data)
        abort(); /* an answer without a body */
    plugin_reply_clear(&rep);
    return 0;
}
