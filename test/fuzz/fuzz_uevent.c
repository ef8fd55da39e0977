#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/events/uevent.h"

/* The uevent parser on one datagram as the kernel (or anyone able to send
 * on the netlink socket) delivers it; pointers of the result must stay
 * inside the buffer. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const char *p, const char *buf, size_t len)
{
    if (p && (p < buf || p >= buf + len || !memchr(p, '\0', (size_t)(buf + len - p))))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    struct uevent ev;

    if (!buf)
        abort();
    memcpy(buf, data, size);
    if (uevent_parse(buf, size, &ev) == 0) {
        inside(ev.devpath, buf, size);
        inside(ev.subsystem, buf, size);
        inside(ev.driver, buf, size);
        inside(ev.pci_slot_name, buf, size);
        inside(ev.devname, buf, size);
        if (strnlen(ev.action_name, sizeof(ev.action_name)) == sizeof(ev.action_name))
            abort();
    }
    free(buf);
    return 0;
}
