#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "topology/base/cleanup.h"
#include "topology/host/host.h"
#include "topology/host/sysfs.h"

/* PCIe facts of one function, read relative to its device directory:
 * the AER totals, power state, reset methods, link speed and width, and
 * whether config space still answers. Every reader leaves its field
 * unknown when the attribute is missing (older kernels, no AER
 * capability) or does not parse: only what the kernel states is used. */

#define ATTR_MAX 2048 /* aer_dev_* hold ~20 lines of "<name> <count>" */

/* Parse a whole decimal count >= 0. */
static int
parse_count(const char *s, int64_t *ret)
{
    int64_t v = 0;

    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return -ERANGE;
        v = v * 10 + (*s - '0');
    }
    *ret = v;
    return 0;
}

/* The value of the "<key> <count>" line of an aer_dev_* attribute. */
static int
aer_total(int dev_fd, const char *attr, const char *key, int64_t *ret)
{
    char buf[ATTR_MAX];
    size_t klen = strlen(key);
    int r = topo_sysfs_read(dev_fd, attr, buf, sizeof(buf));

    if (r < 0)
        return r;
    for (char *line = buf, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_count(line + klen + 1, ret);
    }
    return -ENOENT;
}

static enum topo_power
read_power(int dev_fd)
{
    static const struct {
        const char *name;
        enum topo_power power;
    } names[] = {
        {"D0", TOPO_POWER_D0},         {"D1", TOPO_POWER_D1},
        {"D2", TOPO_POWER_D2},         {"D3hot", TOPO_POWER_D3HOT},
        {"D3cold", TOPO_POWER_D3COLD},
    };
    char buf[32];

    if (topo_sysfs_read(dev_fd, "power_state", buf, sizeof(buf)) < 0)
        return TOPO_POWER_UNKNOWN;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(buf, names[i].name) == 0)
            return names[i].power;
    return TOPO_POWER_UNKNOWN; /* "unknown", "error" */
}

/* The kernel hides reset_method for a function it cannot reset, and
 * kernels older than 5.15 have no such attribute at all: absence means
 * "none" only on a kernel that shows power_state (5.17+). */
static void
read_reset(int dev_fd, struct topo_pcie *p)
{
    char buf[256];
    int r = topo_sysfs_read(dev_fd, "reset_method", buf, sizeof(buf));

    if (r > 0) {
        size_t n = strnlen(buf, sizeof(p->reset_method) - 1);

        p->reset = TOPO_RESET_SOME;
        memcpy(p->reset_method, buf, n); /* a longer list keeps its first methods */
        p->reset_method[n] = '\0';
    } else if (r == 0 || (r == -ENOENT && p->power != TOPO_POWER_UNKNOWN)) {
        p->reset = TOPO_RESET_NONE;
    }
}

/* "16.0 GT/s PCIe", "8 GT/s", "2.5 GT/s" -> 160, 80, 25; anything else
 * ("Unknown", "Unknown speed") -> 0. */
static int
read_speed(int dev_fd, const char *attr)
{
    char buf[64];
    const char *s = buf;
    int whole = 0, tenth = 0;

    if (topo_sysfs_read(dev_fd, attr, buf, sizeof(buf)) <= 0 || *s < '0' || *s > '9')
        return 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if ((whole = whole * 10 + (*s - '0')) > 10000)
            return 0;
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return 0;
        tenth = s[1] - '0';
        for (s += 2; *s >= '0' && *s <= '9'; s++)
            ;
    }
    if (strncmp(s, " GT/s", 5) != 0)
        return 0;
    return whole * 10 + tenth;
}

static int
read_width(int dev_fd, const char *attr)
{
    char buf[32];
    int w;

    if (topo_sysfs_read(dev_fd, attr, buf, sizeof(buf)) <= 0 || topo_parse_int(buf, &w) < 0 ||
        w <= 0 || w > 64)
        return 0;
    return w;
}

/* A function that fell off the bus answers every config read with
 * all-ones. Vendor, device, command and status together: an SR-IOV VF
 * reads all-ones IDs by design but has a real command/status word. The
 * kernel wakes a function in D3cold for a config read: the caller skips
 * those rather than undo vfio-pci's power saving on every scan. */
static enum topo_config_state
read_config(int dev_fd)
{
    _cleanup_close_ int fd = openat(dev_fd, "config", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    unsigned char head[8];
    ssize_t n;

    if (fd < 0)
        return TOPO_CONFIG_UNKNOWN;
    do
        n = pread(fd, head, sizeof(head), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(head))
        return TOPO_CONFIG_UNKNOWN;
    for (size_t i = 0; i < sizeof(head); i++)
        if (head[i] != 0xff)
            return TOPO_CONFIG_OK;
    return TOPO_CONFIG_ALL_ONES;
}

void
topo_pcie_read(int dev_fd, struct topo_pcie *ret)
{
    struct topo_pcie p = {0};

    p.aer_fatal_known = aer_total(dev_fd, "aer_dev_fatal", "TOTAL_ERR_FATAL", &p.aer_fatal) == 0;
    p.aer_nonfatal_known =
        aer_total(dev_fd, "aer_dev_nonfatal", "TOTAL_ERR_NONFATAL", &p.aer_nonfatal) == 0;
    if (!p.aer_fatal_known)
        p.aer_fatal = 0;
    if (!p.aer_nonfatal_known)
        p.aer_nonfatal = 0;
    p.power = read_power(dev_fd);
    read_reset(dev_fd, &p);
    p.link_speed = read_speed(dev_fd, "current_link_speed");
    p.link_max_speed = read_speed(dev_fd, "max_link_speed");
    p.link_width = read_width(dev_fd, "current_link_width");
    p.link_max_width = read_width(dev_fd, "max_link_width");
    p.config = p.power == TOPO_POWER_D3COLD ? TOPO_CONFIG_UNKNOWN : read_config(dev_fd);
    *ret = p;
}

bool
topo_pcie_link_degraded(const struct topo_pcie *p)
{
    return (p->link_speed && p->link_max_speed && p->link_speed < p->link_max_speed) ||
           (p->link_width && p->link_max_width && p->link_width < p->link_max_width);
}

const char *
topo_power_name(enum topo_power p)
{
    switch (p) {
    case TOPO_POWER_D0: return "D0";
    case TOPO_POWER_D1: return "D1";
    case TOPO_POWER_D2: return "D2";
    case TOPO_POWER_D3HOT: return "D3hot";
    case TOPO_POWER_D3COLD: return "D3cold";
    case TOPO_POWER_UNKNOWN: break;
    }
    return "unknown";
}
