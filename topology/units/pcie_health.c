#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/units/alloc-priv.h"
#include "topology/base/strfmt.h"

/* Health from the PCIe layer. Two facts make a device Unhealthy: config
 * space that reads all-ones (the device no longer answers: surprise
 * removal, link down, "fell off the bus"), and a fatal AER count that grew
 * since the previous scan, until policy->aer_quiet seconds pass without a
 * new one. A link trained below its maximum, a missing reset method and
 * the power state are facts to report, not faults: vfio-pci idles unused
 * devices in low-power states on purpose. The first scan only sets the
 * baseline: errors counted before we looked are history. */

#define ALL_ONES_REASON                                                                           \
    "PCIe config space reads all-ones: the device no longer answers (fell off the bus)"

/* Carry the AER fault forward, or start one when the fatal count grew. */
static void
track_aer(struct inv_device *dev, const struct inv_device *prev, int64_t now)
{
    if (!prev)
        return;
    dev->aer_fault_at = prev->aer_fault_at;
    dev->aer_fault_from = prev->aer_fault_from;
    if (prev->pcie.aer_fatal_known && dev->pcie.aer_fatal_known &&
        dev->pcie.aer_fatal > prev->pcie.aer_fatal) {
        dev->aer_fault_at = now;
        dev->aer_fault_from = prev->pcie.aer_fatal;
    }
}

static int
set_unhealthy(struct inv_device *dev, char *reason)
{
    if (!reason)
        return -ENOMEM;
    free(dev->reason);
    dev->reason = reason;
    dev->healthy = false;
    return 0;
}

/* Judge one present device; *recheck lowers to when its fault ends. */
static int
judge(struct inv_device *dev, const struct inv_policy *policy, int64_t *recheck)
{
    char *reason = NULL;
    int64_t until;

    if (dev->aer_fault_at) {
        until = dev->aer_fault_at + (int64_t)policy->aer_quiet;
        if (policy->now >= until) {
            dev->aer_fault_at = 0; /* quiet long enough: forgiven */
            dev->aer_fault_from = 0;
        } else if (!*recheck || until < *recheck) {
            *recheck = until;
        }
    }
    if (!dev->healthy)
        return 0; /* its own reason names an earlier obstacle */
    if (dev->pcie.config == TOPO_CONFIG_ALL_ONES)
        return set_unhealthy(dev, strdup(ALL_ONES_REASON));
    if (!dev->aer_fault_at)
        return 0;
    if (topo_strfmt(&reason,
                    "PCIe AER: fatal error count rose from %lld to %lld; Unhealthy until %u s "
                    "pass without a new one",
                    (long long)dev->aer_fault_from, (long long)dev->pcie.aer_fatal,
                    policy->aer_quiet) < 0)
        return -ENOMEM;
    return set_unhealthy(dev, reason);
}

int
alloc_health_pcie(const struct topo_host *host, const struct inv_policy *policy,
                  struct inventory *inv, size_t *const *fn_of)
{
    int64_t recheck = 0;

    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            struct inv_device *dev = &inv->resources[r].devices[d];
            int rc;

            if (fn_of[r][d] == ALLOC_FN_VANISHED)
                continue;
            dev->pcie = host->functions[fn_of[r][d]].pcie;
            track_aer(dev, inventory_find_any(policy->previous, dev->id), policy->now);
            if ((rc = judge(dev, policy, &recheck)) < 0)
                return rc;
        }
    inv->recheck_at = recheck;
    return 0;
}
