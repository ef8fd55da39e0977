#include <errno.h>
#include <string.h>

#include "plugin/events/uevent.h"
#include "topology/base/macros.h"

/* libudev re-broadcasts on group 2 with this magic prefix; one on our
 * socket was sent by a userspace process and is not ours to read. */
#define LIBUDEV_PREFIX "libudev"

static const char *const action_names[] = {
    [UEVENT_ACTION_UNKNOWN] = "unknown", [UEVENT_ACTION_ADD] = "add",
    [UEVENT_ACTION_REMOVE] = "remove",   [UEVENT_ACTION_CHANGE] = "change",
    [UEVENT_ACTION_MOVE] = "move",       [UEVENT_ACTION_ONLINE] = "online",
    [UEVENT_ACTION_OFFLINE] = "offline", [UEVENT_ACTION_BIND] = "bind",
    [UEVENT_ACTION_UNBIND] = "unbind",
};

#define N_ACTIONS (ARRAY_SIZE(action_names))

const char *
uevent_action_to_string(enum uevent_action action)
{
    if ((size_t)action >= N_ACTIONS)
        return action_names[UEVENT_ACTION_UNKNOWN];
    return action_names[action];
}

/* Actions are lowercase words; anything else in the header is garbage. */
static int
action_from_name(const char *name, size_t len, enum uevent_action *ret)
{
    if (len == 0 || len > UEVENT_ACTION_NAME_MAX)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++)
        if (name[i] < 'a' || name[i] > 'z')
            return -EBADMSG;
    for (size_t i = 1; i < N_ACTIONS; i++)
        if (strlen(action_names[i]) == len && memcmp(action_names[i], name, len) == 0) {
            *ret = (enum uevent_action)i;
            return 0;
        }
    *ret = UEVENT_ACTION_UNKNOWN;
    return 0;
}

/* Non-empty decimal digits, no sign, no blanks, value <= max. */
static int
parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -EBADMSG;
    for (; *s; s++) {
        unsigned d;

        if (*s < '0' || *s > '9')
            return -EBADMSG;
        d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -EBADMSG;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

/* Store value in *slot unless the key was seen before (the kernel never
 * repeats a key, so a repeat means the message is not what it claims). */
static int
take_once(const char **slot, const char *value)
{
    if (*slot)
        return -EBADMSG;
    *slot = value;
    return 0;
}

static int
take_number(const char *value, uint64_t max, bool *seen, uint64_t *ret)
{
    if (*seen)
        return -EBADMSG;
    *seen = true;
    return parse_decimal(value, max, ret);
}

struct parse_state {
    struct uevent ev;
    const char *action_kv;
    const char *devpath_kv;
    uint64_t major, minor;
    bool has_major, has_minor;
};

static int
parse_pair(struct parse_state *st, const char *key, size_t key_len, const char *value)
{
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"ACTION", offsetof(struct parse_state, action_kv)},
        {"DEVPATH", offsetof(struct parse_state, devpath_kv)},
        {"SUBSYSTEM", offsetof(struct parse_state, ev.subsystem)},
        {"DRIVER", offsetof(struct parse_state, ev.driver)},
        {"PCI_SLOT_NAME", offsetof(struct parse_state, ev.pci_slot_name)},
        {"PCI_ID", offsetof(struct parse_state, ev.pci_id)},
        {"PCI_CLASS", offsetof(struct parse_state, ev.pci_class)},
        {"DEVNAME", offsetof(struct parse_state, ev.devname)},
    };

    for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
        if (strlen(strings[i].key) == key_len && memcmp(strings[i].key, key, key_len) == 0)
            return take_once((const char **)((char *)st + strings[i].offset), value);
    if (key_len == 5 && memcmp(key, "MAJOR", 5) == 0)
        return take_number(value, UINT32_MAX, &st->has_major, &st->major);
    if (key_len == 5 && memcmp(key, "MINOR", 5) == 0)
        return take_number(value, UINT32_MAX, &st->has_minor, &st->minor);
    if (key_len == 6 && memcmp(key, "SEQNUM", 6) == 0)
        return take_number(value, UINT64_MAX, &st->ev.has_seqnum, &st->ev.seqnum);
    return 0; /* other keys (MODALIAS, PCI_SUBSYS_ID, SYNTH_UUID, ...) are not needed */
}

