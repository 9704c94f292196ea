/*
 * lab04_support.c - what lab 04's two test files share: threads that call
 * bq_* and report back, the many-producer many-consumer load, and reading a
 * program's --json output.  See lab04_support.h.
 */
#include "lab04_support.h"

#include "tjson.h"
#include "timing.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

void *as_item(uintptr_t v) { return (void *)v; }

bool call_done(call *c) { return atomic_load(&c->done); }

/* Wait (politely) until the queue's counters show `n` blocked puts or gets,
 * or until one of the calls has returned (a stub or a bug that does not
 * block); the suite timeout is the upper bound. */
void await_waits(bq *q, bool puts, unsigned long long n, call *calls,
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

void *do_put(void *p)
{
    call *c = p;
    double t0 = kit_thread_cpu_seconds();
    c->status = bq_put(c->q, as_item(c->value));
    c->cpu = kit_thread_cpu_seconds() - t0;
    atomic_store(&c->done, true);
    return NULL;
}

void *do_get(void *p)
{
    call *c = p;
    double t0 = kit_thread_cpu_seconds();
    c->status = bq_get(c->q, &c->got);
    c->cpu = kit_thread_cpu_seconds() - t0;
    atomic_store(&c->done, true);
    return NULL;
}

void *do_put_timed(void *p)
{
    call *c = p;
    c->status = bq_put_timed(c->q, as_item(c->value), c->timeout_ms);
    atomic_store(&c->done, true);
    return NULL;
}

void *do_get_timed(void *p)
{
    call *c = p;
    c->status = bq_get_timed(c->q, &c->got, c->timeout_ms);
    atomic_store(&c->done, true);
    return NULL;
}

pthread_t call_start(void *(*fn)(void *), call *c)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fn, c), 0);
    return t;
}

void call_join(pthread_t t) { cr_assert_eq(pthread_join(t, NULL), 0); }

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
        bq_status s = a->l->use_put ? bq_put(a->l->q, as_item(v))
                                    : bq_put_timed(a->l->q, as_item(v), 10000);
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
void assert_exactly_once(size_t capacity, bool use_put, bool use_get)
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
        call_join(tp[i]);
    bq_close(&q); /* all in: consumers drain, then see BQ_CLOSED */
    for (int i = 0; i < LOAD_C; i++)
        call_join(tc[i]);
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
const char *json_of(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung", what);
    cr_assert(tj_valid(r->out), "%s: not JSON (exit %d): %s\nstderr: %s", what,
              r->exit_code, r->out, r->err);
    return r->out;
}

double json_num(const char *doc, const char *path)
{
    double v = 0;
    cr_assert(tj_num(doc, path, &v), "no number at '%s' in: %s", path, doc);
    return v;
}

bool json_flag(const char *doc, const char *path)
{
    bool v = false;
    cr_assert(tj_bool(doc, path, &v), "no boolean at '%s' in: %s", path, doc);
    return v;
}
