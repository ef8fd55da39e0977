#include "test/support/loop_fixture.h"
#include "test/support/suite.h"

/* Registration's state machine (plugin/grpc/register.c) against a
 * kubelet.sock that nobody listens on: every attempt fails, which is
 * enough to see the attempts, the backoff schedule and its resets. */

#define RES_A "resource example.com/a\ndevice 0000:01:00.0 Healthy -1 /dev/vfio/1\n"

struct wait_for {
    enum plugin_reg_state state;
    uint32_t next_ms; /* the backoff's next delay */
};

static bool
reached(struct loop_fixture *f, const void *ctx)
{
    const struct wait_for *w = ctx;
    const struct plugin_server *a = lf_server(f, "example.com/a");

    return a->reg.state == w->state && a->reg.backoff.next_ms == w->next_ms;
}

static struct plugin_server *
start_with_kubelet(struct loop_fixture *f)
{
    struct plugin_server *a;

    lf_start(f, RES_A);
    a = lf_server(f, "example.com/a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    lf_kubelet_appears(f);
    lf_post(f, PLUGIN_EV_KUBELET_NEW, NULL);
    CU_ASSERT_FALSE(a->need_register);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IN_FLIGHT);
    return a;
}

static void
test_backoff_schedule(void)
{
    struct loop_fixture f;
    struct plugin_server *a = start_with_kubelet(&f);
    gpr_timespec now;

    /* Failure: wait the first delay (the next is twice that), then doubling. */
    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 2 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    now = gpr_now(GPR_CLOCK_MONOTONIC);
    CU_ASSERT(gpr_time_to_millis(gpr_time_sub(a->reg.retry_at, now)) <=
              PLUGIN_REGISTER_RETRY_FIRST_MS);
    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 4 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 8 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    /* A kubelet restart starts over at once, with a fresh schedule. */
    lf_post(&f, PLUGIN_EV_KUBELET_NEW, NULL);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IN_FLIGHT);
    CU_ASSERT_EQUAL(a->reg.backoff.next_ms, 0);
    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 2 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    lf_stop(&f);
}

static bool
again_taken(struct loop_fixture *f, const void *ctx)
{
    (void)ctx;
    return !lf_server(f, "example.com/a")->reg.again;
}

static void
test_again_while_in_flight(void)
{
    struct loop_fixture f;
    struct plugin_server *a = start_with_kubelet(&f);

    /* A second trigger during an attempt: one more attempt right after it,
     * not a second call at the same time and not a backoff wait. */
    plugin_register_request(a);
    CU_ASSERT(a->reg.again);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IN_FLIGHT);
    CU_ASSERT_FATAL(lf_drive(&f, again_taken, NULL, 10000));
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IN_FLIGHT);
    CU_ASSERT_EQUAL(a->reg.backoff.next_ms, 0);
    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 2 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    lf_stop(&f);
}

static void
test_cancel(void)
{
    struct loop_fixture f;
    struct plugin_server *a = start_with_kubelet(&f);

    CU_ASSERT_FATAL(lf_drive(
        &f, reached, &(struct wait_for){PLUGIN_REG_WAITING, 2 * PLUGIN_REGISTER_RETRY_FIRST_MS},
        10000));
    /* A pending retry is dropped: nothing fires at retry_at any more. */
    plugin_register_cancel(a);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IDLE);
    CU_ASSERT_EQUAL(gpr_time_cmp(plugin_loop_deadline(f.loop), gpr_inf_future(GPR_CLOCK_MONOTONIC)),
                    0);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IDLE);
    /* Cancelling an attempt in flight also drops the "once more". */
    plugin_register_request(a);
    CU_ASSERT_EQUAL(a->reg.state, PLUGIN_REG_IN_FLIGHT);
    plugin_register_request(a);
    CU_ASSERT(a->reg.again);
    plugin_register_cancel(a);
    CU_ASSERT_FALSE(a->reg.again);
    lf_stop(&f);
}

TEST_SUITE(grpc_register, NULL, NULL, {"register backoff schedule", test_backoff_schedule},
           {"register once more after an attempt in flight", test_again_while_in_flight},
           {"register cancel", test_cancel})
