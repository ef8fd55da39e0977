#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cdi/cdi.h"
#include "test/support/cdi_test_util.h"
#include "test/support/suite.h"
#include "topology/base/cleanup.h"

#define REWRITES 1000
#define FILE_NAME "kata-gpu-device-plugin_nvidia.com-pgpu.json"

struct reader {
    const char *dir;
    const char *texts[2];
    int stop;      /* atomic */
    long reads;    /* complete, valid reads of either text */
    long bad;      /* partial, invalid, missing or foreign content */
    char what[256];
};

static void
reader_check(struct reader *rd, const char *text)
{
    json_object *o = text ? json_tokener_parse(text) : NULL;
    json_object *kind = NULL;

    if (!o || !json_object_object_get_ex(o, "kind", &kind) ||
        (strcmp(text, rd->texts[0]) != 0 && strcmp(text, rd->texts[1]) != 0)) {
        if (rd->bad++ == 0)
            snprintf(rd->what, sizeof(rd->what), "%s", text ? text : "(missing)");
    } else {
        rd->reads++;
    }
    json_object_put(o);
}

static void *
reader_main(void *arg)
{
    struct reader *rd = arg;

    /* At least one read after the writer is done, so reads > 0 always. */
    for (;;) {
        int stop = __atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE);
        char *text = cdi_t_read(rd->dir, FILE_NAME, NULL);

        reader_check(rd, text);
        free(text);
        if (stop)
            return NULL;
    }
}

static char *
render(const char *path)
{
    struct cdi_node node = {(char *)path, (char *)path};
    struct cdi_device dev = {(char *)"0000:18:00.0", 1, &node};
    struct cdi_spec spec = {(char *)CDI_VERSION, (char *)"nvidia.com/pgpu", 1, &dev};
    struct topo_error err = TOPO_ERROR_INIT;
    char *text = NULL;
    size_t len;

    CU_ASSERT_EQUAL(cdi_spec_render(&spec, &text, &len, &err), 0);
    return text;
}

static void
test_reader_never_sees_partial(void)
{
    char *dir = cdi_t_tempdir();
    /* Different lengths, so a torn read cannot pass for either. */
    _cleanup_free_ char *a = render("/dev/vfio/devices/vfio0");
    _cleanup_free_ char *b = render("/dev/vfio/devices/vfio1234567");
    struct reader rd = {.dir = dir, .texts = {a, b}};
    struct topo_error err = TOPO_ERROR_INIT;
    _cleanup_close_ int dfd = -1;
    pthread_t thread;
    int written = 0;

    CU_ASSERT_FATAL(dir && a && b);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CU_ASSERT_FATAL(dfd >= 0);
    CU_ASSERT_FATAL(strlen(a) != strlen(b));
    bool changed;
    CU_ASSERT_EQUAL_FATAL(topo_atomic_write_at(dfd, FILE_NAME, a, strlen(a), &changed, &err), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&thread, NULL, reader_main, &rd), 0);
    for (int i = 1; i <= REWRITES; i++) {
        const char *t = (i % 2) ? b : a;

        changed = false;
        if (topo_atomic_write_at(dfd, FILE_NAME, t, strlen(t), &changed, &err) == 0 && changed)
            written++;
    }
    __atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    CU_ASSERT_EQUAL(written, REWRITES);
    CU_ASSERT(rd.reads > 0);
    CU_ASSERT_EQUAL(rd.bad, 0);
    if (rd.bad)
        fprintf(stderr, "\nreader saw %ld bad reads, first: %s\n", rd.bad, rd.what);
    CU_ASSERT_EQUAL(cdi_t_count(dir), 1);
    cdi_t_rmdir(dir);
}

TEST_SUITE(cdi_atomic, NULL, NULL,
           {"reader never sees a partial spec over 1000 rewrites", test_reader_never_sees_partial})
