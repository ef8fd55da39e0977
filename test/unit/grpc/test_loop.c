#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/grpc/socket_name.h"
#include "test/support/loop_fixture.h"
#include "test/support/suite.h"

/* The gRPC loop's state machine (plugin/grpc/loop.c, server.c) on a real
 * completion queue and real sockets, with no kubelet. */

#define RES_A "resource example.com/a\ndevice 0000:01:00.0 Healthy -1 /dev/vfio/1\n"
#define RES_B "resource example.com/b\ndevice 0000:02:00.0 Healthy -1 /dev/vfio/2\n"
#define RES_C "resource example.com/c\ndevice 0000:03:00.0 Healthy -1 /dev/vfio/3\n"

static bool
socket_exists(const struct plugin_server *s)
{
    struct stat st;

    return stat(s->socket_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
test_waits_for_kubelet(void)
{
    struct loop_fixture f;
    struct plugin_server *a, *b;

    lf_start(&f, RES_A RES_B);
    a = lf_server(&f, "example.com/a");
    b = lf_server(&f, "example.com/b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(a->state, PLUGIN_SRV_SERVING);
    CU_ASSERT(socket_exists(a));
    CU_ASSERT(socket_exists(b));
    /* No kubelet.sock: registration waits for its creation event. */
    plugin_loop_reconcile(f.loop);
    CU_ASSERT(a->need_register);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IDLE);
    CU_ASSERT_EQUAL(b->reg.state, PLUGIN_REG_IDLE);
    CU_ASSERT_EQUAL(gpr_time_cmp(plugin_loop_deadline(f.loop),
                                 gpr_inf_future(GPR_CLOCK_MONOTONIC)),
                    0);
    lf_stop(&f);
}

static bool
vanished_restarted(struct loop_fixture *f, const void *ctx)
{
    const struct plugin_server *a = lf_server(f, "example.com/a");

    return a && a->state == PLUGIN_SRV_SERVING && a->srv_gen > *(const uint64_t *)ctx;
}

static void
test_vanished_socket_restarts(void)
{
    struct loop_fixture f;
    struct plugin_server *a;
    uint64_t gen;

    lf_start(&f, RES_A);
    a = lf_server(&f, "example.com/a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    gen = a->srv_gen;
    CU_ASSERT_EQUAL_FATAL(unlink(a->socket_path), 0);
    lf_post(&f, PLUGIN_EV_DIR_DELETE, NULL);
    /* The old server shuts down first: binding would race its unlink. */
    CU_ASSERT_NOT_EQUAL(a->state, PLUGIN_SRV_SERVING);
    CU_ASSERT_FATAL(lf_drive(&f, vanished_restarted, &gen, 5000));
    CU_ASSERT_PTR_EQUAL(lf_server(&f, "example.com/a"), a);
    CU_ASSERT(socket_exists(a));
    CU_ASSERT(a->need_register); /* still no kubelet to register with */
    lf_stop(&f);
}

static bool
a_gone(struct loop_fixture *f, const void *ctx)
{
    (void)ctx;
    return !lf_server(f, "example.com/a");
}

static void
test_publish_adds_and_retires(void)
{
    struct loop_fixture f;
    struct plugin_server *b, *c;
    uint64_t gen_b;

    lf_start(&f, RES_A RES_B);
    b = lf_server(&f, "example.com/b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    gen_b = b->srv_gen;
    lf_post(&f, 0, lf_inventory(RES_B RES_C));
    CU_ASSERT_EQUAL(f.loop->inv->generation, 2);
    CU_ASSERT_EQUAL(f.loop->inv->n_resources, 2);
    CU_ASSERT_FATAL(lf_drive(&f, a_gone, NULL, 5000));
    c = lf_server(&f, "example.com/c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->state, PLUGIN_SRV_SERVING);
    CU_ASSERT(c->need_register);
    CU_ASSERT(socket_exists(c));
    /* An unchanged resource keeps its server and socket. */
    CU_ASSERT_PTR_EQUAL(lf_server(&f, "example.com/b"), b);
    CU_ASSERT_EQUAL(b->srv_gen, gen_b);
    CU_ASSERT_EQUAL(b->state, PLUGIN_SRV_SERVING);
    lf_stop(&f);
}

static void
test_down_server_retried(void)
{
    struct loop_fixture f;
    struct plugin_server *c;
    char *name = NULL, *blocked = NULL;

    lf_start(&f, RES_A);
    /* A directory where c's socket belongs: binding fails. */
    CU_ASSERT_EQUAL_FATAL(plugin_socket_name("example.com/c", false, &name), 0);
    CU_ASSERT_FATAL(asprintf(&blocked, "%s/%s", f.dir, name) > 0);
    free(name);
    CU_ASSERT_EQUAL_FATAL(mkdir(blocked, 0700), 0);
    lf_post(&f, 0, lf_inventory(RES_A RES_C));
    c = lf_server(&f, "example.com/c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->state, PLUGIN_SRV_DOWN);
    /* Kubelet dir events retry it; this one still fails. */
    lf_post(&f, PLUGIN_EV_DIR_DELETE, NULL);
    CU_ASSERT_EQUAL(c->state, PLUGIN_SRV_DOWN);
    CU_ASSERT_EQUAL_FATAL(rmdir(blocked), 0);
    lf_post(&f, PLUGIN_EV_KUBELET_NEW, NULL);
    CU_ASSERT_EQUAL(c->state, PLUGIN_SRV_SERVING);
    CU_ASSERT(socket_exists(c));
    CU_ASSERT(c->need_register);
    free(blocked);
    lf_stop(&f);
}

static bool
all_gone(struct loop_fixture *f, const void *ctx)
{
    (void)ctx;
    return !f->loop->servers;
}

static void
test_stop(void)
{
    struct loop_fixture f;

    lf_start(&f, RES_A RES_B);
    lf_post(&f, PLUGIN_EV_STOP, NULL);
    CU_ASSERT(f.loop->stopping);
    CU_ASSERT_FATAL(lf_drive(&f, all_gone, NULL, 5000));
    /* Once stopping, a new snapshot is dropped, not served. */
    lf_post(&f, 0, lf_inventory(RES_C));
    CU_ASSERT_PTR_NULL(f.loop->servers);
    CU_ASSERT_EQUAL(f.loop->inv->n_resources, 2);
    lf_stop(&f);
}

TEST_SUITE(grpc_loop, NULL, NULL, {"loop waits for the kubelet", test_waits_for_kubelet},
           {"loop restarts a server whose socket vanished", test_vanished_socket_restarts},
           {"loop follows a new snapshot", test_publish_adds_and_retires},
           {"loop retries a server that could not bind", test_down_server_retried},
           {"loop stops every server", test_stop})
