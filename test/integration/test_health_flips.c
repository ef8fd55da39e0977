#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/integration/fixture.h"
#include "test/integration/test_health.h"
#include "test/support/suite.h"

/* Health flips faster than the daemon can rescan and send: lists may be
 * coalesced, but the last state must always reach every stream. */

#define FIXTURE "hgx-h100-iommufd"
#define GPU "0000:69:00.0"
#define NVSWITCH "0000:1e:00.0"
#define FLIPS 1000
#define FLIPS_VALGRIND 100
#define SETTLE_MS 300    /* no stale list may follow the final one; times factor */
#define FINAL_MS 10000   /* times factor */

/* Flip GPU every round and NVSWITCH every third, each round followed by a
 * SIGHUP, with small random pauses (bounded: < 0.5 ms in one round of 8,
 * < 4 ms in one of 64, so that flips also land while a rescan runs and
 * while lists are on the wire). */
static int
flip(struct hl *t, int rounds, unsigned seed)
{
    for (int i = 0; i < rounds; i++) {
        if (live_host_set_bound(&t->lh, GPU, i % 2) < 0 ||
            (i % 3 == 0 && live_host_set_bound(&t->lh, NVSWITCH, (i / 3) % 2) < 0) ||
            hl_sighup(t) < 0)
            return -1;
        if (rand_r(&seed) % 64 == 0)
            usleep((useconds_t)(rand_r(&seed) % 4000));
        else if (rand_r(&seed) % 8 == 0)
            usleep((useconds_t)(rand_r(&seed) % 500));
    }
    return 0;
}

/* Set a final state, SIGHUP once, and check that both streams converge on
 * it and stay there. */
static void
settle(struct hl *t, bool gpu_bound, bool nvswitch_bound)
{
    int f = tproc_factor();
    size_t before = 0, after = 0;

    CU_ASSERT_EQUAL(live_host_set_bound(&t->lh, GPU, gpu_bound), 0);
    CU_ASSERT_EQUAL(live_host_set_bound(&t->lh, NVSWITCH, nvswitch_bound), 0);
    CU_ASSERT_EQUAL(hl_sighup(t), 0);
    CU_ASSERT_TRUE(hl_wait_health(t, HL_PGPU, GPU, gpu_bound, FINAL_MS * f) >= 0);
    CU_ASSERT_TRUE(hl_wait_health(t, HL_NVSWITCH, NVSWITCH, nvswitch_bound, FINAL_MS * f) >= 0);
    hl_health(t, HL_PGPU, GPU, &before);
    usleep((useconds_t)SETTLE_MS * 1000 * (useconds_t)f);
    CU_ASSERT_EQUAL(hl_health(t, HL_PGPU, GPU, &after), gpu_bound);
    CU_ASSERT_EQUAL(hl_health(t, HL_NVSWITCH, NVSWITCH, NULL), nvswitch_bound);
    CU_ASSERT_EQUAL(hl_lists_match_host(t), 0);
    if (after != before)
        fprintf(stderr, "[%zu more pgpu list(s) after the final one] ", after - before);
}

static void
test_flips(void)
{
    int rounds = tproc_factor() > 1 ? FLIPS_VALGRIND : FLIPS;
    size_t lists = 0;
    struct hl t;
    long start;

    if (hl_start(&t, FIXTURE, NULL) < 0)
        return;
    start = tproc_now_ms();
    CU_ASSERT_EQUAL(flip(&t, rounds, 42), 0);
    settle(&t, false, false);
    hl_health(&t, HL_PGPU, GPU, &lists);
    fprintf(stderr, "[%d flips in %ld ms, %zu pgpu lists] ", rounds, tproc_now_ms() - start,
            lists);
    /* Once more, ending where the fixture started: all healthy. */
    CU_ASSERT_EQUAL(flip(&t, rounds / 4, 7), 0);
    settle(&t, true, true);
    hl_finish(&t);
}


/* Whether the last list of want's resource matches want; quiet unless
 * loud (harness_list_matches prints the first difference). */
static bool
last_matches(struct harness *h, const struct h_res *want, bool loud, size_t *ret_count)
{
    V1beta1__ListAndWatchResponse *list = NULL;
    bool match = false;

    if (ksim_last_list(h->sim, want->name, &list, ret_count) < 0)
        return false;
    if (loud) {
        match = harness_list_matches(list, want) == 0;
    } else {
        match = list->n_devices == want->n_devs;
        for (size_t i = 0; match && i < list->n_devices; i++)
            for (size_t j = 0; j < want->n_devs; j++)
                if (strcmp(list->devices[i]->id, want->devs[j].id) == 0)
                    match = strcmp(list->devices[i]->health,
                                   want->devs[j].healthy ? "Healthy" : "Unhealthy") == 0;
    }
    protobuf_c_message_free_unpacked(&list->base, NULL);
    return match;
}

/* Wait until the last list of want's resource matches want. 0 or -1. */
static int
last_list_matches(struct harness *h, const struct h_res *want, int timeout_ms)
{
    long end = tproc_now_ms() + timeout_ms;
    size_t count = 0;

    while (!last_matches(h, want, false, &count)) {
        if (tproc_now_ms() >= end)
            return last_matches(h, want, true, NULL) ? 0 : -1;
        ksim_wait_lists(h->sim, want->name, count + 1, 20);
    }
    return last_matches(h, want, true, NULL) ? 0 : -1;
}

/* The test daemon rescans a small text file in microseconds, so new
 * snapshots arrive while a list is still being sent: the stream must
 * carry the newest one once the send completes (the dirty path). */
static void
test_fast_publishes(void)
{
    int rounds = tproc_factor() > 1 ? FLIPS_VALGRIND : FLIPS;
    struct h_dev devs[3];
    struct h_res res[2] = {fixture_inv.res[0], fixture_inv.res[1]};
    struct h_inv inv = {2, res};
    unsigned seed = 3;
    struct harness h;

    CU_ASSERT_EQUAL_FATAL(fixture_start(&h, &fixture_inv), 0);
    memcpy(devs, fixture_inv.res[FIX_PGPU].devs, sizeof(devs));
    res[FIX_PGPU].devs = devs;
    for (int i = 0; i <= rounds; i++) {
        devs[0].healthy = i % 2 == 1; /* rounds is even: ends Unhealthy */
        if (harness_write_inventory(&h, &inv) < 0 || kill(h.pid, SIGHUP) < 0) {
            CU_FAIL("flip failed");
            break;
        }
        if (rand_r(&seed) % 4 == 0)
            usleep((useconds_t)(rand_r(&seed) % 300));
    }
    CU_ASSERT_EQUAL(last_list_matches(&h, &res[FIX_PGPU], FINAL_MS * tproc_factor()), 0);
    usleep((useconds_t)SETTLE_MS * 1000 * (useconds_t)tproc_factor());
    CU_ASSERT_EQUAL(last_list_matches(&h, &res[FIX_PGPU], 0), 0);
    fixture_stop(&h);
    harness_fini(&h);
}

TEST_SUITE(integ_health_flips, NULL, NULL,
           {"1,000 health flips with SIGHUPs: every stream ends on the host's state", test_flips},
           {"1,000 publishes faster than sends (test daemon): the last list arrives",
            test_fast_publishes})
