/*
 * test_04_exercises.c - lab 04's graded exercises: bq_put (04.1) and bq_get
 * (04.2) in 04-pipes-queues/bq.c.
 *
 * Behaviour only, never timings.  "Blocks" is observed through the queue's
 * own counters (a put that found the queue full and waits has counted
 * itself in put_waits) and through the fact that the call has not returned;
 * "no busy loop" is the blocked thread's own CPU time, not the clock.
 *
 * Each exercise is tested with the OTHER side done by the given timed/try
 * variants, so the two can be graded separately.  The whole-queue tests
 * (bq_put with bq_get, and ./queue) live in ex04_bq_get, the second step.
 * The module's other tests and the programs' are in test_04.c.
 */
#include "lab04_support.h"

#include "timing.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- exercise 04.1: bq_put --------------------------------------------------- */

EXERCISE(ex04_bq_put, "04", "bq_put: wait while full, then wake a getter", 4);

Test(ex04_bq_put, put_keeps_fifo_order_with_one_producer)
{
    bq q;
    bq_init(&q, 8);
    for (uintptr_t v = 1; v <= 5; v++)
        cr_assert_eq(
            bq_put(&q, as_item(v)), BQ_OK,
            "bq_put on a queue with room must return BQ_OK (is 04.1 done?)");
    void *it;
    for (uintptr_t v = 1; v <= 5; v++) {
        cr_assert_eq(bq_try_get(&q, &it), BQ_OK,
                     "bq_put must store the item in the ring");
        cr_assert_eq((uintptr_t)it, v, "first in, first out");
    }
    bq_destroy(&q);
}

Test(ex04_bq_put, put_on_a_full_queue_blocks_until_a_slot_frees)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put(&q, as_item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c = {.q = &q, .value = 2};
    pthread_t t = call_start(do_put, &c);
    await_waits(&q, true, 1, &c, 1);
    bool returned_early = atomic_load(&c.done);
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
    call_join(t);
    cr_assert(!returned_early,
              "bq_put on a full queue returned (%s) instead of waiting "
              "on not_full in a while loop",
              bq_status_name(c.status));
    cr_assert_eq(c.status, BQ_OK);
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK,
                 "the waiting put must land once a slot frees");
    cr_assert_eq((uintptr_t)it, 2);
    bq_destroy(&q);
}

Test(ex04_bq_put, put_wakes_a_getter_that_waits_on_an_empty_queue)
{
    bq q;
    bq_init(&q, 4);
    call c = {.q = &q, .timeout_ms = 60000};
    pthread_t t = call_start(do_get_timed, &c);
    await_waits(&q, false, 1, &c, 1);
    bq_status s = bq_put(&q, as_item(9));
    if (s != BQ_OK)
        bq_close(&q); /* let the getter go before failing */
    call_join(t);
    cr_assert_eq(s, BQ_OK, "bq_put must return BQ_OK");
    cr_assert_eq(c.status, BQ_OK,
                 "bq_put must signal not_empty: the waiting getter got %s",
                 bq_status_name(c.status));
    cr_assert_eq((uintptr_t)c.got, 9);
    bq_destroy(&q);
}

Test(ex04_bq_put, close_wakes_every_blocked_putter_and_later_puts_fail)
{
    enum { N = 4 };
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put(&q, as_item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (call){.q = &q, .value = (uintptr_t)(i + 2)};
        t[i] = call_start(do_put, &c[i]);
    }
    await_waits(&q, true, N, c, N);
    bq_close(&q);
    for (int i = 0; i < N; i++) {
        call_join(t[i]);
        cr_assert_eq(c[i].status, BQ_CLOSED,
                     "a put blocked on a closed queue must return "
                     "BQ_CLOSED (check `closed` after the while loop), got %s",
                     bq_status_name(c[i].status));
    }
    cr_assert_eq(bq_put(&q, as_item(99)), BQ_CLOSED,
                 "bq_put on a closed queue: BQ_CLOSED");
    bq_destroy(&q);
}

