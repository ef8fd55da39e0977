#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/events/uevent.h"
#include "test/support/suite.h"
#include "topology/base/macros.h"

/* Messages as the kernel puts them on NETLINK_KOBJECT_UEVENT (recorded
 * layouts: header, ACTION, DEVPATH, SUBSYSTEM, subsystem env, SEQNUM last).
 * MSG() keeps the explicit trailing NUL and drops the literal's own. */
#define MSG(s) s, sizeof(s) - 1

/* echo 0000:18:00.0 > /sys/bus/pci/drivers/vfio-pci/unbind: the kernel sends
 * KOBJ_UNBIND after clearing dev->driver, so there is no DRIVER key. */
#define H100_PATH "/devices/pci0000:17/0000:17:00.0/0000:18:00.0"
#define H100_ENV                                                                                   \
    "PCI_CLASS=30200\0PCI_ID=10DE:2330\0PCI_SUBSYS_ID=10DE:16C1\0PCI_SLOT_NAME=0000:18:00.0\0"     \
    "MODALIAS=pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00\0"
static const char msg_unbind[] = "unbind@" H100_PATH "\0ACTION=unbind\0DEVPATH=" H100_PATH
                                 "\0SUBSYSTEM=pci\0" H100_ENV "SEQNUM=4711\0";
static const char msg_bind[] = "bind@" H100_PATH "\0ACTION=bind\0DEVPATH=" H100_PATH
                               "\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0" H100_ENV "SEQNUM=4714\0";
static const char msg_pci_remove[] = "remove@" H100_PATH "\0ACTION=remove\0DEVPATH=" H100_PATH
                                     "\0SUBSYSTEM=pci\0" H100_ENV "SEQNUM=4790\0";
#define VFIO3_PATH H100_PATH "/vfio-dev/vfio3"
static const char msg_vfio_dev_add[] =
    "add@" VFIO3_PATH "\0ACTION=add\0DEVPATH=" VFIO3_PATH
    "\0SUBSYSTEM=vfio-dev\0MAJOR=236\0MINOR=3\0DEVNAME=vfio/devices/vfio3\0SEQNUM=4716\0";
static const char msg_vfio_dev_remove[] =
    "remove@" VFIO3_PATH "\0ACTION=remove\0DEVPATH=" VFIO3_PATH
    "\0SUBSYSTEM=vfio-dev\0MAJOR=236\0MINOR=3\0DEVNAME=vfio/devices/vfio3\0SEQNUM=4712\0";
static const char msg_vfio_group_add[] =
    "add@/devices/virtual/vfio/42\0ACTION=add\0DEVPATH=/devices/virtual/vfio/42\0"
    "SUBSYSTEM=vfio\0MAJOR=509\0MINOR=1\0DEVNAME=vfio/42\0DEVMODE=0600\0SEQNUM=4715\0";
static const char msg_iommu_add[] =
    "add@/devices/virtual/iommu/dmar3\0ACTION=add\0DEVPATH=/devices/virtual/iommu/dmar3\0"
    "SUBSYSTEM=iommu\0SEQNUM=12\0";
static const char msg_iommu_group_change[] =
    "change@/kernel/iommu_groups/42\0ACTION=change\0DEVPATH=/kernel/iommu_groups/42\0"
    "SUBSYSTEM=iommu_group\0SEQNUM=4800\0";
/* Recorded in this project's test VM: echo change > /sys/bus/pci/devices/0000:00:01.0/uevent */
static const char msg_pci_change_recorded[] =
    "change@/devices/pci0000:00/0000:00:01.0\0ACTION=change\0"
    "DEVPATH=/devices/pci0000:00/0000:00:01.0\0SUBSYSTEM=pci\0SYNTH_UUID=0\0DRIVER=virtio-pci\0"
    "PCI_CLASS=FFFF00\0PCI_ID=1AF4:1045\0PCI_SUBSYS_ID=1AF4:1045\0PCI_SLOT_NAME=0000:00:01.0\0"
    "MODALIAS=pci:v00001AF4d00001045sv00001AF4sd00001045bcFFscFFi00\0SEQNUM=833\0";
/* Recorded in this project's test VM: echo change > /sys/devices/virtual/net/lo/uevent */
static const char msg_net_lo[] =
    "change@/devices/virtual/net/lo\0ACTION=change\0DEVPATH=/devices/virtual/net/lo\0"
    "SUBSYSTEM=net\0SYNTH_UUID=0\0INTERFACE=lo\0IFINDEX=1\0SEQNUM=822\0";
