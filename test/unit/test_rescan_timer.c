#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "plugin/rescan_timer.h"
#include "test/unit/suite.h"

/* Deadlines, not timing assertions: a loaded machine only makes waits longer. */
#define WAIT_DEADLINE_MS 5000

static void
count_cb(void *ctx)
{
    __atomic_add_fetch((uint64_t *)ctx, 1, __ATOMIC_RELAXED);
}

static uint64_t
load(const uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void
sleep_ms(long ms)
{
    const struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void
test_timer_disabled(void)
{
    struct rescan_timer *t = (struct rescan_timer *)&t; /* sentinel */
    struct topo_error err = TOPO_ERROR_INIT;
    uint64_t calls = 0;

    CU_ASSERT_EQUAL(rescan_timer_start(0, count_cb, &calls, &t, &err), 0);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(rescan_timer_fired(t), 0);
    rescan_timer_stop(t);
    CU_ASSERT_EQUAL(err.code, 0);
}

static void
test_timer_bad_args(void)
{
    struct rescan_timer *t = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    uint64_t calls = 0;

    CU_ASSERT_EQUAL(rescan_timer_start(10, NULL, NULL, &t, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    err = (struct topo_error)TOPO_ERROR_INIT;
    CU_ASSERT_EQUAL(rescan_timer_start(UINT64_MAX, count_cb, &calls, &t, &err), -ERANGE);
    CU_ASSERT_EQUAL(err.code, -ERANGE);
    CU_ASSERT(err.msg[0] != '\0');
    CU_ASSERT_PTR_NULL(t);
}

static void
test_timer_fires_and_stops(void)
{
    struct rescan_timer *t = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    uint64_t calls = 0, at_stop;

    CU_ASSERT_EQUAL_FATAL(rescan_timer_start(10, count_cb, &calls, &t, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (int waited = 0; waited < WAIT_DEADLINE_MS && load(&calls) < 3; waited += 5)
        sleep_ms(5);
    CU_ASSERT(load(&calls) >= 3);
    CU_ASSERT(rescan_timer_fired(t) >= load(&calls));
    rescan_timer_stop(t);
    /* After stop returns the callback has finished and never runs again. */
    at_stop = load(&calls);
    sleep_ms(50);
    CU_ASSERT_EQUAL(load(&calls), at_stop);
}

static void
test_timer_stop_before_first_tick(void)
{
    struct rescan_timer *t = NULL;
    struct topo_error err = TOPO_ERROR_INIT;
    uint64_t calls = 0;

    CU_ASSERT_EQUAL_FATAL(rescan_timer_start(3600 * 1000, count_cb, &calls, &t, &err), 0);
    CU_ASSERT_EQUAL(rescan_timer_fired(t), 0);
    rescan_timer_stop(t);
    CU_ASSERT_EQUAL(load(&calls), 0);
}

TEST_SUITE(rescan_timer, NULL, NULL, {"interval 0 disables", test_timer_disabled},
           {"bad arguments", test_timer_bad_args},
           {"fires repeatedly, silent after stop", test_timer_fires_and_stops},
           {"stop before the first tick", test_timer_stop_before_first_tick})
