#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>

#include "plugin/events/kubelet_watch.h"
#include "plugin/events/sink.h"
#include "test/support/suite.h"

/* Append one inotify record with a padded name to buf at *off. */
static void
put_event(char *buf, size_t *off, uint32_t mask, const char *name)
{
    struct inotify_event ev = {.wd = 1, .mask = mask, .len = name ? 16 : 0};

    memcpy(buf + *off, &ev, sizeof(ev));
    *off += sizeof(ev);
    if (name) {
        memset(buf + *off, 0, 16);
        memcpy(buf + *off, name, strlen(name) + 1);
        *off += 16;
    }
}

static void
test_watch_parse(void)
{
    char buf[512] __attribute__((aligned(8)));
    size_t n = 0;

    put_event(buf, &n, IN_CREATE, "kubelet.sock");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n), PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_CREATE, "kubelet.sock2");
    put_event(buf, &n, IN_CREATE, "kubelet.so");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n), 0);
    n = 0;
    put_event(buf, &n, IN_DELETE, "kgdp-pgpu.sock");
    put_event(buf, &n, IN_MOVED_TO, "kubelet.sock");
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n),
                    PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_Q_OVERFLOW, NULL);
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n),
                    PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, IN_CREATE, "kubelet.sock");
    /* A truncated record is ignored, not read past. */
    CU_ASSERT_EQUAL(plugin_kubelet_watch_parse(buf, n - 1), 0);
}

TEST_SUITE(events_kubelet_watch, NULL, NULL, {"inotify events", test_watch_parse})