static const char msg_net_move[] =
    "move@/devices/virtual/net/eth1\0ACTION=move\0DEVPATH=/devices/virtual/net/eth1\0"
    "SUBSYSTEM=net\0DEVPATH_OLD=/devices/virtual/net/eth0\0INTERFACE=eth1\0IFINDEX=3\0"
    "SEQNUM=900\0";
/* A USB device under a PCI host controller: the path says pci, the subsystem does not. */
#define USB_PATH "/devices/pci0000:00/0000:00:14.0/usb1/1-1"
static const char msg_usb_add[] =
    "add@" USB_PATH "\0ACTION=add\0DEVPATH=" USB_PATH "\0SUBSYSTEM=usb\0MAJOR=189\0MINOR=1\0"
    "DEVNAME=bus/usb/001/002\0DEVTYPE=usb_device\0DRIVER=usb\0PRODUCT=46d/c52b/1211\0"
    "TYPE=0/0/0\0BUSNUM=001\0DEVNUM=002\0SEQNUM=5000\0";
static const char msg_block_change[] =
    "change@/devices/virtual/block/loop0\0ACTION=change\0DEVPATH=/devices/virtual/block/loop0\0"
    "SUBSYSTEM=block\0MAJOR=7\0MINOR=0\0DEVNAME=loop0\0DEVTYPE=disk\0DISKSEQ=9\0SEQNUM=5001\0";
static const char msg_cpu_offline[] =
    "offline@/devices/system/cpu/cpu3\0ACTION=offline\0DEVPATH=/devices/system/cpu/cpu3\0"
    "SUBSYSTEM=cpu\0SEQNUM=5002\0";
static const char msg_tty_online[] = "online@/devices/virtual/tty/ttyS0\0ACTION=online\0"
                                     "SUBSYSTEM=tty\0MAJOR=4\0MINOR=64\0SEQNUM=5003\0";
static const char msg_future_action[] =
    "frobnicate@/devices/pci0000:00/0000:00:01.0\0"
    "ACTION=frobnicate\0SUBSYSTEM=pci\0SEQNUM=18446744073709551615\0";

struct parse_case {
    const char *name;
    const char *buf;
    size_t len;
    enum uevent_action action;
    const char *action_name, *devpath, *subsystem, *driver, *slot, *pci_id, *pci_class, *devname;
    int64_t major, minor;
    bool has_seqnum;
    uint64_t seqnum;
    bool relevant;
};

