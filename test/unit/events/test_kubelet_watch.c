#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>

#include "plugin/events/kubelet_watch.h"
#include "plugin/events/sink.h"
#include "test/support/suite.h"

/* Append one inotify record of watch wd with a padded name to buf at *off. */
static void
put_event(char *buf, size_t *off, int wd, uint32_t mask, const char *name)
{
    struct inotify_event ev = {.wd = wd, .mask = mask, .len = name ? 16 : 0};

    memcpy(buf + *off, &ev, sizeof(ev));
    *off += sizeof(ev);
    if (name) {
        memset(buf + *off, 0, 16);
        memcpy(buf + *off, name, strlen(name) + 1);
        *off += 16;
    }
}

#define WD_DIR 1
#define WD_PARENT 2

/* The loop events of buf as seen by watches WD_DIR and WD_PARENT. */
static unsigned
parse(const char *buf, size_t n, struct plugin_watch_events *ret)
{
    struct plugin_watch_events got;

    plugin_kubelet_watch_parse(buf, n, WD_DIR, WD_PARENT, "device-plugins", &got);
    if (ret)
        *ret = got;
    return got.events;
}

static void
test_watch_parse(void)
{
    char buf[512] __attribute__((aligned(8)));
    size_t n = 0;

    put_event(buf, &n, WD_DIR, IN_CREATE, "kubelet.sock");
    CU_ASSERT_EQUAL(parse(buf, n, NULL), PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, WD_DIR, IN_CREATE, "kubelet.sock2");
    put_event(buf, &n, WD_DIR, IN_CREATE, "kubelet.so");
    CU_ASSERT_EQUAL(parse(buf, n, NULL), 0);
    n = 0;
    put_event(buf, &n, WD_DIR, IN_DELETE, "kgdp-pgpu.sock");
    put_event(buf, &n, WD_DIR, IN_MOVED_TO, "kubelet.sock");
    CU_ASSERT_EQUAL(parse(buf, n, NULL), PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, -1, IN_Q_OVERFLOW, NULL);
    CU_ASSERT_EQUAL(parse(buf, n, NULL), PLUGIN_EV_DIR_DELETE | PLUGIN_EV_KUBELET_NEW);
    n = 0;
    put_event(buf, &n, WD_DIR, IN_CREATE, "kubelet.sock");
    /* A truncated record is ignored, not read past. */
    CU_ASSERT_EQUAL(parse(buf, n - 1, NULL), 0);
}

static void
test_watch_parse_dir(void)
{
    static const uint32_t gone_self[] = {IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED};
    static const uint32_t gone_parent[] = {IN_DELETE | IN_ISDIR, IN_MOVED_FROM | IN_ISDIR};
    static const uint32_t back_parent[] = {IN_CREATE | IN_ISDIR, IN_MOVED_TO | IN_ISDIR};
    struct plugin_watch_events got;
    char buf[512] __attribute__((aligned(8)));
    size_t n;

    for (size_t i = 0; i < sizeof(gone_self) / sizeof(gone_self[0]); i++) {
        n = 0;
        put_event(buf, &n, WD_DIR, gone_self[i], NULL);
        CU_ASSERT_EQUAL(parse(buf, n, &got), PLUGIN_EV_DIR_DELETE);
        CU_ASSERT_TRUE(got.dir_gone && !got.dir_back);
    }
    for (size_t i = 0; i < sizeof(gone_parent) / sizeof(gone_parent[0]); i++) {
        n = 0;
        put_event(buf, &n, WD_PARENT, gone_parent[i], "device-plugins");
        CU_ASSERT_EQUAL(parse(buf, n, &got), PLUGIN_EV_DIR_DELETE);
        CU_ASSERT_TRUE(got.dir_gone && !got.dir_back);
    }
    for (size_t i = 0; i < sizeof(back_parent) / sizeof(back_parent[0]); i++) {
        n = 0;
        put_event(buf, &n, WD_PARENT, back_parent[i], "device-plugins");
        CU_ASSERT_EQUAL(parse(buf, n, &got), 0);
        CU_ASSERT_TRUE(got.dir_back && !got.dir_gone);
    }
    /* Other names in the parent, and a kubelet.sock there, are not ours;
     * neither are events of a watch left behind. */
    n = 0;
    put_event(buf, &n, WD_PARENT, IN_DELETE | IN_ISDIR, "device-plugins2");
    put_event(buf, &n, WD_PARENT, IN_CREATE, "kubelet.sock");
    put_event(buf, &n, 7, IN_CREATE, "kubelet.sock");
    put_event(buf, &n, 7, IN_DELETE_SELF, NULL);
    CU_ASSERT_EQUAL(parse(buf, n, &got), 0);
    CU_ASSERT_FALSE(got.dir_gone || got.dir_back);
}

TEST_SUITE(events_kubelet_watch, NULL, NULL, {"inotify events", test_watch_parse},
           {"inotify events of the dir itself and its parent", test_watch_parse_dir})
