/*
 * test_04.c - lab 04: the bounded queue module (bq_*) on its own, and the
 * programs ./queue, ./pipe, ./mpqueue and ./shm.
 *
 * Behaviour only, never timings.  "Blocks" is observed through the queue's
 * own counters (a put that found the queue full and waits has counted
 * itself in put_waits) and through the fact that the call has not returned;
 * "no busy loop" is the blocked thread's own CPU time, not the clock.
 *
 * The graded exercises are bq_put (04.1) and bq_get (04.2).  Their suites
 * test each one with the OTHER side done by the given timed/try variants,
 * so the two can be graded separately; the lab04_* suites use only what the
 * handout gives, so they pass on the handout too.  The whole-queue tests
 * (bq_put with bq_get, and ./queue) live in ex04_bq_get, the second step.
 */
#include "harness.h"
#include "tjson.h"

#include "../04-pipes-queues/bq.h"
#include "timing.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

static void *item(uintptr_t v) { return (void *)v; }

typedef struct call call;
struct call {
    bq *q;
    uintptr_t value; /* what to put */
    void *got;       /* what a get returned */
    bq_status status;
    double cpu; /* this thread's CPU seconds inside the call */
    atomic_bool done;
    double timeout_ms; /* for the timed variants */
};

static bool call_done(call *c) { return atomic_load(&c->done); }

/* Wait (politely) until the queue's counters show `n` blocked puts or gets,
 * or until one of the calls has returned (a stub or a bug that does not
 * block); the suite timeout is the upper bound. */
static void await_waits(bq *q, bool puts, unsigned long long n, call *calls,
                        int ncalls)
{
    for (;;) {
        unsigned long long pw, gw;
        bq_stats(q, &pw, &gw);
        if ((puts ? pw : gw) >= n)
            return;
        for (int i = 0; i < ncalls; i++)
            if (call_done(&calls[i]))
                return;
        kit_sleep_ms(1);
    }
}

static void *do_put(void *p)
{
    call *c = p;
    double t0 = kit_thread_cpu_seconds();
    c->status = bq_put(c->q, item(c->value));
    c->cpu = kit_thread_cpu_seconds() - t0;
    atomic_store(&c->done, true);
    return NULL;
}

static void *do_get(void *p)
{
    call *c = p;
    double t0 = kit_thread_cpu_seconds();
    c->status = bq_get(c->q, &c->got);
    c->cpu = kit_thread_cpu_seconds() - t0;
    atomic_store(&c->done, true);
    return NULL;
}

static void *do_put_timed(void *p)
{
    call *c = p;
    c->status = bq_put_timed(c->q, item(c->value), c->timeout_ms);
    atomic_store(&c->done, true);
    return NULL;
}

static void *do_get_timed(void *p)
{
    call *c = p;
    c->status = bq_get_timed(c->q, &c->got, c->timeout_ms);
    atomic_store(&c->done, true);
    return NULL;
}

static pthread_t start(void *(*fn)(void *), call *c)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fn, c), 0);
    return t;
}

static void join(pthread_t t) { cr_assert_eq(pthread_join(t, NULL), 0); }

/* The many-producer, many-consumer load test.  Producers put ids with
 * bq_put (or bq_put_timed), consumers take them with bq_get (or
 * bq_get_timed) until the queue is closed and drained. */
enum { LOAD_P = 4, LOAD_C = 4, LOAD_PER = 2500 };

typedef struct {
    bq *q;
    bool use_put, use_get; /* blocking calls (the exercises) or timed ones */
    atomic_uint *seen;     /* [LOAD_P * LOAD_PER] */
    atomic_int failures;   /* a put or get that did not return BQ_OK */
} load;

typedef struct {
    load *l;
    int id;
} load_arg;

static void *load_producer(void *p)
{
    load_arg *a = p;
    for (int i = 0; i < LOAD_PER; i++) {
        uintptr_t v = (uintptr_t)(a->id * LOAD_PER + i) + 1; /* never NULL */
        bq_status s = a->l->use_put ? bq_put(a->l->q, item(v))
                                    : bq_put_timed(a->l->q, item(v), 10000);
        if (s != BQ_OK) {
            atomic_fetch_add(&a->l->failures, 1);
            return NULL;
        }
    }
    return NULL;
}