Test(ex04_bq_put, a_blocked_put_sleeps_instead_of_burning_cpu)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put(&q, as_item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c = {.q = &q, .value = 2};
    pthread_t t = call_start(do_put, &c);
    await_waits(&q, true, 1, &c, 1);
    kit_sleep_ms(300); /* a busy loop would burn CPU all this time */
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
    call_join(t);
    cr_assert_lt(c.cpu, 0.02,
                 "the blocked bq_put used %.0f ms of CPU in 300 ms: it must "
                 "sleep in pthread_cond_wait, not spin",
                 c.cpu * 1000);
    bq_destroy(&q);
}

Test(ex04_bq_put, exactly_once_with_many_producers_for_capacities_1_2_and_1024)
{
    assert_exactly_once(1, true, false);
    assert_exactly_once(2, true, false);
    assert_exactly_once(1024, true, false);
}

/* ---- exercise 04.2: bq_get (and the whole queue) ------------------------------ */

EXERCISE(ex04_bq_get, "04", "bq_get: wait while empty, drain after close", 4);

Test(ex04_bq_get, get_returns_items_in_fifo_order)
{
    bq q;
    bq_init(&q, 8);
    for (uintptr_t v = 1; v <= 5; v++)
        cr_assert_eq(bq_try_put(&q, as_item(v)), BQ_OK);
    for (uintptr_t v = 1; v <= 5; v++) {
        void *it = NULL;
        cr_assert_eq(
            bq_get(&q, &it), BQ_OK,
            "bq_get on a queue with items must return BQ_OK (is 04.2 done?)");
        cr_assert_eq((uintptr_t)it, v,
                     "first in, first out: expected %zu, got %zu", (size_t)v,
                     (size_t)(uintptr_t)it);
    }
    bq_destroy(&q);
}

Test(ex04_bq_get, get_on_an_empty_queue_blocks_until_an_item_arrives)
{
    bq q;
    bq_init(&q, 2);
    call c = {.q = &q};
    pthread_t t = call_start(do_get, &c);
    await_waits(&q, false, 1, &c, 1);
    bool returned_early = atomic_load(&c.done);
    cr_assert_eq(bq_try_put(&q, as_item(5)), BQ_OK);
    if (returned_early)
        bq_close(&q);
    call_join(t);
    cr_assert(!returned_early,
              "bq_get on an empty queue returned (%s) instead of waiting "
              "on not_empty in a while loop",
              bq_status_name(c.status));
    cr_assert_eq(c.status, BQ_OK);
    cr_assert_eq((uintptr_t)c.got, 5);
    bq_destroy(&q);
}

Test(ex04_bq_get, get_wakes_a_putter_that_waits_on_a_full_queue)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_try_put(&q, as_item(1)), BQ_OK);
    call c = {.q = &q, .value = 2, .timeout_ms = 60000};
    pthread_t t = call_start(do_put_timed, &c);
    await_waits(&q, true, 1, &c, 1);
    void *it = NULL;
    bq_status s = bq_get(&q, &it);
    if (s != BQ_OK)
        bq_close(&q);
    call_join(t);
    cr_assert_eq(s, BQ_OK, "bq_get on a full queue must return BQ_OK");
    cr_assert_eq((uintptr_t)it, 1);
    cr_assert_eq(c.status, BQ_OK,
                 "bq_get must signal not_full: the waiting putter got %s",
                 bq_status_name(c.status));
    bq_destroy(&q);
}

Test(ex04_bq_get, close_wakes_every_blocked_getter_and_they_drain_first)
{
    enum { N = 4 };
    bq q;
    bq_init(&q, 8);
    call c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (call){.q = &q};
        t[i] = call_start(do_get, &c[i]);
    }
    await_waits(&q, false, N, c, N);
    cr_assert_eq(bq_try_put(&q, as_item(1)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, as_item(2)), BQ_OK);
    bq_close(&q);
    int ok = 0, closed = 0;
    for (int i = 0; i < N; i++) {
        call_join(t[i]);
        ok += c[i].status == BQ_OK;
        closed += c[i].status == BQ_CLOSED;
    }
    cr_assert_eq(ok, 2,
                 "two items were put: two getters must get one each (got %d)",
                 ok);
    cr_assert_eq(closed, N - 2,
                 "the other getters must wake with BQ_CLOSED (got %d)", closed);
    bq_destroy(&q);
}

