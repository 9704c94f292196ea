/*
 * lab04_support.h - helpers shared by tests/test_04.c (the module and the
 * programs) and tests/test_04_exercises.c (the graded bq_put/bq_get).
 *
 * A `call` is one bq_* call made by a thread of its own (call_start with
 * do_put, do_get, do_put_timed or do_get_timed), so a test can watch it
 * block: await_waits() returns once the queue's counters show the blocked
 * calls (or one of them returned, which a stub does).
 */
#ifndef KIT_TESTS_LAB04_SUPPORT_H
#define KIT_TESTS_LAB04_SUPPORT_H

#include "harness.h"

#include "../04-pipes-queues/bq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* An id as a queue item (never NULL for v > 0; never dereferenced). */
void *as_item(uintptr_t v);
bool call_done(call *c);
/* Until `n` puts (or gets) have counted themselves as blocked in q's
 * counters, or one of calls[0..ncalls) has returned. */
void await_waits(bq *q, bool puts, unsigned long long n, call *calls,
                 int ncalls);
void *do_put(void *p);       /* bq_put(c->value), its CPU time in c->cpu */
void *do_get(void *p);       /* bq_get into c->got, its CPU time in c->cpu */
void *do_put_timed(void *p); /* bq_put_timed(c->value, c->timeout_ms) */
void *do_get_timed(void *p); /* bq_get_timed(c->timeout_ms) into c->got */
pthread_t call_start(void *(*fn)(void *), call *c);
void call_join(pthread_t t);

/* 4 producers and 4 consumers pass 10,000 ids through a queue of the given
 * capacity with the blocking calls (use_put/use_get) or the timed ones;
 * asserts every id came out exactly once. */
void assert_exactly_once(size_t capacity, bool use_put, bool use_get);

/* A program's --json output: one valid object (asserted), and its fields. */
const char *json_of(const run_result *r, const char *what);
double json_num(const char *doc, const char *path);
bool json_flag(const char *doc, const char *path);

#endif