static void *load_consumer(void *p)
{
    load_arg *a = p;
    for (;;) {
        void *it = NULL;
        bq_status s = a->l->use_get ? bq_get(a->l->q, &it)
                                    : bq_get_timed(a->l->q, &it, 10000);
        if (s == BQ_CLOSED)
            return NULL;
        if (s != BQ_OK) {
            atomic_fetch_add(&a->l->failures, 1);
            return NULL;
        }
        uintptr_t v = (uintptr_t)it;
        if (v >= 1 && v <= (uintptr_t)LOAD_P * LOAD_PER)
            atomic_fetch_add(&a->l->seen[v - 1], 1);
        else
            atomic_fetch_add(&a->l->failures, 1);
    }
}

/* Every id exactly once, through a queue of the given capacity. */
static void assert_exactly_once(size_t capacity, bool use_put, bool use_get)
{
    bq q;
    bq_init(&q, capacity);
    load l = {.q = &q, .use_put = use_put, .use_get = use_get};
    l.seen = calloc(LOAD_P * LOAD_PER, sizeof *l.seen);
    cr_assert(l.seen);
    pthread_t tp[LOAD_P], tc[LOAD_C];
    load_arg ap[LOAD_P], ac[LOAD_C];
    for (int i = 0; i < LOAD_C; i++) {
        ac[i] = (load_arg){&l, i};
        cr_assert_eq(pthread_create(&tc[i], NULL, load_consumer, &ac[i]), 0);
    }
    for (int i = 0; i < LOAD_P; i++) {
        ap[i] = (load_arg){&l, i};
        cr_assert_eq(pthread_create(&tp[i], NULL, load_producer, &ap[i]), 0);
    }
    for (int i = 0; i < LOAD_P; i++)
        join(tp[i]);
    bq_close(&q); /* all in: consumers drain, then see BQ_CLOSED */
    for (int i = 0; i < LOAD_C; i++)
        join(tc[i]);
    int missing = 0, dup = 0;
    for (int i = 0; i < LOAD_P * LOAD_PER; i++) {
        unsigned n = atomic_load(&l.seen[i]);
        missing += n == 0;
        dup += n > 1;
    }
    int failures = atomic_load(&l.failures);
    free(l.seen);
    bq_destroy(&q);
    cr_assert_eq(failures, 0, "capacity %zu: %d puts/gets did not return BQ_OK",
                 capacity, failures);
    cr_assert_eq(missing, 0, "capacity %zu: %d of %d items never came out",
                 capacity, missing, LOAD_P * LOAD_PER);
    cr_assert_eq(dup, 0, "capacity %zu: %d items came out twice", capacity,
                 dup);
}

/* A program's --json output, checked to be one valid object. */
static const char *json_of(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung", what);
    cr_assert(tj_valid(r->out), "%s: not JSON (exit %d): %s\nstderr: %s", what,
              r->exit_code, r->out, r->err);
    return r->out;
}

static double num(const char *doc, const char *path)
{
    double v = 0;
    cr_assert(tj_num(doc, path, &v), "no number at '%s' in: %s", path, doc);
    return v;
}

static bool flag(const char *doc, const char *path)
{
    bool v = false;
    cr_assert(tj_bool(doc, path, &v), "no boolean at '%s' in: %s", path, doc);
    return v;
}

/* Names of POSIX IPC objects this kit may create, still present. */
static int kit_ipc_objects(void)
{
    int n = 0;
    const char *dirs[] = {"/dev/shm", "/dev/mqueue"};
    for (int i = 0; i < 2; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            n += strstr(e->d_name, "kit-shm-") != NULL ||
                 strstr(e->d_name, "kit-mpqueue-") != NULL;
        closedir(d);
    }
    return n;
}

/* Interrupt a long run: it must end at once, leave no child and no IPC
 * object behind, and die of the signal (or exit non-zero). */
static void assert_interrupt_is_clean(const char *const *argv, int sig)
{
    int before = kit_ipc_objects();
    run_result r = run_with(&(run_opts){
        .argv = argv, .timeout = 20, .signal = sig, .signal_after_ms = 300});
    cr_assert(!r.timed_out, "%s did not stop after signal %d", argv[0], sig);
    cr_assert_eq(r.leftover, 0, "%s left %d process(es) behind after signal %d",
                 argv[0], r.leftover, sig);
    cr_assert(r.signal == sig || r.exit_code != 0,
              "%s: a run cut short must not look like success (exit %d)",
              argv[0], r.exit_code);
    cr_assert_leq(kit_ipc_objects(), before,
                  "%s left an object in /dev/shm or /dev/mqueue", argv[0]);
    run_free(&r);
}

