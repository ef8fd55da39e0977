#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "plugin/config/options.h"
#include "topology/host/host.h"

/* `discover`: render a scanned host model as a table, JSON or Graphviz DOT.
 * The renderers only read the host and write to the given stream, so tests
 * drive them with hand-built hosts and memory streams. */

/* The command with explicit streams: scans o->sysfs_root / o->dev_root and
 * writes o->format to out, one-line errors to errf. Returns the exit status:
 * 0 ok, 1 scan or output failure, 2 bad --format. */
int discover_run(const struct plugin_options *o, FILE *out, FILE *errf);

/* Table with the topology matrix, IOMMU mode and warnings. sysfs_root only
 * names the place in the "no NVIDIA PCI functions" line. 0 or -EIO/-ENOMEM. */
int discover_table(const struct topo_host *host, const char *sysfs_root, FILE *out);

/* Pretty JSON document (json-c) followed by a newline. 0 or -EIO/-ENOMEM. */
int discover_json(const struct topo_host *host, FILE *out);

/* `digraph pcie { ... }` of the paths leading to NVIDIA functions, with
 * their IOMMU groups as clusters. 0 or -EIO/-ENOMEM. */
int discover_dot(const struct topo_host *host, FILE *out);

/* Helpers shared by the renderers (plugin/discover/discover_common.c). */

/* GPU, NVSwitch or companion function. */
bool discover_is_nvidia(const struct topo_function *f);

/* "gpu", "nvswitch", "companion", "bridge", "other"; static strings. */
const char *discover_kind_name(enum topo_kind kind);

/* "hopper", "blackwell", "other"; static strings. */
const char *discover_family_name(enum topo_family family);

/* "X", "PIX", "PXB", "PHB", "NODE", "SYS"; static strings. */
const char *discover_distance_name(enum topo_distance d);

/* Index of the GPU a companion function travels with (same IOMMU group,
 * the same slot preferred), or -ENOENT. */
int discover_companion_of(const struct topo_host *host, size_t index);

/* Number of NVIDIA functions of the host. */
size_t discover_count_nvidia(const struct topo_host *host);

/* PCIe layer (plugin/discover_pcie.c). */

/* "PCIe:" section of the table: one row per GPU/NVSwitch PF. 0 or -EIO. */
int discover_pcie_table(const struct topo_host *host, FILE *out);

/* "16.0 GT/s x8 of 32.0 GT/s x16", "unknown"; written to buf, returned. */
const char *discover_pcie_link(const struct topo_pcie *p, char *buf, size_t len);

/* "flr bus", "none", "unknown" (points into p or static). */
const char *discover_pcie_reset(const struct topo_pcie *p);

/* What deserves attention, "; "-separated ("" when nothing): no answer,
 * link degraded, no reset method, fatal AER errors. Written to buf. */
const char *discover_pcie_notes(const struct topo_pcie *p, char *buf, size_t len);

/* Does the group hold at least one NVIDIA function. */
bool discover_group_has_nvidia(const struct topo_host *host, const struct topo_group *g);