/* "ACTION@DEVPATH": split at the first '@'; devpath is absolute. */
static int
parse_header(struct parse_state *st, const char *hdr, size_t len)
{
    const char *at = memchr(hdr, '@', len);
    int r;

    if (!at)
        return -EBADMSG;
    r = action_from_name(hdr, (size_t)(at - hdr), &st->ev.action);
    if (r < 0)
        return r;
    memcpy(st->ev.action_name, hdr, (size_t)(at - hdr));
    st->ev.action_name[at - hdr] = '\0';
    if (at[1] != '/')
        return -EBADMSG;
    st->ev.devpath = at + 1;
    return 0;
}

/* The header's action and devpath are authoritative; the env copies must
 * agree with them when present. */
static int
check_consistency(const struct parse_state *st)
{
    if (st->action_kv && strcmp(st->action_kv, st->ev.action_name) != 0)
        return -EBADMSG;
    if (st->devpath_kv && strcmp(st->devpath_kv, st->ev.devpath) != 0)
        return -EBADMSG;
    return 0;
}

int
uevent_parse(const char *buf, size_t len, struct uevent *ret)
{
    struct parse_state st = {.ev = {.major = -1, .minor = -1}};
    const char *p, *end;
    size_t n;
    int r;

    if (!buf || len == 0 || len > UEVENT_MSG_MAX)
        return -EBADMSG;
    if (len >= sizeof(LIBUDEV_PREFIX) && memcmp(buf, LIBUDEV_PREFIX, sizeof(LIBUDEV_PREFIX)) == 0)
        return -ENOMSG;
    /* With a NUL at the very end, every entry below is terminated in bounds. */
    if (buf[len - 1] != '\0')
        return -EBADMSG;

    end = buf + len;
    n = strlen(buf);
    r = parse_header(&st, buf, n);
    if (r < 0)
        return r;
    for (p = buf + n + 1; p < end; p += n + 1) {
        const char *eq;

        n = strlen(p);
        eq = memchr(p, '=', n);
        if (n == 0 || !eq || eq == p)
            return -EBADMSG;
        r = parse_pair(&st, p, (size_t)(eq - p), eq + 1);
        if (r < 0)
            return r;
    }
    r = check_consistency(&st);
    if (r < 0)
        return r;

    if (st.has_major)
        st.ev.major = (int64_t)st.major;
    if (st.has_minor)
        st.ev.minor = (int64_t)st.minor;
    *ret = st.ev;
    return 0;
}

bool
uevent_relevant(const struct uevent *ev)
{
    static const char *const subsystems[] = {"pci", "vfio", "vfio-dev", "iommu", "iommu_group"};

    if (!ev || !ev->subsystem)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(subsystems); i++)
        if (strcmp(ev->subsystem, subsystems[i]) == 0)
            return true;
    return false;
}

/* The last component of devpath shaped like "dddd:bb:dd.f", or NULL; its
 * length in *ret_len. */
static const char *
devpath_function(const char *devpath, size_t *ret_len)
{
    const char *found = NULL;

    for (const char *c = devpath; c && *c; c = strchr(c, '/')) {
        size_t len;

        c += *c == '/';
        len = strcspn(c, "/");
        if (len == 12 && c[4] == ':' && c[7] == ':' && c[10] == '.') {
            found = c;
            *ret_len = len;
        }
    }
    return found;
}

int
uevent_pci_function(const struct uevent *ev, char *buf, size_t size)
{
    const char *name = NULL;
    size_t len = 0;

    if (!ev->subsystem)
        return -ENOENT;
    if (strcmp(ev->subsystem, "pci") == 0 && ev->pci_slot_name) {
        name = ev->pci_slot_name;
        len = strlen(name);
    } else if (strcmp(ev->subsystem, "vfio-dev") == 0 && ev->devpath) {
        name = devpath_function(ev->devpath, &len);
    }
    if (!name || len == 0)
        return -ENOENT;
    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return 0;
}
