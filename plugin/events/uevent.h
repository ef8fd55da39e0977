#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/base/error.h"

/* Kernel uevents (NETLINK_KOBJECT_UEVENT, multicast group 1) as rescan
 * triggers. The parser is pure and never logs; the monitor owns a socket and
 * one thread and only tells its caller "something PCI/VFIO/IOMMU changed". */

/* Largest message accepted. The kernel's env buffer is 2048 bytes plus the
 * "ACTION@DEVPATH" header; anything bigger is not a kernel uevent. */
#define UEVENT_MSG_MAX 8192

enum uevent_action {
    UEVENT_ACTION_UNKNOWN = 0, /* well-formed, but an action this code does not know */
    UEVENT_ACTION_ADD,
    UEVENT_ACTION_REMOVE,
    UEVENT_ACTION_CHANGE,
    UEVENT_ACTION_MOVE,
    UEVENT_ACTION_ONLINE,
    UEVENT_ACTION_OFFLINE,
    UEVENT_ACTION_BIND,
    UEVENT_ACTION_UNBIND,
};

/* Longest action word accepted (the kernel's longest is "offline"). */
#define UEVENT_ACTION_NAME_MAX 31

/* One parsed uevent. Every const char * points into the caller's buffer
 * (valid as long as that buffer is) and is NUL-terminated there; a key that
 * was absent is NULL. action_name is a copy. major/minor are -1 when absent;
 * has_seqnum tells whether SEQNUM was present. */
struct uevent {
    enum uevent_action action;
    char action_name[UEVENT_ACTION_NAME_MAX + 1]; /* as sent, e.g. "unbind" */
    const char *devpath;                          /* "/devices/pci0000:17/..." */
    const char *subsystem;
    const char *driver;
    const char *pci_slot_name;
    const char *pci_id;
    const char *pci_class;
    const char *devname;
    int64_t major;
    int64_t minor;
    uint64_t seqnum;
    bool has_seqnum;
};

/* Parse one datagram "ACTION@DEVPATH\0KEY=VALUE\0...". Returns 0 and fills
 * *ret (pointers into buf); -ENOMSG for a libudev-formatted message ("libudev\0"
 * prefix: not ours, ignore it); -EBADMSG for anything malformed (empty, over
 * UEVENT_MSG_MAX, no trailing NUL, no '@', action not a lowercase word of at
 * most UEVENT_ACTION_NAME_MAX, devpath not absolute, key without '=', empty
 * entry, ACTION=/DEVPATH= disagreeing with the header, bad number, duplicate key).
 * *ret is untouched on failure. Reads at most len bytes of buf. */
int uevent_parse(const char *buf, size_t len, struct uevent *ret);

/* True when the event can change what the plugin inventories: subsystems
 * "pci", "vfio", "vfio-dev", "iommu", "iommu_group" (any action). */
bool uevent_relevant(const struct uevent *ev);

/* The PCI function an event is about: PCI_SLOT_NAME of a "pci" event, the
 * function above the cdev of a "vfio-dev" event (".../0000:18:00.0/
 * vfio-dev/vfio3"). 0 and the address in buf, or -ENOENT (another
 * subsystem, or no address; buf untouched), -ENAMETOOLONG (size too small). */
int uevent_pci_function(const struct uevent *ev, char *buf, size_t size);

/* "add", "remove", ... for an action; "unknown" for UEVENT_ACTION_UNKNOWN. */
const char *uevent_action_to_string(enum uevent_action action);

struct uevent_monitor;

/* Counters for diagnostics and tests; read with uevent_monitor_get_stats(). */
struct uevent_monitor_stats {
    uint64_t received;   /* datagrams read from the socket */
    uint64_t relevant;   /* parsed kernel events that passed uevent_relevant() */
    uint64_t irrelevant; /* parsed kernel events of other subsystems */
    uint64_t malformed;  /* uevent_parse() said -EBADMSG, or truncated datagram */
    uint64_t foreign;    /* not from the kernel (nl_pid != 0) or libudev-formatted */
    uint64_t overruns;   /* ENOBUFS: the kernel dropped events for us */
    uint64_t callbacks;  /* times cb was invoked */
};

/* Called once per drained burst of relevant events: the PCI functions they
 * named (PCI_SLOT_NAME of "pci" events, the function above the cdev of
 * "vfio-dev" events, each once), or n_slots == 0 when
 * what changed is not known that precisely (another subsystem, too many
 * functions, a receive overrun): then everything may have changed. */
typedef void uevent_fn(void *ctx, const char *const *slots, size_t n_slots);

/* Most functions named in one burst; more make it a "don't know". */
#define UEVENT_SLOTS_MAX 32

/* Open a NETLINK_KOBJECT_UEVENT socket on group 1 and start a thread that
 * calls cb from that thread after relevant kernel events (once per
 * drained burst) and after a receive overrun. cb must be cheap and must not
 * call uevent_monitor_stop(). Returns 0 and *ret (free with
 * uevent_monitor_stop()), or -errno with err filled (e.g. no netlink in a
 * sandbox: callers log a warning and rely on periodic rescans). In a network
 * namespace not owned by the initial user namespace the start succeeds but
 * the kernel delivers nothing; periodic rescans cover that too. */
int uevent_monitor_start(uevent_fn *cb, void *ctx, struct uevent_monitor **ret,
                         struct topo_error *err);

/* Stop the thread, join it, close the socket, free m. Accepts NULL. After it
 * returns, cb is not running and will not be called again. */
void uevent_monitor_stop(struct uevent_monitor *m);

/* Copy the current counters into *ret (each read atomically). */
void uevent_monitor_get_stats(const struct uevent_monitor *m, struct uevent_monitor_stats *ret);