/* ---- the module, with what the handout gives (try and timed calls) -------- */

TestSuite(lab04_bq, .timeout = 30);

Test(lab04_bq, try_calls_fill_to_capacity_and_empty_in_fifo_order)
{
    bq q;
    bq_init(&q, 3);
    void *it = NULL;
    cr_assert_eq(bq_try_get(&q, &it), BQ_EMPTY);
    for (uintptr_t v = 1; v <= 3; v++)
        cr_assert_eq(bq_try_put(&q, item(v)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, item(4)), BQ_FULL,
                 "a full queue must say BQ_FULL");
    cr_assert_eq(bq_size(&q), 3);
    for (uintptr_t v = 1; v <= 3; v++) {
        cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
        cr_assert_eq((uintptr_t)it, v,
                     "first in, first out: expected %zu, got %zu", (size_t)v,
                     (size_t)(uintptr_t)it);
    }
    cr_assert_eq(bq_try_get(&q, &it), BQ_EMPTY);
    bq_destroy(&q);
}

Test(lab04_bq, the_ring_wraps_around_many_times_without_losing_order)
{
    bq q;
    bq_init(&q, 2);
    uintptr_t next_in = 1, next_out = 1;
    for (int round = 0; round < 1000; round++) {
        while (bq_try_put(&q, item(next_in)) == BQ_OK)
            next_in++;
        void *it;
        cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
        cr_assert_eq((uintptr_t)it, next_out++);
    }
    bq_destroy(&q);
}

Test(lab04_bq, timed_get_on_an_empty_queue_times_out)
{
    bq q;
    bq_init(&q, 4);
    void *it = item(42);
    cr_assert_eq(bq_get_timed(&q, &it, 50), BQ_TIMEOUT);
    cr_assert_eq((uintptr_t)it, 42, "a timed-out get must not touch *item");
    cr_assert_eq(bq_get_timed(&q, &it, 0), BQ_TIMEOUT, "timeout 0 is a poll");
    bq_destroy(&q);
}

Test(lab04_bq, timed_put_on_a_full_queue_times_out_and_keeps_the_queue_intact)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put_timed(&q, item(1), 50), BQ_OK);
    cr_assert_eq(bq_put_timed(&q, item(2), 50), BQ_TIMEOUT);
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
    cr_assert_eq((uintptr_t)it, 1);
    cr_assert_eq(bq_try_get(&q, &it), BQ_EMPTY,
                 "the timed-out item must not be in");
    bq_destroy(&q);
}

Test(lab04_bq, a_timed_get_is_woken_by_a_put_long_before_its_timeout)
{
    bq q;
    bq_init(&q, 1);
    call c = {.q = &q, .timeout_ms = 60000};
    pthread_t t = start(do_get_timed, &c);
    await_waits(&q, false, 1, &c, 1);
    cr_assert_eq(bq_try_put(&q, item(7)), BQ_OK);
    join(t); /* a missed wakeup would hang here until the suite times out */
    cr_assert_eq(c.status, BQ_OK);
    cr_assert_eq((uintptr_t)c.got, 7);
    bq_destroy(&q);
}

Test(lab04_bq, close_makes_puts_fail_and_lets_gets_drain_what_is_left)
{
    bq q;
    bq_init(&q, 4);
    cr_assert_eq(bq_try_put(&q, item(1)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, item(2)), BQ_OK);
    bq_close(&q);
    cr_assert_eq(bq_try_put(&q, item(3)), BQ_CLOSED);
    cr_assert_eq(bq_put_timed(&q, item(3), 10), BQ_CLOSED);
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK,
                 "items put before close must still come out");
    cr_assert_eq((uintptr_t)it, 1);
    cr_assert_eq(bq_get_timed(&q, &it, 10), BQ_OK);
    cr_assert_eq((uintptr_t)it, 2);
    cr_assert_eq(bq_try_get(&q, &it), BQ_CLOSED,
                 "closed and drained: BQ_CLOSED, not EMPTY");
    cr_assert_eq(bq_get_timed(&q, &it, 10), BQ_CLOSED);
    bq_destroy(&q);
}

Test(lab04_bq, close_wakes_every_timed_waiter_with_closed_not_timeout)
{
    enum { N = 6 };
    bq q;
    bq_init(&q, 1);
    call g[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        g[i] = (call){.q = &q, .timeout_ms = 60000};
        t[i] = start(do_get_timed, &g[i]);
    }
    await_waits(&q, false, N, g, N);
    bq_close(&q);
    for (int i = 0; i < N; i++) {
        join(t[i]);
        cr_assert_eq(g[i].status, BQ_CLOSED, "waiter %d: %s", i,
                     bq_status_name(g[i].status));
    }
    bq_destroy(&q);
}

