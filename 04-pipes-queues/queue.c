/*
 * queue.c - queue.Queue(maxsize) in C: producers and consumers, every item exactly once
 *
 * What it demonstrates
 *   P producer threads put N numbered items into a bounded blocking queue
 *   (bq.c: a ring buffer, one mutex, two condition variables) and C consumer
 *   threads take them out.  When the producers are done, the main thread
 *   closes the queue (Python 3.13's Queue.shutdown): the consumers drain
 *   what is left and stop.  Every item is then checked off: none lost, none
 *   delivered twice, and per producer the count and the checksum match.
 *
 * What you will observe
 *   "OK: every item delivered exactly once", the throughput, and how often a
 *   producer found the queue full or a consumer found it empty and slept.
 *   A tiny capacity (-k 1) makes them sleep all the time; a big one rarely.
 *   With --spin the threads poll (bq_try_put/bq_try_get in a loop) instead
 *   of sleeping on a condition variable: same answer, but look at the CPU
 *   time - waiting has become work.  It shows best when consumers wait a
 *   lot: --produce-us 500 makes the producers slow; with condition
 *   variables the waiting consumers use almost no CPU, spinning ones burn
 *   a core each.  (When nobody waits long, spinning can even be faster:
 *   that is why spinlocks exist.)
 *
 * Usage
 *   ./queue [-p P] [-c C] [-k CAPACITY] [-n ITEMS] [--produce-us US] [--spin] [--json]
 *
 * See also
 *   bq.h (the queue), mpqueue.c (the same with processes and a pipe),
 *   CS:APP 12.5.4 (sbuf), OSTEP ch. 30 (condition variables),
 *   https://docs.python.org/3/library/queue.html
 */
#include "bq.h"

#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define MAX_ITEMS 50000000LL
#define MAX_CAPACITY (1LL << 20)

/* Item ids are 0..N-1; producer p sends p, p+P, p+2P, ...  An item travels
 * through the queue as the pointer value id + 1 (never dereferenced). */
typedef struct {
    long long producers, consumers, capacity, items;
    long long produce_us; /* a producer "works" this long per item (sleeps) */
    bool spin, json;
} config;

typedef struct {
    unsigned long long count; /* items of this producer received */
    unsigned long long sum;   /* sum of their ids: the checksum */
} tally;

typedef struct {
    const config *cfg;
    bq *q;
    kit_gate *gate;
    atomic_uchar *seen;         /* seen[id]: deliveries of item id, shared */
    int id;                     /* producer or consumer number */
    tally *per_producer;        /* consumer only: [producers], private */
    unsigned long long invalid; /* consumer only: items with an impossible id */
    unsigned long long waits;   /* --spin: calls that found full/empty */
    unsigned long long spins;   /* --spin: failed attempts in total */
} worker;

