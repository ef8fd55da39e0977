#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/metrics/metrics-priv.h"
#include "topology/base/cleanup.h"

/* The Prometheus text exposition format 0.0.4: per family one "# HELP"
 * and one "# TYPE" line, then its samples, label values escaped (\\, \",
 * \n). Counter names end in _total; the histogram has cumulative _bucket
 * lines up to le="+Inf", then _sum and _count. */

#define NS "kata_gpu_"

static const struct {
    const char *name, *help;
    const char *key1, *key2; /* label keys of resource and reason, NULL: none */
} families[PLUGIN_CTR_COUNT] = {
    [PLUGIN_CTR_ALLOCATIONS] = {NS "allocations_total", "Allocate requests answered with devices.",
                                "resource", NULL},
    [PLUGIN_CTR_REFUSALS] = {NS "allocation_refusals_total",
                             "Allocate requests refused, by reason (invalid_request, rule, "
                             "unhealthy, internal).",
                             "resource", "reason"},
    [PLUGIN_CTR_PREFERRED] = {NS "preferred_allocation_calls_total",
                              "GetPreferredAllocation calls, by result.", "resource", "result"},
    [PLUGIN_CTR_RESCANS] = {NS "rescans_total",
                            "Scans of the host (the first load and every rescan), by result.", NULL,
                            "result"},
    [PLUGIN_CTR_CDI_SYNCS] = {NS "cdi_syncs_total",
                              "CDI spec syncs, by result (ok, conflict, failed).", NULL, "result"},
    [PLUGIN_CTR_REGISTRATIONS] = {NS "registrations_total",
                                  "Registrations with the kubelet, by result.", "resource",
                                  "result"},
    [PLUGIN_CTR_KUBELET_RESTARTS] = {NS "kubelet_restarts_total",
                                     "Kubelet restarts seen (a new kubelet.sock).", NULL, NULL},
};

/* A label value with \\, \" and \n escaped; NULL as "". */
static void
put_value(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*v, f);
    }
}

static void
put_labels(FILE *f, const char *k1, const char *v1, const char *k2, const char *v2)
{
    if (!k1 && !k2)
        return;
    fputc('{', f);
    if (k1) {
        fprintf(f, "%s=\"", k1);
        put_value(f, v1);
        fputc('"', f);
    }
    if (k2) {
        fprintf(f, "%s%s=\"", k1 ? "," : "", k2);
        put_value(f, v2);
        fputc('"', f);
    }
    fputc('}', f);
}

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counters(FILE *f, const struct plugin_metrics_counts *snap)
{
    for (int c = 0; c < PLUGIN_CTR_COUNT; c++) {
        bool any = false;

        header(f, families[c].name, "counter", families[c].help);
        for (size_t i = 0; i < snap->n_entries; i++) {
            const struct plugin_counter_entry *e = &snap->entries[i];

            if (e->counter != (enum plugin_counter)c)
                continue;
            fputs(families[c].name, f);
            put_labels(f, families[c].key1, e->resource, families[c].key2, e->reason);
            fprintf(f, " %llu\n", (unsigned long long)e->value);
            any = true;
        }
        if (!any && !families[c].key1 && !families[c].key2)
            fprintf(f, "%s 0\n", families[c].name);
    }
}

static void
histogram(FILE *f, const struct plugin_metrics_counts *snap)
{
    const char *name = NS "rescan_duration_seconds";

    header(f, name, "histogram", "Time to rescan the host and sync CDI specs.");
    for (size_t i = 0; i < PLUGIN_RESCAN_BUCKETS; i++)
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, plugin_rescan_buckets[i],
                (unsigned long long)snap->rescan_le[i]);
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)snap->rescan_count);
    fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, snap->rescan_sum, name,
            (unsigned long long)snap->rescan_count);
}

static void
device_counts(FILE *f, const struct inventory *inv)
{
    header(f, NS "devices", "gauge", "Devices listed to the kubelet, by resource and health.");
    for (size_t r = 0; inv && r < inv->n_resources; r++) {
        const struct inv_resource *res = &inv->resources[r];
        size_t healthy = 0;

        for (size_t d = 0; d < res->n_devices; d++)
            healthy += res->devices[d].healthy;
        fputs(NS "devices", f);
        put_labels(f, "resource", res->name, "health", "healthy");
        fprintf(f, " %zu\n" NS "devices", healthy);
        put_labels(f, "resource", res->name, "health", "unhealthy");
        fprintf(f, " %zu\n", res->n_devices - healthy);
    }
}