Test(lab04_bq, exactly_once_with_timed_calls_for_capacities_1_2_and_1024)
{
    assert_exactly_once(1, false, false);
    assert_exactly_once(2, false, false);
    assert_exactly_once(1024, false, false);
}

Test(lab04_bq, join_returns_once_every_item_is_marked_done)
{
    bq q;
    bq_init(&q, 8);
    for (uintptr_t v = 1; v <= 3; v++)
        cr_assert_eq(bq_try_put(&q, item(v)), BQ_OK);
    void *it;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
        bq_task_done(&q);
    }
    bq_join(&q); /* would hang if the count were wrong */
    bq_destroy(&q);
}

/* ---- exercise 04.1: bq_put --------------------------------------------------- */

EXERCISE(ex04_bq_put, "04", "bq_put: wait while full, then wake a getter", 4);

Test(ex04_bq_put, put_keeps_fifo_order_with_one_producer)
{
    bq q;
    bq_init(&q, 8);
    for (uintptr_t v = 1; v <= 5; v++)
        cr_assert_eq(
            bq_put(&q, item(v)), BQ_OK,
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
    cr_assert_eq(bq_put(&q, item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c = {.q = &q, .value = 2};
    pthread_t t = start(do_put, &c);
    await_waits(&q, true, 1, &c, 1);
    bool returned_early = atomic_load(&c.done);
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
    join(t);
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
    pthread_t t = start(do_get_timed, &c);
    await_waits(&q, false, 1, &c, 1);
    bq_status s = bq_put(&q, item(9));
    if (s != BQ_OK)
        bq_close(&q); /* let the getter go before failing */
    join(t);
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
    cr_assert_eq(bq_put(&q, item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        c[i] = (call){.q = &q, .value = (uintptr_t)(i + 2)};
        t[i] = start(do_put, &c[i]);
    }
    await_waits(&q, true, N, c, N);
    bq_close(&q);
    for (int i = 0; i < N; i++) {
        join(t[i]);
        cr_assert_eq(c[i].status, BQ_CLOSED,
                     "a put blocked on a closed queue must return "
                     "BQ_CLOSED (check `closed` after the while loop), got %s",
                     bq_status_name(c[i].status));
    }
    cr_assert_eq(bq_put(&q, item(99)), BQ_CLOSED,
                 "bq_put on a closed queue: BQ_CLOSED");
    bq_destroy(&q);
}

Test(ex04_bq_put, a_blocked_put_sleeps_instead_of_burning_cpu)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put(&q, item(1)), BQ_OK,
                 "bq_put on an empty queue must return BQ_OK");
    call c = {.q = &q, .value = 2};
    pthread_t t = start(do_put, &c);
    await_waits(&q, true, 1, &c, 1);
    kit_sleep_ms(300); /* a busy loop would burn CPU all this time */
    void *it;
    cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
    join(t);
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
        cr_assert_eq(bq_try_put(&q, item(v)), BQ_OK);
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
    pthread_t t = start(do_get, &c);
    await_waits(&q, false, 1, &c, 1);
    bool returned_early = atomic_load(&c.done);
    cr_assert_eq(bq_try_put(&q, item(5)), BQ_OK);
    if (returned_early)
        bq_close(&q);
    join(t);
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
    cr_assert_eq(bq_try_put(&q, item(1)), BQ_OK);
    call c = {.q = &q, .value = 2, .timeout_ms = 60000};
    pthread_t t = start(do_put_timed, &c);
    await_waits(&q, true, 1, &c, 1);
    void *it = NULL;
    bq_status s = bq_get(&q, &it);
    if (s != BQ_OK)
        bq_close(&q);
    join(t);
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
        t[i] = start(do_get, &c[i]);
    }
    await_waits(&q, false, N, c, N);
    cr_assert_eq(bq_try_put(&q, item(1)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, item(2)), BQ_OK);
    bq_close(&q);
    int ok = 0, closed = 0;
    for (int i = 0; i < N; i++) {
        join(t[i]);
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
        cr_assert_eq(bq_try_put(&q, item(v)), BQ_OK);
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
    pthread_t t = start(do_get, &c);
    await_waits(&q, false, 1, &c, 1);
    kit_sleep_ms(300);
    cr_assert_eq(bq_try_put(&q, item(3)), BQ_OK);
    if (atomic_load(&c.done))
        bq_close(&q);
    join(t);
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
        cr_assert(flag(doc, "exactly_once"),
                  "./queue -k %s: not exactly once: %s", caps[i], doc);
        cr_assert_eq(num(doc, "delivered"), 6000);
        cr_assert_eq(num(doc, "missing"), 0);
        cr_assert_eq(num(doc, "duplicates"), 0);
        cr_assert_eq(num(doc, "producers"), 4);
        cr_assert_eq(num(doc, "consumers"), 4);
        cr_assert_eq(num(doc, "capacity"), capv[i]);
        cr_assert_eq(num(doc, "items"), 6000);
        cr_assert_gt(num(doc, "items_per_sec"), 0);
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

/* ---- ./queue: what needs no exercise ----------------------------------------- */

TestSuite(lab04_queue, .timeout = 60);

Test(lab04_queue, spin_mode_also_delivers_exactly_once_and_reports_cpu)
{
    run_result r = RUN("queue", "--spin", "-p", "2", "-c", "2", "-k", "4", "-n",
                       "4000", "--json");
    const char *doc = json_of(&r, "queue --spin");
    cr_assert(flag(doc, "exactly_once"), "%s", doc);
    cr_assert(flag(doc, "spin"));
    cr_assert(tj_has(doc, "cpu_seconds"));
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(lab04_queue, slow_producers_with_spin_still_deliver_exactly_once)
{
    run_result r = RUN("queue", "--spin", "-p", "1", "-c", "2", "-n", "50",
                       "--produce-us", "200", "--json");
    const char *doc = json_of(&r, "queue --spin --produce-us");
    cr_assert(flag(doc, "exactly_once"), "%s", doc);
    cr_assert_gt(num(doc, "get_waits"), 0,
                 "slow producers: consumers must have waited: %s", doc);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(lab04_queue, help_shows_an_example_and_exits_0)
{
    run_result r = RUN("queue", "--help");
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "example: ./queue"), "%s", r.out);
    run_free(&r);
}

/* ---- ./pipe -------------------------------------------------------------------- */

TestSuite(lab04_pipe, .timeout = 60);

Test(lab04_pipe, round_trips_every_record_over_pipe_and_socketpair)
{
    run_result r = RUN("pipe", "-n", "3000", "--json");
    const char *doc = json_of(&r, "pipe");
    cr_assert_eq(num(doc, "records"), 3000);
    cr_assert_eq(num(doc, "verified"), 3000, "every reply must match: %s", doc);
    cr_assert_gt(num(doc, "bytes_per_sec"), 0);
    cr_assert_eq(tj_len(doc, "runs"), 2);
    char mode[32];
    cr_assert(tj_str(doc, "runs.1.mode", mode, sizeof mode));
    cr_assert_str_eq(mode, "socketpair");
    cr_assert_eq(num(doc, "runs.1.verified"), 3000);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0, "the child must be reaped");
    run_free(&r);
}

Test(lab04_pipe, records_larger_than_pipe_buf_still_arrive_whole)
{
    run_result r = RUN("pipe", "-n", "40", "-s", "64K", "-m", "pipe", "--json");
    const char *doc = json_of(&r, "pipe -s 64K");
    cr_assert_eq(num(doc, "verified"), 40, "%s", doc);
    cr_assert_gt(num(doc, "record_size"), num(doc, "pipe_buf"));
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_pipe, forget_close_ends_with_status_3_and_the_explanation)
{
    run_result r = RUN("pipe", "-n", "200", "-m", "pipe", "--forget-close");
    cr_assert(!r.timed_out,
              "--forget-close must be caught by the watchdog, not hang");
    cr_assert_eq(r.exit_code, 3, "exit %d; stderr: %s", r.exit_code, r.err);
    cr_assert(strstr(r.out, "EOF"), "the explanation must talk about EOF: %s",
              r.out);
    cr_assert(strstr(r.out, "write end"), "%s", r.out);
    cr_assert(strstr(r.err, "watchdog"),
              "one line on stderr names the watchdog: %s", r.err);
    cr_assert_eq(r.leftover, 0, "the stuck child must be killed and reaped");
    run_free(&r);
}

Test(lab04_pipe,
     socketpair_survives_a_forgotten_close_because_shutdown_acts_on_the_socket)
{
    run_result r = RUN("pipe", "-n", "200", "-m", "socketpair",
                       "--forget-close", "--json");
    const char *doc = json_of(&r, "pipe -m socketpair --forget-close");
    cr_assert_eq(num(doc, "verified"), 200);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_pipe, report_explains_pipe_buf)
{
    run_result r = RUN("pipe", "-n", "100");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "PIPE_BUF"), "%s", r.out);
    cr_assert(strstr(r.out, "atomic"), "%s", r.out);
    cr_assert_eq(count_substr(r.out, " OK"), 2, "one OK per transport: %s",
                 r.out);
    run_free(&r);
}