static void *producer(void *arg)
{
    worker *w = arg;
    const config *c = w->cfg;
    gate_wait(w->gate);
    for (long long id = w->id; id < c->items; id += c->producers) {
        void *item = (void *)(uintptr_t)(id + 1);
        if (c->produce_us > 0) /* a slow producer: consumers mostly wait */
            kit_sleep_ms((double)c->produce_us / 1000.0);
        bq_status s;
        if (!c->spin) {
            s = bq_put(w->q, item); /* sleeps while the queue is full */
        } else {
            /* Busy-waiting: ask again and again until there is room.  The
             * answer is the same; the CPU time is not.  sched_yield() lets
             * a thread that shares our core run between two polls; without
             * it, with more threads than cores, a spinner can sit on the
             * very core the thread it waits for needs (try removing it:
             * runs get slower by orders of magnitude, and erratic). */
            unsigned long long tries = 0;
            while ((s = bq_try_put(w->q, item)) == BQ_FULL) {
                tries++;
                sched_yield();
            }
            w->spins += tries;
            w->waits += tries > 0;
        }
        if (s != BQ_OK) /* closed under us: only the exercise stub does this */
            break;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    worker *w = arg;
    const config *c = w->cfg;
    gate_wait(w->gate);
    for (;;) {
        void *item = NULL;
        bq_status s;
        if (!c->spin) {
            s = bq_get(w->q, &item); /* sleeps while the queue is empty */
        } else {
            unsigned long long tries = 0;
            while ((s = bq_try_get(w->q, &item)) == BQ_EMPTY) {
                tries++;
                sched_yield(); /* see producer() */
            }
            w->spins += tries;
            w->waits += tries > 0;
        }
        if (s != BQ_OK) /* BQ_CLOSED: closed and drained, we are done */
            break;
        uintptr_t v = (uintptr_t)item;
        if (v == 0 || v > (uintptr_t)c->items) {
            w->invalid++;
            continue;
        }
        unsigned long long id = (unsigned long long)(v - 1);
        /* Each consumer tallies privately (no lock needed); only the
         * seen[] marks are shared, so they are atomic. */
        tally *t = &w->per_producer[id % (unsigned long long)c->producers];
        t->count++;
        t->sum += id;
        atomic_fetch_add_explicit(&w->seen[id], 1, memory_order_relaxed);
    }
    return NULL;
}

/* Producer p sends ids p, p+P, p+2P, ... < N: how many, and their sum, in
 * closed form (the checksum a consumer's tally must match). */
static tally expected_tally(unsigned long long N, int P, int p)
{
    unsigned long long cnt =
        (N - (unsigned long long)p + (unsigned long long)P - 1) /
        (unsigned long long)P;
    return (tally){.count = cnt,
                   .sum = cnt * (unsigned long long)p +
                          (unsigned long long)P * (cnt * (cnt - 1) / 2)};
}

/* What a run delivered, checked off item by item. */
typedef struct {
    int P, C;
    unsigned long long N, distinct, received, invalid, missing, duplicates;
    tally *per; /* [P]: what the consumers got from each producer */
    bool exactly_once;
    unsigned long long put_waits, get_waits, spins;
    double secs, cpu, rate;
} outcome;

/* P producers and C consumers through one bounded queue; then every item is
 * checked off: seen once, and per producer the count and checksum match. */
static void run_and_check(const config *cfg, outcome *o)
{
    const int P = (int)cfg->producers, C = (int)cfg->consumers;
    const unsigned long long N = (unsigned long long)cfg->items;
    bq q;
    bq_init(&q, (size_t)cfg->capacity);
    atomic_uchar *seen =
        xcalloc((size_t)N, sizeof *seen); /* all zero: none seen */
    worker *w = xcalloc((size_t)(P + C), sizeof *w);
    pthread_t *tid = xcalloc((size_t)(P + C), sizeof *tid);
    kit_gate gate;
    gate_init(&gate, P + C + 1); /* +1: the clock starts when all are ready */

    for (int i = 0; i < P + C; i++) {
        w[i] = (worker){.cfg = cfg,
                        .q = &q,
                        .gate = &gate,
                        .seen = seen,
                        .id = i < P ? i : i - P};
        if (i >= P)
            w[i].per_producer = xcalloc((size_t)P, sizeof(tally));
        xpthread_create(&tid[i], i < P ? producer : consumer, &w[i]);
    }
    gate_wait(&gate);
    double t0 = kit_now(), cpu0 = kit_cpu_seconds();
    for (int i = 0; i < P; i++)
        xpthread_join(tid[i]);
    /* every item is in: consumers drain what is left, then stop */
    bq_close(&q);
    for (int i = P; i < P + C; i++)
        xpthread_join(tid[i]);
    *o = (outcome){.P = P, .C = C, .N = N};
    o->secs = kit_now() - t0;
    o->cpu = kit_cpu_seconds() - cpu0;

    /* Check every item off. */
    for (unsigned long long id = 0; id < N; id++) {
        unsigned n = atomic_load_explicit(&seen[id], memory_order_relaxed);
        o->distinct += n > 0;
        o->received += n;
    }
    o->per = xcalloc((size_t)P, sizeof *o->per);
    for (int i = P; i < P + C; i++) {
        for (int p = 0; p < P; p++) {
            o->per[p].count += w[i].per_producer[p].count;
            o->per[p].sum += w[i].per_producer[p].sum;
        }
        o->invalid += w[i].invalid;
    }
    if (cfg->spin) {
        for (int i = 0; i < P + C; i++) {
            if (i < P)
                o->put_waits += w[i].waits;
            else
                o->get_waits += w[i].waits;
            o->spins += w[i].spins;
        }
    } else {
        bq_stats(&q, &o->put_waits, &o->get_waits);
    }
    o->missing = N - o->distinct;
    o->duplicates = o->received - o->distinct;
    bool sums_ok = true;
    for (int p = 0; p < P; p++) {
        tally want = expected_tally(N, P, p);
        if (o->per[p].count != want.count || o->per[p].sum != want.sum)
            sums_ok = false;
    }
    o->exactly_once =
        o->missing == 0 && o->duplicates == 0 && o->invalid == 0 && sums_ok;
    o->rate = o->secs > 0 ? (double)o->received / o->secs : 0;

    for (int i = P; i < P + C; i++)
        free(w[i].per_producer);
    free(w);
    free(tid);
    free(seen);
    gate_destroy(&gate);
    bq_destroy(&q);
}

/* ---- reporting ------------------------------------------------------------ */

static void print_json(const config *cfg, const outcome *o)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "producers", o->P);
    json_int(&j, "consumers", o->C);
    json_int(&j, "capacity", cfg->capacity);
    json_uint(&j, "items", o->N);
    json_uint(&j, "delivered", o->distinct);
    json_uint(&j, "missing", o->missing);
    json_uint(&j, "duplicates", o->duplicates);
    json_bool(&j, "exactly_once", o->exactly_once);
    json_double(&j, "items_per_sec", o->rate);
    json_bool(&j, "spin", cfg->spin);
    json_uint(&j, "put_waits", o->put_waits);
    json_uint(&j, "get_waits", o->get_waits);
    json_double(&j, "seconds", o->secs);
    json_double(&j, "cpu_seconds", o->cpu);
    json_end(&j);
    json_finish(&j);
}

