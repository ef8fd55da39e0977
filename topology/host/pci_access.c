#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include "topology/base/cleanup.h"
#include "topology/host/pci_access.h"

struct topo_pci {
    struct pci_access *acc;
    topo_pci_warn_fn *warn;
    void *ctx;
    bool quiet;        /* pci.ids lookups: a missing database is not news */
    jmp_buf *on_error; /* where error() returns to; armed around each call */
};

/* libpci's callbacks take no user pointer, so the handle active on this
 * thread is found here. Set only for the duration of a guarded call. */
static __thread struct topo_pci *current;

static void pci_report(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
pci_report(const char *fmt, va_list ap)
{
    char msg[1024];

    if (!current || current->quiet || !current->warn)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    current->warn(current->ctx, msg);
}

static void __attribute__((format(printf, 1, 2)))
pci_cb_warning(char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pci_report(fmt, ap);
    va_end(ap);
}

static void __attribute__((format(printf, 1, 2)))
pci_cb_debug(char *fmt, ...)
{
    (void)fmt;
}

/* libpci requires error() not to return. Instead of exiting, jump back to
 * the guarded call that is in progress; every libpci call is guarded. */
static void __attribute__((noreturn, format(printf, 1, 2)))
pci_cb_error(char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pci_report(fmt, ap);
    va_end(ap);
    if (!current || !current->on_error)
        abort(); /* unguarded libpci call: a bug in this file */
    longjmp(*current->on_error, 1);
}

/* Each guarded call: arm, call, disarm. Returns false when libpci failed. */
#define PCI_GUARDED(pci, call)                                                                     \
    ({                                                                                             \
        jmp_buf _jb;                                                                               \
        struct topo_pci *volatile _prev = current;                                                 \
        bool _ok = true;                                                                           \
        current = (pci);                                                                           \
        (pci)->on_error = &_jb;                                                                    \
        if (setjmp(_jb) == 0) {                                                                    \
            call;                                                                                  \
        } else {                                                                                   \
            _ok = false;                                                                           \
        }                                                                                          \
        (pci)->on_error = NULL;                                                                    \
        current = _prev;                                                                           \
        _ok;                                                                                       \
    })

/* Each guarded call in its own small function: nothing of the caller's
 * frame lives across setjmp. */
static bool
guarded_init(struct topo_pci *pci)
{
    return PCI_GUARDED(pci, pci_init(pci->acc));
}

static bool
guarded_cleanup(struct topo_pci *pci)
{
    return PCI_GUARDED(pci, pci_cleanup(pci->acc));
}

static char *
guarded_lookup(struct topo_pci *pci, char *buf, size_t size, uint16_t vendor, uint16_t device)
{
    char *volatile name = NULL;

    if (!PCI_GUARDED(pci, name = pci_lookup_name(pci->acc, buf, (int)size,
                                                 PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS |
                                                     PCI_LOOKUP_NO_HWDB,
                                                 vendor, device)))
        return NULL;
    return name;
}

int
topo_pci_open(const char *sysfs_root, topo_pci_warn_fn *warn, void *ctx, struct topo_pci **ret,
              struct topo_error *err)
{
    _cleanup_free_ char *path = NULL;
    struct topo_pci *pci;

    if (asprintf(&path, "%s/bus/pci", sysfs_root) < 0) {
        path = NULL;
        return topo_error_set(err, -ENOMEM, "out of memory");
    }
    pci = calloc(1, sizeof(*pci));
    if (!pci)
        return topo_error_set(err, -ENOMEM, "out of memory");
    pci->warn = warn;
    pci->ctx = ctx;
    pci->acc = pci_alloc();
    if (!pci->acc) {
        free(pci);
        return topo_error_set(err, -ENOMEM, "pci_alloc failed");
    }
    pci->acc->error = pci_cb_error;
    pci->acc->warning = pci_cb_warning;
    pci->acc->debug = pci_cb_debug;
    pci->acc->method = PCI_ACCESS_SYS_BUS_PCI;
    if (pci_set_param(pci->acc, "sysfs.path", path) != 0 ||
        !guarded_init(pci)) {
        topo_pci_close(pci);
        return topo_error_set(err, -EIO, "libpci: cannot use sysfs at %s", path);
    }
    *ret = pci;
    return 0;
}

char *
topo_pci_lookup_device(struct topo_pci *pci, uint16_t vendor, uint16_t device)
{
    char buf[256];
    char *name;

    pci->quiet = true;
    name = guarded_lookup(pci, buf, sizeof(buf), vendor, device);
    pci->quiet = false;
    if (!name || !*name)
        return NULL;
    return strdup(name);
}

void
topo_pci_close(struct topo_pci *pci)
{
    if (!pci)
        return;
    if (pci->acc && !guarded_cleanup(pci))
        pci->acc = NULL; /* a failed cleanup leaves nothing we can free safely */
    free(pci);
}