Test(lab04_pipe, interrupt_kills_and_reaps_the_child)
{
    assert_interrupt_is_clean(
        (const char *const[]){"pipe", "-n", "1000000", "-s", "4K", NULL},
        SIGINT);
    assert_interrupt_is_clean(
        (const char *const[]){"pipe", "-n", "1000000", "-s", "4K", NULL},
        SIGTERM);
}

/* ---- ./mpqueue ------------------------------------------------------------------- */

TestSuite(lab04_mpqueue, .timeout = 60);

static void assert_mp_exactly_once(int p, int c, int n, const char *transport)
{
    char ps[16], cs[16], ns[16];
    snprintf(ps, sizeof ps, "%d", p);
    snprintf(cs, sizeof cs, "%d", c);
    snprintf(ns, sizeof ns, "%d", n);
    run_result r =
        RUN("mpqueue", "-p", ps, "-c", cs, "-n", ns, "-t", transport, "--json");
    if (strcmp(transport, "mq") == 0 && r.exit_code == 1 &&
        strstr(r.err, "mq_open")) {
        run_free(&r);
        cr_skip_test("POSIX message queues are not available here");
    }
    const char *doc = json_of(&r, "mpqueue");
    cr_assert(flag(doc, "exactly_once"), "-p %d -c %d -t %s: %s", p, c,
              transport, doc);
    cr_assert_eq(num(doc, "items"), n);
    cr_assert_eq(num(doc, "delivered"), n);
    cr_assert_eq(num(doc, "missing"), 0);
    cr_assert_eq(num(doc, "duplicates"), 0);
    cr_assert_eq(num(doc, "producers"), p);
    cr_assert_eq(num(doc, "consumers"), c);
    cr_assert_eq(num(doc, "fds_leaked"), 0,
                 "the parent must close every descriptor: %s", doc);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0, "every child must be reaped");
    run_free(&r);
}