static const struct parse_case good_cases[] = {
    {"pci unbind", MSG(msg_unbind), UEVENT_ACTION_UNBIND, "unbind", H100_PATH, "pci", NULL,
     "0000:18:00.0", "10DE:2330", "30200", NULL, -1, -1, true, 4711, true},
    {"pci bind", MSG(msg_bind), UEVENT_ACTION_BIND, "bind", H100_PATH, "pci", "vfio-pci",
     "0000:18:00.0", "10DE:2330", "30200", NULL, -1, -1, true, 4714, true},
    {"pci remove", MSG(msg_pci_remove), UEVENT_ACTION_REMOVE, "remove", H100_PATH, "pci", NULL,
     "0000:18:00.0", "10DE:2330", "30200", NULL, -1, -1, true, 4790, true},
    {"pci change (recorded)", MSG(msg_pci_change_recorded), UEVENT_ACTION_CHANGE, "change",
     "/devices/pci0000:00/0000:00:01.0", "pci", "virtio-pci", "0000:00:01.0", "1AF4:1045", "FFFF00",
     NULL, -1, -1, true, 833, true},
    {"vfio-dev add", MSG(msg_vfio_dev_add), UEVENT_ACTION_ADD, "add", VFIO3_PATH, "vfio-dev", NULL,
     NULL, NULL, NULL, "vfio/devices/vfio3", 236, 3, true, 4716, true},
    {"vfio-dev remove", MSG(msg_vfio_dev_remove), UEVENT_ACTION_REMOVE, "remove", VFIO3_PATH,
     "vfio-dev", NULL, NULL, NULL, NULL, "vfio/devices/vfio3", 236, 3, true, 4712, true},
    {"vfio group add", MSG(msg_vfio_group_add), UEVENT_ACTION_ADD, "add",
     "/devices/virtual/vfio/42", "vfio", NULL, NULL, NULL, NULL, "vfio/42", 509, 1, true, 4715,
     true},
    {"iommu add", MSG(msg_iommu_add), UEVENT_ACTION_ADD, "add", "/devices/virtual/iommu/dmar3",
     "iommu", NULL, NULL, NULL, NULL, NULL, -1, -1, true, 12, true},
    {"iommu_group change", MSG(msg_iommu_group_change), UEVENT_ACTION_CHANGE, "change",
     "/kernel/iommu_groups/42", "iommu_group", NULL, NULL, NULL, NULL, NULL, -1, -1, true, 4800,
     true},
    {"net lo change", MSG(msg_net_lo), UEVENT_ACTION_CHANGE, "change", "/devices/virtual/net/lo",
     "net", NULL, NULL, NULL, NULL, NULL, -1, -1, true, 822, false},
    {"net move", MSG(msg_net_move), UEVENT_ACTION_MOVE, "move", "/devices/virtual/net/eth1", "net",
     NULL, NULL, NULL, NULL, NULL, -1, -1, true, 900, false},
    {"usb add", MSG(msg_usb_add), UEVENT_ACTION_ADD, "add", USB_PATH, "usb", "usb", NULL, NULL,
     NULL, "bus/usb/001/002", 189, 1, true, 5000, false},
    {"block change", MSG(msg_block_change), UEVENT_ACTION_CHANGE, "change",
     "/devices/virtual/block/loop0", "block", NULL, NULL, NULL, NULL, "loop0", 7, 0, true, 5001,
     false},
    {"cpu offline", MSG(msg_cpu_offline), UEVENT_ACTION_OFFLINE, "offline",
     "/devices/system/cpu/cpu3", "cpu", NULL, NULL, NULL, NULL, NULL, -1, -1, true, 5002, false},
    {"tty online", MSG(msg_tty_online), UEVENT_ACTION_ONLINE, "online",
     "/devices/virtual/tty/ttyS0", "tty", NULL, NULL, NULL, NULL, NULL, 4, 64, true, 5003, false},
    {"unknown action, max seqnum", MSG(msg_future_action), UEVENT_ACTION_UNKNOWN, "frobnicate",
     "/devices/pci0000:00/0000:00:01.0", "pci", NULL, NULL, NULL, NULL, NULL, -1, -1, true,
     UINT64_MAX, true},
    {"header only", MSG("add@/devices/virtual/misc/foo\0"), UEVENT_ACTION_ADD, "add",
     "/devices/virtual/misc/foo", NULL, NULL, NULL, NULL, NULL, NULL, -1, -1, false, 0, false},
};