/* One sample per device of a per-device family; value() < 0 skips it. */
static void
per_device(FILE *f, const struct inventory *inv, const char *name, const char *k2,
           const char *(*label2)(const struct inv_device *),
           long long (*value)(const struct inv_device *))
{
    for (size_t r = 0; inv && r < inv->n_resources; r++)
        for (size_t d = 0; d < inv->resources[r].n_devices; d++) {
            const struct inv_device *dev = &inv->resources[r].devices[d];
            long long v = value(dev);

            if (v < 0)
                continue;
            fputs(name, f);
            put_labels(f, "device", dev->id, k2, k2 ? label2(dev) : NULL);
            fprintf(f, " %lld\n", v);
        }
}

static long long
v_healthy(const struct inv_device *d)
{
    return d->healthy;
}

static long long
v_fatal(const struct inv_device *d)
{
    return d->pcie.aer_fatal_known ? (long long)d->pcie.aer_fatal : -1;
}

static long long
v_nonfatal(const struct inv_device *d)
{
    return d->pcie.aer_nonfatal_known ? (long long)d->pcie.aer_nonfatal : -1;
}

static long long
v_degraded(const struct inv_device *d)
{
    const struct topo_pcie *p = &d->pcie;

    if ((!p->link_speed || !p->link_max_speed) && (!p->link_width || !p->link_max_width))
        return -1;
    return topo_pcie_link_degraded(p);
}

static long long
v_power(const struct inv_device *d)
{
    return d->pcie.power == TOPO_POWER_UNKNOWN ? -1 : 1;
}

static long long
v_reset(const struct inv_device *d)
{
    return d->pcie.reset == TOPO_RESET_UNKNOWN ? -1 : d->pcie.reset == TOPO_RESET_SOME;
}

static const char *
l_fatal(const struct inv_device *d)
{
    (void)d;
    return "fatal";
}

static const char *
l_nonfatal(const struct inv_device *d)
{
    (void)d;
    return "nonfatal";
}

static const char *
l_power(const struct inv_device *d)
{
    return topo_power_name(d->pcie.power);
}

static void
devices(FILE *f, const struct inventory *inv)
{
    device_counts(f, inv);
    header(f, NS "device_healthy", "gauge", "1 when the device is Healthy at the kubelet.");
    per_device(f, inv, NS "device_healthy", NULL, NULL, v_healthy);
    header(f, NS "pcie_aer_errors_total", "counter",
           "Uncorrectable PCIe AER errors the kernel counted for the device, by severity.");
    per_device(f, inv, NS "pcie_aer_errors_total", "severity", l_fatal, v_fatal);
    per_device(f, inv, NS "pcie_aer_errors_total", "severity", l_nonfatal, v_nonfatal);
    header(f, NS "pcie_link_degraded", "gauge",
           "1 when the PCIe link trained below its maximum speed or width.");
    per_device(f, inv, NS "pcie_link_degraded", NULL, NULL, v_degraded);
    header(f, NS "pcie_power_state", "gauge", "The device's PCI power state (value 1).");
    per_device(f, inv, NS "pcie_power_state", "state", l_power, v_power);
    header(f, NS "pcie_reset_available", "gauge",
           "1 when the kernel knows a reset method for the device.");
    per_device(f, inv, NS "pcie_reset_available", NULL, NULL, v_reset);
}

int
plugin_metrics_render(struct plugin_metrics *m, char **ret, size_t *ret_len)
{
    _cleanup_free_ struct plugin_metrics_counts *snap = malloc(sizeof(*snap));
    struct inventory *inv;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (!snap)
        return -ENOMEM;
    pthread_mutex_lock(&m->lock);
    *snap = m->c;
    inv = inventory_ref(m->inv);
    pthread_mutex_unlock(&m->lock);
    f = open_memstream(&buf, &len);
    if (f) {
        counters(f, snap);
        histogram(f, snap);
        devices(f, inv);
        header(f, NS "build_info", "gauge", "Version of the daemon (value 1).");
        fprintf(f, NS "build_info{version=\"%s\"} 1\n", KGDP_VERSION);
    }
    inventory_unref(inv);
    if (!f || fclose(f) != 0 || !buf) {
        free(buf);
        return -ENOMEM;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}