Test(lab04_mpqueue, exactly_once_with_several_producer_and_consumer_processes)
{
    assert_mp_exactly_once(3, 4, 20000, "pipe");
    assert_mp_exactly_once(4, 3, 7,
                           "pipe"); /* some processes get (almost) nothing */
}

Test(lab04_mpqueue, exactly_once_with_one_consumer_reading_without_a_lock)
{
    assert_mp_exactly_once(4, 1, 10000, "pipe");
}

Test(lab04_mpqueue, exactly_once_over_a_posix_message_queue)
{
    assert_mp_exactly_once(3, 3, 5000, "mq");
}

Test(lab04_mpqueue, join_before_draining_deadlocks_and_the_watchdog_exits_3)
{
    run_result r = RUN("mpqueue", "-n", "100000", "--join-first");
    cr_assert(!r.timed_out,
              "--join-first must be caught by the watchdog, not hang");
    cr_assert_eq(r.exit_code, 3, "exit %d; stderr: %s", r.exit_code, r.err);
    cr_assert(strstr(r.out, "DEADLOCK"), "%s", r.out);
    cr_assert(strstr(r.out, "drain"),
              "the explanation must say to drain first: %s", r.out);
    cr_assert(strstr(r.err, "watchdog"), "%s", r.err);
    cr_assert_eq(r.leftover, 0, "the stuck children must be killed and reaped");
    run_free(&r);
}

Test(lab04_mpqueue,
     join_first_gets_away_with_it_when_everything_fits_in_the_pipe)
{
    run_result r = RUN("mpqueue", "-n", "200", "--join-first", "--json");
    const char *doc = json_of(&r, "mpqueue --join-first -n 200");
    cr_assert(flag(doc, "exactly_once"), "%s", doc);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_mpqueue,
     interrupt_kills_and_reaps_every_child_and_leaves_no_ipc_object)
{
    assert_interrupt_is_clean((const char *const[]){"mpqueue", "-p", "3", "-c",
                                                    "3", "-n", "10000000",
                                                    NULL},
                              SIGINT);
    assert_interrupt_is_clean(
        (const char *const[]){"mpqueue", "-n", "10000000", "-t", "mq", NULL},
        SIGTERM);
}