static void
assert_str(const char *name, const char *field, const char *got, const char *want)
{
    if (!want) {
        if (got)
            fprintf(stderr, "\n  %s: %s: want NULL, got \"%s\"", name, field, got);
        CU_ASSERT_PTR_NULL(got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "\n  %s: %s: want \"%s\", got \"%s\"", name, field, want,
                got ? got : "(null)");
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* Every pointer must lie inside the caller's buffer (no copies, no over-read). */
static void
assert_inside(const char *p, const char *buf, size_t len)
{
    if (p)
        CU_ASSERT(p >= buf && p + strlen(p) < buf + len);
}

static void
test_parse_recorded(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
        const struct parse_case *c = &good_cases[i];
        char *buf = malloc(c->len); /* exact size: valgrind sees any over-read */
        struct uevent ev;
        int r;

        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        memcpy(buf, c->buf, c->len);
        r = uevent_parse(buf, c->len, &ev);
        if (r != 0)
            fprintf(stderr, "\n  %s: uevent_parse -> %d", c->name, r);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_EQUAL(ev.action, c->action);
        assert_str(c->name, "action_name", ev.action_name, c->action_name);
        assert_str(c->name, "devpath", ev.devpath, c->devpath);
        assert_str(c->name, "subsystem", ev.subsystem, c->subsystem);
        assert_str(c->name, "driver", ev.driver, c->driver);
        assert_str(c->name, "pci_slot_name", ev.pci_slot_name, c->slot);
        assert_str(c->name, "pci_id", ev.pci_id, c->pci_id);
        assert_str(c->name, "pci_class", ev.pci_class, c->pci_class);
        assert_str(c->name, "devname", ev.devname, c->devname);
        CU_ASSERT_EQUAL(ev.major, c->major);
        CU_ASSERT_EQUAL(ev.minor, c->minor);
        CU_ASSERT_EQUAL(ev.has_seqnum, c->has_seqnum);
        CU_ASSERT_EQUAL(ev.seqnum, c->seqnum);
        if (uevent_relevant(&ev) != c->relevant)
            fprintf(stderr, "\n  %s: relevant want %d", c->name, c->relevant);
        CU_ASSERT_EQUAL(uevent_relevant(&ev), c->relevant);
        for (const char *const *p =
                 (const char *const[]){ev.devpath, ev.subsystem, ev.driver, ev.pci_slot_name,
                                       ev.pci_id, ev.pci_class, ev.devname, NULL};
             *p; p++)
            assert_inside(*p, buf, c->len);
        free(buf);
    }
}

struct bad_case {
    const char *name;
    const char *buf;
    size_t len;
    int want;
};

/* A libudev monitor datagram: "libudev\0", then a binary header (magic
 * 0xfeedcafe big-endian, header size, properties offset/length, filter
 * hashes), then KEY=VALUE properties. */
static const char msg_libudev[] =
    "libudev\0\xfe\xed\xca\xfe\x28\x00\x00\x00\x28\x00\x00\x00\x40\x00\x00\x00"
    "\x12\x34\x56\x78\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "ACTION=bind\0DEVPATH=" H100_PATH "\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0SEQNUM=4714\0";

static const struct bad_case bad_cases[] = {
    {"empty", "", 0, -EBADMSG},
    {"single NUL", MSG("\0"), -EBADMSG},
    {"no @", MSG("add/devices/virtual/vfio/42\0SUBSYSTEM=vfio\0"), -EBADMSG},
    {"no trailing NUL", msg_unbind, sizeof(msg_unbind) - 2, -EBADMSG},
    {"truncated mid-key", msg_unbind, 64, -EBADMSG},
    {"truncated header", msg_unbind, 10, -EBADMSG},
    {"key without =", MSG("add@/devices/x\0ACTION=add\0SUBSYSTEM\0"), -EBADMSG},
    {"empty entry", MSG("add@/devices/x\0\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"trailing empty entry", MSG("add@/devices/x\0SUBSYSTEM=pci\0\0"), -EBADMSG},
    {"empty key", MSG("add@/devices/x\0=pci\0"), -EBADMSG},
    {"empty action", MSG("@/devices/x\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"empty devpath", MSG("add@\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"relative devpath", MSG("add@devices/x\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"uppercase action", MSG("ADD@/devices/x\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"garbage action", MSG("\xff\xfe\x01@/devices/x\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"action too long", MSG("abcdefghijklmnopqrstuvwxyzabcdef@/x\0"), -EBADMSG},
    {"ACTION mismatch", MSG("add@/devices/x\0ACTION=remove\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"DEVPATH mismatch", MSG("add@/devices/x\0DEVPATH=/devices/y\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"duplicate SUBSYSTEM", MSG("add@/devices/x\0SUBSYSTEM=net\0SUBSYSTEM=pci\0"), -EBADMSG},
    {"duplicate SEQNUM", MSG("add@/devices/x\0SEQNUM=1\0SEQNUM=2\0"), -EBADMSG},
    {"SEQNUM not a number", MSG("add@/devices/x\0SEQNUM=12a\0"), -EBADMSG},
    {"SEQNUM empty", MSG("add@/devices/x\0SEQNUM=\0"), -EBADMSG},
    {"SEQNUM negative", MSG("add@/devices/x\0SEQNUM=-1\0"), -EBADMSG},
    {"SEQNUM overflow", MSG("add@/devices/x\0SEQNUM=18446744073709551616\0"), -EBADMSG},
    {"MAJOR overflow", MSG("add@/devices/x\0MAJOR=4294967296\0"), -EBADMSG},
    {"MINOR blank", MSG("add@/devices/x\0MINOR= 1\0"), -EBADMSG},
    {"libudev", MSG(msg_libudev), -ENOMSG},
};

static void
test_parse_malformed(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        char *buf = malloc(c->len ? c->len : 1);
        struct uevent ev, untouched;
        int r;

        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        memcpy(buf, c->buf, c->len);
        memset(&ev, 0xa5, sizeof(ev));
        memcpy(&untouched, &ev, sizeof(ev));
        r = uevent_parse(buf, c->len, &ev);
        if (r != c->want)
            fprintf(stderr, "\n  %s: want %d, got %d", c->name, c->want, r);
        CU_ASSERT_EQUAL(r, c->want);
        /* Both were memset whole, padding included. */
        /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison,cert-exp42-c,cert-flp37-c) */
        CU_ASSERT(memcmp(&ev, &untouched, sizeof(ev)) == 0);
        free(buf);
    }
    CU_ASSERT_EQUAL(uevent_parse(NULL, 10, &(struct uevent){0}), -EBADMSG);
}

/* Fill a buffer of exactly len bytes with a well-formed message: header,
 * SUBSYSTEM=pci, then one padding key up to the end. */
static char *
make_sized_message(size_t len)
{
    static const char head[] = "change@/devices/pci0000:00/0000:00:01.0\0SUBSYSTEM=pci\0PAD=";
    char *buf = malloc(len);

    if (!buf || len < sizeof(head) + 1) {
        free(buf);
        return NULL;
    }
    memcpy(buf, head, sizeof(head) - 1);
    memset(buf + sizeof(head) - 1, 'x', len - sizeof(head));
    buf[len - 1] = '\0';
    return buf;
}

static void
test_parse_size_limit(void)
{
    char *at_max = make_sized_message(UEVENT_MSG_MAX);
    char *over = make_sized_message(UEVENT_MSG_MAX + 1);
    struct uevent ev;

    CU_ASSERT_PTR_NOT_NULL_FATAL(at_max);
    CU_ASSERT_PTR_NOT_NULL_FATAL(over);
    CU_ASSERT_EQUAL(uevent_parse(at_max, UEVENT_MSG_MAX, &ev), 0);
    CU_ASSERT(uevent_relevant(&ev));
    CU_ASSERT_EQUAL(uevent_parse(over, UEVENT_MSG_MAX + 1, &ev), -EBADMSG);
    free(at_max);
    free(over);
}

static void
test_relevance_edges(void)
{
    struct uevent ev = {.subsystem = NULL};

    CU_ASSERT_FALSE(uevent_relevant(NULL));
    CU_ASSERT_FALSE(uevent_relevant(&ev));
    for (const char *const *s = (const char *const[]){"pci_bus", "PCI", "vfio-devx", "vfi", "",
                                                      "iommu-group", "usb", NULL};
         *s; s++) {
        ev.subsystem = *s;
        CU_ASSERT_FALSE(uevent_relevant(&ev));
    }
    CU_ASSERT_STRING_EQUAL(uevent_action_to_string(UEVENT_ACTION_UNBIND), "unbind");
    CU_ASSERT_STRING_EQUAL(uevent_action_to_string(UEVENT_ACTION_OFFLINE), "offline");
    CU_ASSERT_STRING_EQUAL(uevent_action_to_string((enum uevent_action)99), "unknown");
}

/* The function an incremental rescan reads again: PCI_SLOT_NAME of pci
 * events, the function above a vfio-dev cdev; none for other subsystems. */
static void
test_pci_function(void)
{
    static const struct {
        const char *msg;
        size_t len;
        const char *want; /* NULL: -ENOENT */
    } cases[] = {
        {MSG(msg_unbind), "0000:18:00.0"},
        {MSG(msg_pci_remove), "0000:18:00.0"},
        {MSG(msg_vfio_dev_add), "0000:18:00.0"},
        {MSG(msg_pci_change_recorded), "0000:00:01.0"},
        {MSG(msg_vfio_group_add), NULL},
        {MSG(msg_iommu_group_change), NULL},
        {MSG(msg_iommu_add), NULL},
    };
    char buf[64], small[8];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char copy[1024];
        struct uevent ev;

        memcpy(copy, cases[i].msg, cases[i].len);
        CU_ASSERT_EQUAL_FATAL(uevent_parse(copy, cases[i].len, &ev), 0);
        memset(buf, 0, sizeof(buf));
        if (cases[i].want) {
            CU_ASSERT_EQUAL(uevent_pci_function(&ev, buf, sizeof(buf)), 0);
            CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
            CU_ASSERT_EQUAL(uevent_pci_function(&ev, small, sizeof(small)), -ENAMETOOLONG);
        } else {
            CU_ASSERT_EQUAL(uevent_pci_function(&ev, buf, sizeof(buf)), -ENOENT);
            CU_ASSERT_EQUAL(buf[0], '\0');
        }
    }
}

TEST_SUITE(uevent_parse, NULL, NULL, {"recorded kernel messages", test_parse_recorded},
           {"malformed messages", test_parse_malformed}, {"size limit", test_parse_size_limit},
           {"relevance edges", test_relevance_edges},
           {"the PCI function of an event", test_pci_function})
