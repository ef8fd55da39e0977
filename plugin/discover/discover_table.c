#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/discover/discover.h"
#include "topology/base/cleanup.h"
#include "topology/base/strfmt.h"

enum {
    COL_BDF = 0,
    COL_KIND,
    COL_MODEL,
    COL_DRIVER,
    COL_GROUP,
    COL_CDEV,
    COL_NUMA,
    COL_PARENT,
    COL_ASSIGNABLE,
    N_COLS,
};

static const char *const col_titles[N_COLS] = {
    "BDF", "KIND", "MODEL", "DRIVER", "IOMMU", "VFIO", "NUMA", "PARENT", "ASSIGNABLE",
};

/* Cells of the function table, row-major; row 0 holds the titles. */
struct table {
    size_t n_rows;
    char **cells;
};

static void
table_free(struct table *t)
{
    if (!t->cells)
        return;
    for (size_t i = 0; i < t->n_rows * N_COLS; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

static int
assignable_cell(const struct topo_host *host, size_t i, char **cell)
{
    char reason[256] = "";
    int gpu;

    if (host->functions[i].kind == TOPO_KIND_COMPANION) {
        gpu = discover_companion_of(host, i);
        if (gpu < 0)
            return topo_strfmt(cell, "-");
        return topo_strfmt(cell, "with %s", host->functions[gpu].bdf);
    }
    if (topo_assignable(host, i, reason, sizeof(reason)))
        return topo_strfmt(cell, "yes");
    return topo_strfmt(cell, "no: %s", reason[0] ? reason : "not assignable");
}

static int
fill_row(const struct topo_host *host, size_t i, char **row)
{
    const struct topo_function *f = &host->functions[i];
    int r = 0;

    r |= topo_strfmt(&row[COL_BDF], "%s", f->bdf);
    r |= topo_strfmt(&row[COL_KIND], "%s", discover_kind_name(f->kind));
    r |= topo_strfmt(&row[COL_MODEL], "%s", f->model ? f->model : "-");
    r |= topo_strfmt(&row[COL_DRIVER], "%s", f->driver ? f->driver : "-");
    if (f->iommu_group >= 0)
        r |= topo_strfmt(&row[COL_GROUP], "%d", f->iommu_group);
    else
        r |= topo_strfmt(&row[COL_GROUP], "-");
    if (f->vfio_cdev >= 0)
        r |= topo_strfmt(&row[COL_CDEV], "vfio%d", f->vfio_cdev);
    else
        r |= topo_strfmt(&row[COL_CDEV], "-");
    if (f->numa_node >= 0)
        r |= topo_strfmt(&row[COL_NUMA], "%d", f->numa_node);
    else
        r |= topo_strfmt(&row[COL_NUMA], "-");
    if (f->parent >= 0 && (size_t)f->parent < host->n_functions)
        r |= topo_strfmt(&row[COL_PARENT], "%s", host->functions[f->parent].bdf);
    else
        r |= topo_strfmt(&row[COL_PARENT], "-");
    r |= assignable_cell(host, i, &row[COL_ASSIGNABLE]);
    return r ? -ENOMEM : 0;
}

static int
table_build(const struct topo_host *host, struct table *t)
{
    size_t row = 1;

    t->n_rows = discover_count_nvidia(host) + 1;
    t->cells = calloc(t->n_rows * N_COLS, sizeof(char *));
    if (!t->cells)
        return -ENOMEM;
    for (size_t c = 0; c < N_COLS; c++)
        if (topo_strfmt(&t->cells[c], "%s", col_titles[c]) < 0)
            return -ENOMEM;
    for (size_t i = 0; i < host->n_functions; i++) {
        if (!discover_is_nvidia(&host->functions[i]))
            continue;
        if (fill_row(host, i, &t->cells[row * N_COLS]) < 0)
            return -ENOMEM;
        row++;
    }
    return 0;
}

static void
table_print(const struct table *t, FILE *out)
{
    size_t width[N_COLS] = {0};

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < N_COLS; c++) {
            size_t len = strlen(t->cells[r * N_COLS + c]);

            if (len > width[c])
                width[c] = len;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c + 1 < N_COLS; c++)
            fprintf(out, "%-*s  ", (int)width[c], t->cells[r * N_COLS + c]);
        fprintf(out, "%s\n", t->cells[r * N_COLS + N_COLS - 1]);
    }
}

