#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/discover/discover.h"
#include "topology/base/cleanup.h"

/* Write s inside a DOT double-quoted string: only '"' and '\' need escaping,
 * and newlines become DOT's own "\n" line break. */
static void
dot_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

enum keep {
    KEEP_NO = 0,
    KEEP_TOP,     /* shown at the top level of the graph */
    KEEP_CLUSTER, /* shown inside the cluster of its IOMMU group */
};

/* Mark what the graph shows: NVIDIA functions, the other members of their
 * IOMMU groups (they decide viability), and every bridge above them. */
static void
mark_kept(const struct topo_host *host, unsigned char *keep)
{
    for (size_t i = 0; i < host->n_functions; i++)
        keep[i] = discover_is_nvidia(&host->functions[i]) ? KEEP_TOP : KEEP_NO;
    for (size_t g = 0; g < host->n_groups; g++) {
        if (!discover_group_has_nvidia(host, &host->groups[g]))
            continue;
        for (size_t m = 0; m < host->groups[g].n_members; m++)
            if (host->groups[g].members[m] < host->n_functions)
                keep[host->groups[g].members[m]] = KEEP_CLUSTER;
    }
    for (size_t i = 0; i < host->n_functions; i++) {
        int p = keep[i] ? host->functions[i].parent : -1;

        /* Bounded walk: a damaged model must not loop forever. */
        for (size_t steps = 0; p >= 0 && (size_t)p < host->n_functions && steps < host->n_functions;
             steps++) {
            if (keep[p] == KEEP_NO)
                keep[p] = KEEP_TOP;
            p = host->functions[p].parent;
        }
    }
}

static void
node_style(const struct topo_host *host, size_t i, FILE *out)
{
    const struct topo_function *f = &host->functions[i];
    bool highlight = f->kind == TOPO_KIND_GPU || f->kind == TOPO_KIND_NVSWITCH;

    switch (f->kind) {
    case TOPO_KIND_GPU:
        fputs(", shape=box, style=\"filled,bold\", fillcolor=\"#76b900\"", out);
        break;
    case TOPO_KIND_NVSWITCH:
        fputs(", shape=hexagon, style=\"filled,bold\", fillcolor=\"#f6a800\"", out);
        break;
    case TOPO_KIND_COMPANION:
        fputs(", shape=box, style=filled, fillcolor=\"#d9f0a3\"", out);
        break;
    case TOPO_KIND_BRIDGE:
        fputs(", shape=ellipse, style=filled, fillcolor=\"#eeeeee\"", out);
        break;
    case TOPO_KIND_OTHER:
        fputs(", shape=box, style=dashed", out);
        break;
    }
    if (highlight && !topo_assignable(host, i, NULL, 0))
        fputs(", color=\"#d00000\", penwidth=3", out);
}

/* GPUs and NVSwitches: their link, and what deserves attention. */
static void
pcie_print(const struct topo_function *f, FILE *out)
{
    char link[64], notes[160];

    if ((f->kind != TOPO_KIND_GPU && f->kind != TOPO_KIND_NVSWITCH) || f->is_vf)
        return;
    fputs("\\nPCIe ", out);
    dot_escaped(out, discover_pcie_link(&f->pcie, link, sizeof(link)));
    fprintf(out, ", %s", topo_power_name(f->pcie.power));
    if (discover_pcie_notes(&f->pcie, notes, sizeof(notes))[0]) {
        fputs("\\n", out);
        dot_escaped(out, notes);
    }
}

static void
node_print(const struct topo_host *host, size_t i, const char *indent, FILE *out)
{
    const struct topo_function *f = &host->functions[i];

    fprintf(out, "%s\"", indent);
    dot_escaped(out, f->bdf);
    fputs("\" [label=\"", out);
    dot_escaped(out, f->bdf);
    fprintf(out, "\\n%s", discover_kind_name(f->kind));
    if (f->model) {
        fputc(' ', out);
        dot_escaped(out, f->model);
    }
    fputs("\\n", out);
    dot_escaped(out, f->driver ? f->driver : "no driver");
    if (f->iommu_group >= 0)
        fprintf(out, "\\ngroup %d", f->iommu_group);
    if (f->numa_node >= 0)
        fprintf(out, ", NUMA %d", f->numa_node);
    pcie_print(f, out);
    fputc('"', out);
    node_style(host, i, out);
    fputs("];\n", out);
}

static void
group_cluster_print(const struct topo_host *host, const struct topo_group *g, FILE *out)
{
    fprintf(out, "  subgraph \"cluster_iommu_%d\" {\n    label=\"IOMMU group %d", g->id, g->id);
    if (!g->viable) {
        fputs(" (not viable: ", out);
        dot_escaped(out, g->not_viable ? g->not_viable : "unknown");
        fputc(')', out);
    }
    fprintf(out, "\";\n    style=%s;\n    color=\"%s\";\n", g->viable ? "dashed" : "bold",
            g->viable ? "#4060a0" : "#d00000");
    for (size_t m = 0; m < g->n_members; m++)
        if (g->members[m] < host->n_functions)
            node_print(host, g->members[m], "    ", out);
    fputs("  }\n", out);
}

/* Host bridges are named once each, in order of first appearance. */
static void
host_bridges_print(const struct topo_host *host, const unsigned char *keep, FILE *out)
{
    for (size_t i = 0; i < host->n_functions; i++) {
        const char *hb = host->functions[i].host_bridge;
        bool seen = false;

        if (!keep[i] || host->functions[i].parent >= 0 || !hb)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = keep[j] && host->functions[j].parent < 0 && host->functions[j].host_bridge &&
                   strcmp(host->functions[j].host_bridge, hb) == 0;
        if (seen)
            continue;
        fputs("  \"", out);
        dot_escaped(out, hb);
        fputs("\" [label=\"", out);
        dot_escaped(out, hb);
        fputs("\\nhost bridge\", shape=box3d, style=filled, fillcolor=\"#a6c8ff\"];\n", out);
    }
}

static void
edges_print(const struct topo_host *host, const unsigned char *keep, FILE *out)
{
    for (size_t i = 0; i < host->n_functions; i++) {
        const struct topo_function *f = &host->functions[i];
        const char *from;

        if (!keep[i])
            continue;
        if (f->parent >= 0 && (size_t)f->parent < host->n_functions)
            from = host->functions[f->parent].bdf;
        else if (f->host_bridge)
            from = f->host_bridge;
        else
            continue;
        fputs("  \"", out);
        dot_escaped(out, from);
        fputs("\" -> \"", out);
        dot_escaped(out, f->bdf);
        fputs("\";\n", out);
    }
}

int
discover_dot(const struct topo_host *host, FILE *out)
{
    _cleanup_free_ unsigned char *keep = calloc(host->n_functions ? host->n_functions : 1, 1);

    if (!keep)
        return -ENOMEM;
    mark_kept(host, keep);
    fputs("digraph pcie {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n", out);
    fprintf(out, "  label=\"PCIe paths to NVIDIA functions (iommu: %s)\";\n",
            host->iommufd ? "iommufd" : "legacy");
    host_bridges_print(host, keep, out);
    for (size_t g = 0; g < host->n_groups; g++)
        if (discover_group_has_nvidia(host, &host->groups[g]))
            group_cluster_print(host, &host->groups[g], out);
    for (size_t i = 0; i < host->n_functions; i++)
        if (keep[i] == KEEP_TOP)
            node_print(host, i, "  ", out);
    edges_print(host, keep, out);
    fputs("}\n", out);
    return ferror(out) ? -EIO : 0;
}