static void print_report(const config *cfg, const outcome *o)
{
    const int P = o->P, C = o->C;
    printf("queue: %d producer%s -> bounded queue (capacity %lld) -> %d "
           "consumer%s, %llu items, %s\n\n",
           P, P == 1 ? "" : "s", cfg->capacity, C, C == 1 ? "" : "s", o->N,
           cfg->spin ? "busy-waiting (--spin)" : "condition variables");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "producer", TBL_LEFT);
    tbl_col(&t, "sent", TBL_RIGHT);
    tbl_col(&t, "received", TBL_RIGHT);
    tbl_col(&t, "checksum sent", TBL_RIGHT);
    tbl_col(&t, "checksum got", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    int shown = P <= TBL_MAX_ROWS - 1 ? P : TBL_MAX_ROWS - 1;
    for (int p = 0; p < shown; p++) {
        tally want = expected_tally(o->N, P, p);
        bool ok = o->per[p].count == want.count && o->per[p].sum == want.sum;
        tbl_cell(&t, "%d", p);
        tbl_cell(&t, "%llu", want.count);
        tbl_cell(&t, "%llu", o->per[p].count);
        tbl_cell(&t, "%llu", want.sum);
        tbl_cell(&t, "%llu", o->per[p].sum);
        tbl_cell(&t, "%s",
                 ok                             ? "OK"
                 : o->per[p].count < want.count ? "LOST"
                                                : "WRONG");
    }
    tbl_print(&t, stdout);
    printf("\ndelivered %llu of %llu items: %llu missing, %llu duplicates -> ",
           o->distinct, o->N, o->missing, o->duplicates);
    if (o->exactly_once)
        printf("%sOK: every item delivered exactly once%s\n",
               kit_color(stdout, "green"), kit_color(stdout, "reset"));
    else
        printf("%sFAILED: not exactly once%s\n", kit_color(stdout, "red"),
               kit_color(stdout, "reset"));
    if (o->rate >= 1e6)
        printf("throughput: %.2f M items/s (%.3f s)\n", o->rate / 1e6, o->secs);
    else
        printf("throughput: %.0f items/s (%.3f s)\n", o->rate, o->secs);
    printf("waits: producers found the queue full %llu times, consumers "
           "found it empty %llu times\n",
           o->put_waits, o->get_waits);
    printf("CPU: %.3f s for %.3f s of wall time (%.1f cores busy)\n", o->cpu,
           o->secs, o->secs > 0 ? o->cpu / o->secs : 0);
    if (cfg->spin)
        printf("notice: %llu polls that found nothing to do - busy-waiting "
               "turns waiting into CPU time; without --spin a waiting thread "
               "sleeps\n",
               o->spins);
    else
        printf("notice: a thread that waits sleeps in pthread_cond_wait "
               "and burns no CPU; compare with --spin\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: queue [-p P] [-c C] [-k CAPACITY] [-n ITEMS] [--produce-us US] "
    "[--spin] [--json]\n"
    "P producer threads and C consumer threads pass N items through a bounded\n"
    "blocking queue of capacity K, then every item is checked off: exactly "
    "once?\n"
    "\n"
    "  -p, --producers P   producer threads, 1..64 (default 2)\n"
    "  -c, --consumers C   consumer threads, 1..64 (default 2)\n"
    "  -k, --capacity K    queue capacity, 1..1048576 (default 16)\n"
    "  -n, --items N       items in total, 1..50000000 (default 200000)\n"
    "      --produce-us US slow producers: each sleeps US microseconds per "
    "item,\n"
    "                      0..100000 (default 0), so consumers spend their "
    "time waiting\n"
    "      --spin          busy-wait (try_put/try_get in a loop) instead of "
    "sleeping\n"
    "      --json          one JSON object on stdout instead of the report\n"
    "  -h, --help          this help\n"
    "\n"
    "example: ./queue -p 4 -c 4 -k 8 -n 1000000\n"
    "         ./queue -p 1 -c 2 -n 2000 --produce-us 500 --spin\n";

static void parse(int argc, char **argv, config *c)
{
    enum { OPT_SPIN = 256, OPT_JSON, OPT_PRODUCE };
    static const struct option longopts[] = {
        {"producers", required_argument, NULL, 'p'},
        {"consumers", required_argument, NULL, 'c'},
        {"capacity", required_argument, NULL, 'k'},
        {"items", required_argument, NULL, 'n'},
        {"produce-us", required_argument, NULL, OPT_PRODUCE},
        {"spin", no_argument, NULL, OPT_SPIN},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (config){
        .producers = 2, .consumers = 2, .capacity = 16, .items = 200000};
    int ch;
    while ((ch = getopt_long(argc, argv, ":p:c:k:n:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            c->producers = opt_int("--producers", optarg, 1, MAX_THREADS);
            break;
        case 'c':
            c->consumers = opt_int("--consumers", optarg, 1, MAX_THREADS);
            break;
        case 'k':
            c->capacity = opt_int("--capacity", optarg, 1, MAX_CAPACITY);
            break;
        case 'n': c->items = opt_int("--items", optarg, 1, MAX_ITEMS); break;
        case OPT_PRODUCE:
            c->produce_us = opt_int("--produce-us", optarg, 0, 100000);
            break;
        case OPT_SPIN: c->spin = true; break;
        case OPT_JSON: c->json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(ch, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);
}

int main(int argc, char **argv)
{
    kit_set_prog("queue");
    config cfg;
    parse(argc, argv, &cfg);
    outcome o;
    run_and_check(&cfg, &o);
    if (cfg.json)
        print_json(&cfg, &o);
    else
        print_report(&cfg, &o);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    free(o.per);
    if (!o.exactly_once) {
        warn_msg("items were lost or duplicated (is bq_put/bq_get finished?)");
        return KIT_EXIT_RUNTIME;
    }
    return 0;
}
