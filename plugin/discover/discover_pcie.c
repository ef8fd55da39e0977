#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugin/discover/discover.h"

/* The PCIe layer in `discover`: link, power state, reset methods, AER
 * totals and whether config space still answers, for the GPUs and
 * NVSwitches (the functions whose facts the scan reads). */

static bool
has_pcie(const struct topo_function *f)
{
    return (f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH) && !f->is_vf;
}

/* "16.0 GT/s" from 160, "?" when unknown. */
static const char *
speed_text(int tenths, char *buf, size_t len)
{
    if (!tenths)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%d.%d GT/s", tenths / 10, tenths % 10);
    return buf;
}

const char *
discover_pcie_link(const struct topo_pcie *p, char *buf, size_t len)
{
    char cur[24], max[24];

    if (!p->link_speed && !p->link_width && !p->link_max_speed && !p->link_max_width)
        snprintf(buf, len, "unknown");
    else
        snprintf(buf, len, "%s x%d of %s x%d", speed_text(p->link_speed, cur, sizeof(cur)),
                 p->link_width, speed_text(p->link_max_speed, max, sizeof(max)),
                 p->link_max_width);
    return buf;
}

const char *
discover_pcie_reset(const struct topo_pcie *p)
{
    switch (p->reset) {
    case TOPO_RESET_SOME: return p->reset_method;
    case TOPO_RESET_NONE: return "none";
    case TOPO_RESET_UNKNOWN: break;
    }
    return "unknown";
}

/* "3" or "?" */
static const char *
count_text(bool known, int64_t v, char *buf, size_t len)
{
    if (known)
        snprintf(buf, len, "%lld", (long long)v);
    else
        snprintf(buf, len, "?");
    return buf;
}

const char *
discover_pcie_notes(const struct topo_pcie *p, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    if (p->config == TOPO_CONFIG_ALL_ONES)
        o += (size_t)snprintf(buf + o, len - o, "no answer (config reads all-ones); ");
    if (o < len && topo_pcie_link_degraded(p))
        o += (size_t)snprintf(buf + o, len - o, "link degraded; ");
    if (o < len && p->reset == TOPO_RESET_NONE)
        o += (size_t)snprintf(buf + o, len - o, "no reset method; ");
    if (o < len && p->aer_fatal_known && p->aer_fatal > 0)
        o += (size_t)snprintf(buf + o, len - o, "fatal AER errors; ");
    if (o >= 2 && o < len)
        buf[o - 2] = '\0';
    return buf;
}

int
discover_pcie_table(const struct topo_host *host, FILE *out)
{
    bool any = false;

    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_function *f = &host->functions[i];
        char link[64], fatal[24], nonfatal[24], notes[160];

        if (!has_pcie(f))
            continue;
        if (!any)
            fprintf(out, "\nPCIe:\n  %-13s  %-30s  %-7s  %-16s  %-9s  %-12s  %s\n", "BDF",
                    "LINK", "POWER", "RESET", "AER FATAL", "AER NONFATAL", "NOTES");
        any = true;
        fprintf(out, "  %-13s  %-30s  %-7s  %-16s  %-9s  %-12s  %s\n", f->bdf,
                discover_pcie_link(&f->pcie, link, sizeof(link)), topo_power_name(f->pcie.power),
                discover_pcie_reset(&f->pcie),
                count_text(f->pcie.aer_fatal_known, f->pcie.aer_fatal, fatal, sizeof(fatal)),
                count_text(f->pcie.aer_nonfatal_known, f->pcie.aer_nonfatal, nonfatal,
                           sizeof(nonfatal)),
                discover_pcie_notes(&f->pcie, notes, sizeof(notes))[0] ? notes : "-");
    }
    return ferror(out) ? -EIO : 0;
}
