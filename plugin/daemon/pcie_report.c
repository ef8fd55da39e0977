#include <stdio.h>
#include <time.h>

#include "plugin/daemon/inventory_load.h"
#include "plugin/log/log.h"

/* Log what the PCIe layer reports, once per device and condition: when it
 * first appears in a snapshot (or is new since the previous one). These
 * facts do not change health (a degraded link still works; a device without
 * a reset method still passes through); an operator should know anyway. */

/* "16.0" from 160 (0.1 GT/s units). */
static const char *
speed(int tenths, char *buf, size_t len)
{
    snprintf(buf, len, "%d.%d", tenths / 10, tenths % 10);
    return buf;
}

static void
report_device(const struct inv_device *d, const struct inv_device *old)
{
    const struct topo_pcie *p = &d->pcie, *o = old ? &old->pcie : NULL;
    char a[16], b[16];

    if (topo_pcie_link_degraded(p) && !(o && topo_pcie_link_degraded(o)))
        log_warn("pcie_link_degraded",
                 "device=%s speed=%sGT/s width=%d max_speed=%sGT/s max_width=%d", d->id,
                 speed(p->link_speed, a, sizeof(a)), p->link_width,
                 speed(p->link_max_speed, b, sizeof(b)), p->link_max_width);
    if (p->reset == TOPO_RESET_NONE && !(o && o->reset == TOPO_RESET_NONE))
        log_warn("pcie_no_reset",
                 "device=%s hint=\"the kernel knows no reset method: a VM may "
                 "not get it in a clean state\"",
                 d->id);
    if (p->config == TOPO_CONFIG_ALL_ONES && !(o && o->config == TOPO_CONFIG_ALL_ONES))
        log_error("pcie_no_answer", "device=%s config=all-ones", d->id);
    if (o && p->aer_fatal_known && o->aer_fatal_known && p->aer_fatal > o->aer_fatal)
        log_error("pcie_aer_fatal", "device=%s total=%lld previous=%lld", d->id,
                  (long long)p->aer_fatal, (long long)o->aer_fatal);
    if (o && p->aer_nonfatal_known && o->aer_nonfatal_known && p->aer_nonfatal > o->aer_nonfatal)
        log_warn("pcie_aer_nonfatal", "device=%s total=%lld previous=%lld", d->id,
                 (long long)p->aer_nonfatal, (long long)o->aer_nonfatal);
    if (o && p->power != o->power)
        log_info("pcie_power_state", "device=%s state=%s previous=%s", d->id,
                 topo_power_name(p->power), topo_power_name(o->power));
}

void
plugin_pcie_report(const struct inventory *inv, const struct inventory *previous)
{
    for (size_t r = 0; r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            const struct inv_device *dev = &inv->resources[r].devices[d];

            report_device(dev, inventory_find_any(previous, dev->id));
        }
}

int64_t
plugin_monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec > 0 ? (int64_t)ts.tv_sec : 1; /* 0 means "never" in snapshots */
}
