#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "plugin/grpc/runtime.h"
#include "test/support/cdi_test_util.h"
#include "test/support/fake_inventory.h"
#include "test/support/loop_fixture.h"
#include "test/support/proc.h"

struct inventory *
lf_inventory(const char *text)
{
    struct topo_error err = TOPO_ERROR_INIT;
    struct inventory *inv = NULL;

    CU_ASSERT_EQUAL_FATAL(fake_inventory_parse(text, "/dev", &inv, &err), 0);
    return inv;
}

void
lf_start(struct loop_fixture *f, const char *inventory_text)
{
    struct inventory *inv = lf_inventory(inventory_text);

    memset(f, 0, sizeof(*f));
    f->dir = cdi_t_tempdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
    CU_ASSERT_FATAL(asprintf(&f->kubelet_sock, "%s/kubelet.sock", f->dir) > 0);
    f->opts.kubelet_dir = f->dir;
    CU_ASSERT_EQUAL_FATAL(plugin_runtime_start(&f->opts, inv, f->kubelet_sock, &f->loop), 0);
    inventory_unref(inv);
}

void
lf_stop(struct loop_fixture *f)
{
    if (f->loop) {
        plugin_runtime_close(f->loop);
        plugin_runtime_destroy(f->loop);
    }
    free(f->kubelet_sock);
    cdi_t_rmdir(f->dir);
    memset(f, 0, sizeof(*f));
}

bool
lf_drive(struct loop_fixture *f, bool (*done)(struct loop_fixture *f, const void *ctx),
         const void *ctx, int timeout_ms)
{
    long end = tproc_now_ms() + (long)timeout_ms * tproc_factor();

    while (!done(f, ctx)) {
        gpr_timespec step = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(20, GPR_TIMESPAN));
        gpr_timespec due = plugin_loop_deadline(f->loop);

        if (tproc_now_ms() > end)
            return false;
        if (gpr_time_cmp(due, step) < 0)
            step = due;
        plugin_loop_dispatch(grpc_completion_queue_next(f->loop->cq, step, NULL));
        plugin_loop_handle_events(f->loop);
    }
    return true;
}

static bool
wake_done(struct loop_fixture *f, const void *ctx)
{
    (void)ctx;
    return !plugin_wake_busy(f->loop);
}

void
lf_post(struct loop_fixture *f, unsigned events, struct inventory *inv)
{
    struct plugin_sink sink = plugin_loop_sink(f->loop);

    plugin_sink_post(&sink, events, inv);
    CU_ASSERT(lf_drive(f, wake_done, NULL, 5000));
    plugin_loop_handle_events(f->loop);
}

void
lf_kubelet_appears(struct loop_fixture *f)
{
    int fd = open(f->kubelet_sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
}

struct plugin_server *
lf_server(struct loop_fixture *f, const char *name)
{
    for (struct plugin_server *s = f->loop->servers; s; s = s->next)
        if (strcmp(s->resource, name) == 0)
            return s;
    return NULL;
}