/* ---- ./shm ----------------------------------------------------------------------- */

TestSuite(lab04_shm, .timeout = 60);

Test(lab04_shm, private_stays_0_unlocked_never_exceeds_and_locked_is_exact)
{
    run_result r = RUN("shm", "-p", "4", "-n", "200000", "--json");
    const char *doc = json_of(&r, "shm");
    cr_assert_eq(num(doc, "processes"), 4);
    cr_assert_eq(num(doc, "iterations"), 200000);
    cr_assert_eq(tj_len(doc, "results"), 3);
    const char *modes[] = {"private", "shared-unsafe", "shared-locked"};
    for (int i = 0; i < 3; i++) {
        char path[32], mode[32];
        snprintf(path, sizeof path, "results.%d.mode", i);
        cr_assert(tj_str(doc, path, mode, sizeof mode));
        cr_assert_str_eq(mode, modes[i]);
        snprintf(path, sizeof path, "results.%d.expected", i);
        cr_assert_eq(num(doc, path), 800000);
    }
    cr_assert_eq(num(doc, "results.0.got"), 0,
                 "private memory: the parent's copy must stay 0: %s", doc);
    cr_assert_leq(num(doc, "results.1.got"), 800000,
                  "a race loses updates, never adds: %s", doc);
    cr_assert_eq(num(doc, "results.1.lost"),
                 800000 - num(doc, "results.1.got"));
    cr_assert_eq(num(doc, "results.2.got"), 800000,
                 "the locked counter must be exact: %s", doc);
    cr_assert_eq(num(doc, "results.2.lost"), 0);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_shm, locked_mode_alone_is_exact_for_many_processes)
{
    run_result r =
        RUN("shm", "-m", "shared-locked", "-p", "16", "-n", "5000", "--json");
    const char *doc = json_of(&r, "shm -m shared-locked");
    cr_assert_eq(tj_len(doc, "results"), 1);
    cr_assert_eq(num(doc, "results.0.got"), 80000, "%s", doc);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_shm, one_process_says_why_nothing_is_lost_instead_of_lucky)
{
    run_result r = RUN("shm", "-p", "1", "-n", "100000", "-m", "shared-unsafe");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "one process has no one to race"), "%s", r.out);
    cr_assert(strstr(r.out, "nobody else stores between its load and its"),
              "one process must say why nothing is lost: %s", r.out);
    cr_assert_null(strstr(r.out, "lucky"), "%s", r.out);
    cr_assert_null(strstr(r.out, "DATA RACE"), "%s", r.out);
    run_free(&r);

    r = RUN("shm", "-p", "1", "-n", "100000", "-m", "shared-unsafe", "--json");
    const char *doc = json_of(&r, "shm -p 1");
    cr_assert_eq(num(doc, "results.0.lost"), 0, "%s", doc);
    cr_assert(!flag(doc, "results.0.together"), "%s", doc);
    run_free(&r);
}

Test(lab04_shm, on_one_cpu_the_roll_call_never_calls_the_children_together)
{
    /* taskset(1) (util-linux) puts every child on CPU 0: no two can run at
     * the same moment, so the roll call must give up and say so. */
    static const char taskset[] = "/usr/bin/taskset";
    if (access(taskset, X_OK) != 0)
        cr_skip_test("%s is not installed (util-linux)", taskset);
    char *shm = strdup(bin_path("shm"));
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){taskset, "-c", "0", shm, "-p", "3", "-n",
                                      "1000", "-m", "shared-unsafe", "--json",
                                      NULL},
        .timeout = 30});
    const char *doc = json_of(&r, "taskset -c 0 shm");
    cr_assert(!flag(doc, "results.0.together"),
              "one CPU, yet the children were called together: %s", doc);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);

    r = run_with(&(run_opts){
        .argv = (const char *const[]){taskset, "-c", "0", shm, "-p", "2", "-n",
                                      "1000", "-m", "shared-unsafe", NULL},
        .timeout = 30});
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    if (strstr(r.out, "lost nothing"))
        cr_assert(strstr(r.out, "never seen"),
                  "nothing lost on one CPU must say why: %s", r.out);
    cr_assert_null(strstr(r.out, "lucky"), "%s", r.out);
    run_free(&r);
    free(shm);
}