Test(ex04_bq_get, after_close_get_drains_the_rest_then_says_closed)
{
    bq q;
    bq_init(&q, 4);
    for (uintptr_t v = 1; v <= 3; v++)
        cr_assert_eq(bq_try_put(&q, as_item(v)), BQ_OK);
    bq_close(&q);
    void *it = NULL;
    for (uintptr_t v = 1; v <= 3; v++) {
        cr_assert_eq(
            bq_get(&q, &it), BQ_OK,
            "closing must not throw away items: a get "
            "returns BQ_CLOSED only when the queue is closed AND empty");
        cr_assert_eq((uintptr_t)it, v);
    }
    cr_assert_eq(bq_get(&q, &it), BQ_CLOSED);
    bq_destroy(&q);
}

Test(ex04_bq_get, a_blocked_get_sleeps_instead_of_burning_cpu)
{
    bq q;
    bq_init(&q, 1);
    call c = {.q = &q};
    pthread_t t = call_start(do_get, &c);
    await_waits(&q, false, 1, &c, 1);
    kit_sleep_ms(300);
    cr_assert_eq(bq_try_put(&q, as_item(3)), BQ_OK);
    if (atomic_load(&c.done))
        bq_close(&q);
    call_join(t);
    cr_assert_eq(c.status, BQ_OK, "bq_get must return the item, got %s",
                 bq_status_name(c.status));
    cr_assert_lt(c.cpu, 0.02,
                 "the blocked bq_get used %.0f ms of CPU in 300 ms: it must "
                 "sleep in pthread_cond_wait, not spin",
                 c.cpu * 1000);
    bq_destroy(&q);
}

Test(ex04_bq_get, exactly_once_with_many_consumers_for_capacities_1_2_and_1024)
{
    assert_exactly_once(1, false, true);
    assert_exactly_once(2, false, true);
    assert_exactly_once(1024, false, true);
}

Test(ex04_bq_get, the_whole_queue_is_exactly_once_for_capacities_1_2_and_1024)
{
    assert_exactly_once(1, true, true);
    assert_exactly_once(2, true, true);
    assert_exactly_once(1024, true, true);
}

Test(ex04_bq_get,
     queue_program_proves_exactly_once_with_4_producers_and_4_consumers)
{
    static const char *const caps[] = {"1", "16", "1024"};
    static const double capv[] = {1, 16, 1024};
    for (size_t i = 0; i < 3; i++) {
        run_result r = RUN("queue", "-p", "4", "-c", "4", "-k", caps[i], "-n",
                           "6000", "--json");
        const char *doc = json_of(&r, "queue");
        cr_assert(json_flag(doc, "exactly_once"),
                  "./queue -k %s: not exactly once: %s", caps[i], doc);
        cr_assert_eq(json_num(doc, "delivered"), 6000);
        cr_assert_eq(json_num(doc, "missing"), 0);
        cr_assert_eq(json_num(doc, "duplicates"), 0);
        cr_assert_eq(json_num(doc, "producers"), 4);
        cr_assert_eq(json_num(doc, "consumers"), 4);
        cr_assert_eq(json_num(doc, "capacity"), capv[i]);
        cr_assert_eq(json_num(doc, "items"), 6000);
        cr_assert_gt(json_num(doc, "items_per_sec"), 0);
        cr_assert_eq(r.exit_code, 0, "stderr: %s",
                     r.err); /* TSan: exit 66 + report */
        run_free(&r);
    }
}

Test(ex04_bq_get, queue_report_grades_itself)
{
    run_result r = RUN("queue", "-p", "2", "-c", "3", "-k", "2", "-n", "3000");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "OK: every item delivered exactly once"), "%s",
              r.out);
    cr_assert(strstr(r.out, "items/s"), "%s", r.out);
    cr_assert(strstr(r.out, "found the queue full"), "%s", r.out);
    run_free(&r);
}
