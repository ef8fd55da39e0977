#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"

/* libpci at the boundary, for what it adds: device names from pci.ids
 * (enumeration reads uevent files instead, see enumerate.c).
 * libpci reports failures through callbacks and its default error handler
 * exits; here every failure becomes a warning line and the call returns.
 * Internal to topology/. */

struct topo_pci;

/* Called once per libpci warning or error, with the formatted message. */
typedef void topo_pci_warn_fn(void *ctx, const char *msg);

/* Open libpci on <sysfs_root>/bus/pci. Returns 0 and *ret (free with
 * topo_pci_close), or -errno with err filled. */
int topo_pci_open(const char *sysfs_root, topo_pci_warn_fn *warn, void *ctx,
                  struct topo_pci **ret, struct topo_error *err);

/* pci.ids name of vendor:device in a new string, or NULL when unknown or
 * when no pci.ids can be read. */
char *topo_pci_lookup_device(struct topo_pci *pci, uint16_t vendor, uint16_t device);

/* Release libpci; NULL is accepted. */
void topo_pci_close(struct topo_pci *pci);