Test(lab04_shm, table_grades_every_mode)
{
    run_result r = RUN("shm", "-p", "2", "-n", "1000");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "PRIVATE"), "%s", r.out);
    cr_assert(strstr(r.out, "shared-locked"), "%s", r.out);
    cr_assert(strstr(r.out, "expected"), "%s", r.out);
    run_free(&r);
}

Test(lab04_shm,
     interrupt_kills_and_reaps_every_child_and_leaves_nothing_in_dev_shm)
{
    assert_interrupt_is_clean((const char *const[]){"shm", "-p", "4", "-n",
                                                    "100000000", "-m",
                                                    "shared-locked", NULL},
                              SIGINT);
    assert_interrupt_is_clean(
        (const char *const[]){"shm", "-p", "4", "-n", "100000000", NULL},
        SIGTERM);
}

/* ---- bad arguments: exit 2, one line naming the option ----------------------------- */

TestSuite(lab04_args, .timeout = 60);

typedef struct {
    const char *argv[8];
    const char *mention;
} bad_case;

static void check_bad(const bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_result r = run_with(&(run_opts){.argv = cases[i].argv});
        cr_assert_eq(r.leftover, 0);
        assert_usage_error(&r, cases[i].mention);
        run_free(&r);
    }
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

Test(lab04_args, queue_rejects_bad_arguments_naming_the_option)
{
    static const bad_case cases[] = {
        {{"queue", "-p", "abc"}, "--producers"},
        {{"queue", "-p", "-1"}, "--producers"},
        {{"queue", "-p", "0"}, "--producers"},
        {{"queue", "-p", "65"}, "--producers"},
        {{"queue", "-c", "99999999999999999999"}, "--consumers"},
        {{"queue", "-k", "0"}, "--capacity"},
        {{"queue", "--capacity", "1e3"}, "--capacity"},
        {{"queue", "-n", ""}, "--items"},
        {{"queue", "-n", "50000001"}, "--items"},
        {{"queue", "--produce-us", "-1"}, "--produce-us"},
        {{"queue", "--produce-us", "100001"}, "--produce-us"},
        {{"queue", "--frobnicate"}, "--frobnicate"},
        {{"queue", "-n"}, "-n"},
        {{"queue", "stray"}, "stray"},
    };
    check_bad(cases, NCASES(cases));
}

Test(lab04_args, pipe_rejects_bad_arguments_naming_the_option)
{
    static const bad_case cases[] = {
        {{"pipe", "-n", "0"}, "--records"},
        {{"pipe", "-n", "1e3"}, "--records"},
        {{"pipe", "-n", "1000001"}, "--records"},
        {{"pipe", "-s", "8"}, "--size"},
        {{"pipe", "-s", "2M"}, "--size"},
        {{"pipe", "-s", "-4K"}, "--size"},
        {{"pipe", "-m", "fifo"}, "--mode"},
        {{"pipe", "--watchdog", "0"}, "--watchdog"},
        {{"pipe", "--mode"}, "--mode"},
        {{"pipe", "--bogus"}, "--bogus"},
    };
    check_bad(cases, NCASES(cases));
}

Test(lab04_args, mpqueue_rejects_bad_arguments_naming_the_option)
{
    static const bad_case cases[] = {
        {{"mpqueue", "-p", "x"}, "--producers"},
        {{"mpqueue", "-c", "0"}, "--consumers"},
        {{"mpqueue", "-c", "65"}, "--consumers"},
        {{"mpqueue", "-k", "11"}, "--capacity"},
        {{"mpqueue", "-n", "-5"}, "--items"},
        {{"mpqueue", "-n", "99999999999999999999"}, "--items"},
        {{"mpqueue", "-t", "carrier-pigeon"}, "--transport"},
        {{"mpqueue", "-t", ""}, "--transport"},
        {{"mpqueue", "--join-first", "extra"}, "extra"},
        {{"mpqueue", "--nope"}, "--nope"},
    };
    check_bad(cases, NCASES(cases));
}

Test(lab04_args, shm_rejects_bad_arguments_naming_the_option)
{
    static const bad_case cases[] = {
        {{"shm", "-p", "0"}, "--processes"},
        {{"shm", "-p", "65"}, "--processes"},
        {{"shm", "-n", "abc"}, "--iterations"},
        {{"shm", "-n", "100000001"}, "--iterations"},
        {{"shm", "-m", "shared"}, "--mode"},
        {{"shm", "-m"}, "-m"},
        {{"shm", "--what"}, "--what"},
    };
    check_bad(cases, NCASES(cases));
}