static const char legend[] =
    "Legend:\n"
    "  X    = self\n"
    "  PIX  = path crosses at most one PCIe switch\n"
    "  PXB  = path crosses several PCIe switches, not the host bridge\n"
    "  PHB  = path crosses a PCIe host bridge (root complex)\n"
    "  NODE = path crosses the interconnect between host bridges of one NUMA node\n"
    "  SYS  = path crosses the interconnect between NUMA nodes (or NUMA unknown)\n";

static int
matrix_print(const struct topo_host *host, FILE *out)
{
    _cleanup_free_ size_t *gpus = calloc(host->n_functions ? host->n_functions : 1,
                                         sizeof(size_t));
    size_t n = 0;

    if (!gpus)
        return -ENOMEM;
    for (size_t i = 0; i < host->n_functions; i++)
        if (host->functions[i].kind == TOPO_KIND_GPU)
            gpus[n++] = i;
    if (n == 0) {
        fputs("GPU topology: no GPUs\n", out);
        return 0;
    }
    fprintf(out, "GPU topology:\n%-*s", TOPO_BDF_LEN, "");
    for (size_t c = 0; c < n; c++)
        fprintf(out, "  %-*s", TOPO_BDF_LEN - 1, host->functions[gpus[c]].bdf);
    fputs("  NUMA\n", out);
    for (size_t r = 0; r < n; r++) {
        const struct topo_function *f = &host->functions[gpus[r]];

        fprintf(out, "%-*s", TOPO_BDF_LEN, f->bdf);
        for (size_t c = 0; c < n; c++)
            fprintf(out, "  %-*s", TOPO_BDF_LEN - 1,
                    discover_distance_name(topo_distance(host, gpus[r], gpus[c])));
        if (f->numa_node >= 0)
            fprintf(out, "  %d\n", f->numa_node);
        else
            fputs("  -\n", out);
    }
    fputc('\n', out);
    fputs(legend, out);
    return 0;
}

static void
footer_print(const struct topo_host *host, FILE *out)
{
    fprintf(out, "\niommu: %s\n",
            host->iommufd ? "iommufd (/dev/vfio/devices/vfioN per device)"
                          : "legacy (/dev/vfio/vfio + /dev/vfio/<group>)");
    if (host->numa_distance && host->n_numa_nodes > 1) {
        fputs("NUMA distances:", out);
        for (size_t a = 0; a < host->n_numa_nodes; a++) {
            fprintf(out, "%s node%zu:", a ? ";" : "", a);
            for (size_t b = 0; b < host->n_numa_nodes; b++)
                fprintf(out, " %d", topo_numa_distance(host, (int)a, (int)b));
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < host->n_warnings; i++)
        fprintf(out, "warning: %s\n", host->warnings[i]);
}

int
discover_table(const struct topo_host *host, const char *sysfs_root, FILE *out)
{
    struct table t = {0, NULL};
    int r;

    if (discover_count_nvidia(host) == 0) {
        fprintf(out, "no NVIDIA PCI functions found under %s\n", sysfs_root);
        for (size_t i = 0; i < host->n_warnings; i++)
            fprintf(out, "warning: %s\n", host->warnings[i]);
        return ferror(out) ? -EIO : 0;
    }
    r = table_build(host, &t);
    if (r == 0)
        table_print(&t, out);
    table_free(&t);
    if (r < 0)
        return r;
    fputc('\n', out);
    r = matrix_print(host, out);
    if (r < 0)
        return r;
    if ((r = discover_pcie_table(host, out)) < 0)
        return r;
    footer_print(host, out);
    return ferror(out) ? -EIO : 0;
}
