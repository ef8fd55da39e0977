#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"

/* libpci at the boundary: enumeration, IDs and class through the
 * linux-sysfs backend pointed at <sysfs-root>/bus/pci, and pci.ids names.
 * libpci reports failures through callbacks and its default error handler
 * exits; here every failure becomes a warning line and the call returns.
 * Internal to topology/. */

struct topo_pci;

/* Called once per libpci warning or error, with the formatted message. */
typedef void topo_pci_warn_fn(void *ctx, const char *msg);

struct topo_pci_entry {
    char bdf[16];
    uint16_t vendor, device;
    uint32_t class_code; /* 24-bit; prog-if only for progif_vendor, else 0 */
    bool ident_ok;       /* vendor and device could be read */
    bool class_ok;       /* class could be read */
};

/* Open libpci on <sysfs_root>/bus/pci. Returns 0 and *ret (free with
 * topo_pci_close), or -errno with err filled. */
int topo_pci_open(const char *sysfs_root, topo_pci_warn_fn *warn, void *ctx,
                  struct topo_pci **ret, struct topo_error *err);

/* Enumerate every function with IDs and class, sorted by BDF, in a new
 * array *ret (caller frees) of *ret_n entries. The prog-if byte costs one
 * more file per function and is read only for vendor progif_vendor.
 * Returns 0 or -errno (-EIO: the scan aborted). */
int topo_pci_list(struct topo_pci *pci, uint16_t progif_vendor, struct topo_pci_entry **ret,
                  size_t *ret_n, struct topo_error *err);

/* pci.ids name of vendor:device in a new string, or NULL when unknown or
 * when no pci.ids can be read. */
char *topo_pci_lookup_device(struct topo_pci *pci, uint16_t vendor, uint16_t device);

/* Release libpci; NULL is accepted. */
void topo_pci_close(struct topo_pci *pci);
