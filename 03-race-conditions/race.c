/*
 * race.c - a shared counter, four ways: a data race and its three fixes
 *
 * T threads each add 1 to one shared counter, N times.  The answer should be
 * T x N.  The four modes run the same loop and differ only by the fix:
 *
 *   unsafe   no lock: a data race.  "counter = counter + 1" is three steps
 *            (load, add, store); when another thread stores in between, its
 *            update is overwritten and lost.
 *   mutex    the same three steps inside a pthread mutex: always exact.
 *   atomic   one indivisible C11 read-modify-write: always exact.
 *   local    each thread counts in a private variable and adds it to the
 *            total once, at the end: always exact, and the fastest, because
 *            the best lock is no sharing at all.
 *
 * What you will observe: the unsafe row's "got" falls short of "expected"
 * (by a different amount on every run) and its verdict says DATA RACE; the
 * three fixes are exact.  The threads start with a roll call (see
 * start_together) so that they really run at the same moment; when no
 * second CPU is free for 0.2 s (taskset -c 0, or a machine busy elsewhere)
 * the run says so instead of calling itself lucky.  --yield ("slow motion") gives the CPU away between
 * the load and the store, so updates are lost even on a single CPU:
 *     taskset -c 0 ./race --yield
 *
 * Usage:   ./race [-m unsafe|mutex|atomic|local|all] [-t THREADS]
 *                 [-n ITERATIONS] [--yield] [--json]
 * Exit:    0 when every fix that ran was exact (the race may lose updates:
 *          that is the lesson), 1 if a fix miscounted, 2 on bad usage.
 *
 * Under ThreadSanitizer (make SAN=thread race) "./race -m unsafe" prints a
 * data-race report, and the three fixes run clean.
 *
 * See also: deadlock.c (what goes wrong with two locks), README.md;
 * OSTEP ch. 26-28 (Concurrency, Thread API, Locks); pthread_mutex_lock(3p).
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

enum mode { MODE_UNSAFE, MODE_MUTEX, MODE_ATOMIC, MODE_LOCAL, MODE_ALL };
static const char *const mode_names[] = {
    "unsafe", "mutex", "atomic", "local", "all", NULL,
};

enum {
    MAX_THREADS = 1024,
    MAX_ITERATIONS = 1000000000,
    /* Big enough that each thread runs for tens of milliseconds, longer than
     * a scheduler time slice, so the race loses updates every time even on a
     * busy machine; small enough that all four modes take about a second. */
    DEFAULT_ITERATIONS = 10000000,
    /* --yield costs a system call per increment: slow motion needs fewer. */
    DEFAULT_YIELD_ITERATIONS = 10000,
    /* The roll call (start_together): of ROLL_CALL_BLOCK polls in a row,
     * ROLL_CALL_SEEN must see another thread's beat.  On one CPU only a
     * context switch lets another beat in, once per time slice. */
    ROLL_CALL_BLOCK = 256,
    ROLL_CALL_SEEN = 32,
};
/* How long the roll call waits for a second CPU before starting anyway:
 * longer than a busy neighbour's burst, short next to the run. */
static const double ROLL_CALL_S = 0.2;

/* Everything the threads of one run share. */
struct run {
    int threads;          /* how many count; read-only once threads start */
    long long iterations; /* per thread; read-only once threads start */
    bool yield;           /* --yield: sched_yield() between load and store */
    kit_gate gate;        /* parks every thread until all of them exist */
    atomic_uint drum;     /* the roll call: every waiting thread beats it */
    atomic_bool go;       /* the roll call is over: count */
    /* Written once, by the thread that says go, read after the join: */
    double started;       /* kit_now() when counting began */
    bool together;        /* two threads were seen running at the same moment */
    pthread_mutex_t lock; /* guards counter in mutex mode, the merge in local */
    /* The shared total of unsafe, mutex and local.  volatile only makes the
     * compiler really load and store it on every iteration; otherwise -O2
     * may load it once before the loop and count in a register, and the
     * machine code no longer does what the source shows.  volatile is NOT
     * synchronisation: it orders nothing between threads and makes no step
     * atomic. */
    volatile long long counter;
    atomic_llong atomic_counter; /* the shared total of atomic mode */
};

/* The outcome of one mode. */
struct result {
    enum mode mode;
    long long expected; /* threads x iterations */
    long long got;      /* the counter after every thread was joined */
    double seconds;     /* wall time, roll call over to threads joined */
    bool together;      /* two threads were seen running at the same moment */
};

/* Start all threads at once, so that their loops really overlap.  The gate
 * parks them until every thread exists; but a woken thread is only runnable,
 * not running, and one thread alone counts to 10000000 in about 10 ms, often
 * before the scheduler gets round to the others.  Worse, "checked in" is not
 * "running now": on a busy machine two threads can check in on the same CPU
 * and then count one after the other, and nothing is lost.  So each thread
 * then answers a roll call: it beats a shared drum and watches the others'
 * beats.  Seeing them advance on many polls of a few microseconds proves
 * that another thread is on another CPU right now (on one CPU, while we
 * poll, nobody else beats); the first thread to see that says go, and the pair
 * start within a poll of each other.  Nobody is seen only when no second CPU
 * is free (taskset -c 0, or a machine busy elsewhere): after ROLL_CALL_S
 * every thread starts anyway, and the run reports that it was not together. */
static void say_go(struct run *r, bool together)
{
    double now = kit_now();
    bool no = false;
    /* The first to say go records when counting began (the roll call is not
     * part of the work the time column measures). */
    if (atomic_compare_exchange_strong(&r->go, &no, true)) {
        r->started = now; /* read by main after the join */
        r->together = together;
    }
}

static void start_together(struct run *r)
{
    gate_wait(&r->gate);
    if (r->threads == 1)
        return; /* nobody to wait for */
    unsigned mine = 0, others_before = atomic_load(&r->drum);
    int seen = 0; /* polls in this block that saw another thread's beat */
    const double give_up = kit_now() + ROLL_CALL_S;
    for (unsigned polls = 1; !atomic_load(&r->go); polls++) {
        /* the drum's value before our beat, less our own beats: the others' */
        unsigned others = atomic_fetch_add(&r->drum, 1) - mine++;
        seen += others != others_before;
        others_before = others;
        if (seen >= ROLL_CALL_SEEN) {
            say_go(r, true);
        } else if (polls % ROLL_CALL_BLOCK == 0) {
            seen = 0; /* a block is a few microseconds: one CPU sees <= 2 */
            if (kit_now() > give_up)
                say_go(r, false); /* no second CPU came free */
        }
    }
}

/* --yield: give the CPU away between the load and the store, so that another
 * thread runs inside the window even on one CPU ("slow motion"). */
static void slow_motion(const struct run *r)
{
    if (r->yield && sched_yield() != 0)
        die_errno("sched_yield");
}

/* ---- the four modes: the same loop, differing only by the fix ---------- */

/* The bug: between our load and our store, another thread may store; our
 * store then overwrites its update, which is lost. */
static void *count_unsafe(void *arg)
{
    struct run *r = arg;
    const long long n = r->iterations;
    start_together(r);
    for (long long i = 0; i < n; i++) {
        long long v = r->counter; /* load */
        slow_motion(r);
        r->counter = v + 1; /* add, store */
    }
    return NULL;
}

/* Fix 1: only one thread at a time runs the load-add-store. */
static void *count_mutex(void *arg)
{
    struct run *r = arg;
    const long long n = r->iterations;
    start_together(r);
    for (long long i = 0; i < n; i++) {
#ifndef HANDOUT
        xmutex_lock(&r->lock);
        long long v = r->counter;
        slow_motion(r);
        r->counter = v + 1;
        xmutex_unlock(&r->lock);
#else
        /* TODO(03.1): make the load, add and store one critical section:
         * lock r->lock before the load, unlock it after the store. */
        long long v = r->counter;
        slow_motion(r);
        r->counter = v + 1;
#endif
    }
    return NULL;
}

/* Fix 2: the hardware does load-add-store as one indivisible step (on x86,
 * "lock xadd").  There is no window, so --yield has nothing to widen; it
 * still yields once per increment, so that timings stay comparable. */
static void *count_atomic(void *arg)
{
    struct run *r = arg;
    const long long n = r->iterations;
    start_together(r);
    for (long long i = 0; i < n; i++) {
        slow_motion(r);
        atomic_fetch_add(&r->atomic_counter, 1);
    }
    return NULL;
}

/* Fix 3: nothing shared in the loop, so nothing to race on and no cache line
 * bouncing between cores; the shared total is touched once per thread. */
static void *count_local(void *arg)
{
    struct run *r = arg;
    const long long n = r->iterations;
    start_together(r);
#ifndef HANDOUT
    /* volatile for a fair race: the same load and store per iteration as the
     * other modes, only on memory no other thread sees. */
    volatile long long mine = 0;
    for (long long i = 0; i < n; i++) {
        long long v = mine;
        slow_motion(r);
        mine = v + 1;
    }
    xmutex_lock(&r->lock); /* the merge: T threads, T increments of the total */
    r->counter += mine;
    xmutex_unlock(&r->lock);
#else
    /* TODO(03.2): count in a private variable (volatile long long mine)
     * instead of r->counter, then add it to r->counter once, after the loop,
     * under r->lock.  Until then this is the unsafe loop. */
    for (long long i = 0; i < n; i++) {
        long long v = r->counter;
        slow_motion(r);
        r->counter = v + 1;
    }
#endif
    return NULL;
}

static void *(*const counters[])(void *) = {
    [MODE_UNSAFE] = count_unsafe,
    [MODE_MUTEX] = count_mutex,
    [MODE_ATOMIC] = count_atomic,
    [MODE_LOCAL] = count_local,
};

/* ---- running, grading, reporting --------------------------------------- */

/* One mode: start the threads, n increments each, join them, read the total. */
static struct result run_mode(enum mode mode, int threads, long long n,
                              bool yield)
{
    struct run r = {.threads = threads, .iterations = n, .yield = yield};
    atomic_init(&r.drum, 0);
    atomic_init(&r.go, false);
    atomic_init(&r.atomic_counter, 0);
    gate_init(&r.gate, threads);
    xmutex_init(&r.lock);
    pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);

    r.started = kit_now(); /* one thread: no roll call, counting starts now */
    for (int i = 0; i < threads; i++)
        xpthread_create(&tid[i], counters[mode], &r);
    for (int i = 0; i < threads; i++)
        xpthread_join(tid[i]); /* join: every thread's writes are now visible */
    double seconds = kit_now() - r.started;

    struct result res = {
        .mode = mode,
        .expected = (long long)threads * n,
        .got = mode == MODE_ATOMIC ? atomic_load(&r.atomic_counter) : r.counter,
        .seconds = seconds,
        .together = r.together,
    };
    free(tid);
    xmutex_destroy(&r.lock);
    gate_destroy(&r.gate);
    return res;
}

static bool is_exact(const struct result *res)
{
    return res->got == res->expected;
}

static const char *verdict(const struct result *res, int threads)
{
    if (res->mode != MODE_UNSAFE)
        return is_exact(res) ? "OK" : "WRONG: this fix miscounted";
    if (threads == 1)
        return "OK: one thread has no one to race";
    if (!is_exact(res))
        return "DATA RACE: updates lost";
    return res->together ? "DATA RACE: lucky this time, nothing lost"
                         : "DATA RACE: nothing lost, never ran at once";
}

static void print_table(const struct result *res, int n, int threads,
                        long long iterations, bool yield)
{
    printf("%d thread%s x %lld increments of one shared counter\n", threads,
           threads == 1 ? "" : "s", iterations);
    if (yield)
        printf("slow motion: sched_yield() between every load and its store\n");
    putchar('\n');

    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "mode", TBL_LEFT);
    tbl_col(&t, "expected", TBL_RIGHT);
    tbl_col(&t, "got", TBL_RIGHT);
    tbl_col(&t, "lost", TBL_RIGHT);
    tbl_col(&t, "time", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    for (int i = 0; i < n; i++) {
        tbl_cell(&t, "%s", mode_names[res[i].mode]);
        tbl_cell(&t, "%lld", res[i].expected);
        tbl_cell(&t, "%lld", res[i].got);
        tbl_cell(&t, "%lld", res[i].expected - res[i].got);
        tbl_cell(&t, "%.3f s", res[i].seconds);
        tbl_cell(&t, "%s", verdict(&res[i], threads));
    }
    tbl_print(&t, stdout);

    /* The one line to notice. */
    const char *red = kit_color(stdout, "red");
    const char *off = kit_color(stdout, "reset");
    const struct result *fastest = NULL;
    int fixes = 0;
    bool all_exact = true;
    putchar('\n');
    for (int i = 0; i < n; i++) {
        const struct result *x = &res[i];
        long long lost = x->expected - x->got;
        if (x->mode != MODE_UNSAFE) {
            fixes++;
            all_exact = all_exact && lost == 0;
            if (lost != 0)
                printf("%s%s miscounted by %lld: this fix is broken.%s\n", red,
                       mode_names[x->mode], lost, off);
            if (fastest == NULL || x->seconds < fastest->seconds)
                fastest = x;
        } else if (threads > 1 && lost > 0) {
            double pct = 100.0 * (double)lost / (double)x->expected;
            printf("%sunsafe lost %lld of %lld updates (%.0f%%)%s: ", red, lost,
                   x->expected, pct, off);
            printf("load, add and store are three\n"
                   "steps, and a store by another thread in between is "
                   "overwritten.\n");
        } else if (threads > 1 && !x->together) {
            printf(
                "unsafe lost nothing: its threads were never seen running at "
                "the same\nmoment (one CPU, or the others busy). Try "
                "--yield, or run it again.\n");
        } else if (threads > 1) {
            printf("unsafe lost nothing this time, and is still a data race:\n"
                   "run it again, add threads, or try --yield.\n");
        }
    }
    /* Timings compare honest work only: no slow motion, no broken fix. */
    if (fixes > 1 && all_exact && !yield)
        printf("fastest fix: %s (%.3f s)%s\n", mode_names[fastest->mode],
               fastest->seconds,
               fastest->mode == MODE_LOCAL ? ": the best lock is no sharing."
                                           : ".");
}

static void print_json(const struct result *res, int n, int threads,
                       long long iterations)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "threads", threads);
    json_int(&j, "iterations", iterations);
    json_arr(&j, "results");
    for (int i = 0; i < n; i++) {
        json_obj(&j, NULL);
        json_str(&j, "mode", mode_names[res[i].mode]);
        json_int(&j, "expected", res[i].expected);
        json_int(&j, "got", res[i].got);
        json_int(&j, "lost", res[i].expected - res[i].got);
        json_double(&j, "seconds", res[i].seconds);
        json_bool(&j, "together", res[i].together);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static const char usage[] =
    "usage: race [-m MODE] [-t THREADS] [-n ITERATIONS] [--yield] [--json]\n"
    "\n"
    "THREADS threads each add 1 to one shared counter, ITERATIONS times.\n"
    "Modes (the same loop, differing only by the fix):\n"
    "  unsafe   no lock: a data race, updates get lost\n"
    "  mutex    a pthread mutex around the load-add-store\n"
    "  atomic   a C11 atomic increment\n"
    "  local    count privately, add to the shared total once\n"
    "  all      all four, side by side (default)\n"
    "\n"
    "  -m, --mode MODE        unsafe|mutex|atomic|local|all (default all)\n"
    "  -t, --threads T        1..1024 (default 2)\n"
    "  -n, --iterations N     per thread, 1..1000000000\n"
    "                         (default 10000000; 10000 with --yield)\n"
    "  -y, --yield            slow motion: sched_yield() between each load\n"
    "                         and store: updates are lost even on one CPU\n"
    "      --json             one JSON object instead of the table\n"
    "  -h, --help             this help\n"
    "\n"
    "examples:\n"
    "  ./race                        all four modes, 2 threads\n"
    "  ./race -m unsafe -t 8         the race alone, 8 threads\n"
    "  taskset -c 0 ./race --yield   one CPU: updates are still lost\n"
    "\n"
    "exit status: 0 every fix exact, 1 a fix miscounted, 2 bad usage\n";

int main(int argc, char *argv[])
{
    kit_set_prog("race");
    enum mode mode = MODE_ALL;
    int threads = 2;
    long long iterations = 0; /* 0: the default, which depends on --yield */
    bool yield = false, json = false;

    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"threads", required_argument, NULL, 't'},
        {"iterations", required_argument, NULL, 'n'},
        {"yield", no_argument, NULL, 'y'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":m:t:n:yh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mode = (enum mode)opt_choice("--mode", optarg, mode_names);
            break;
        case 't':
            threads = (int)opt_int("--threads", optarg, 1, MAX_THREADS);
            break;
        case 'n':
            iterations = opt_int("--iterations", optarg, 1, MAX_ITERATIONS);
            break;
        case 'y': yield = true; break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);
    if (iterations == 0)
        iterations = yield ? DEFAULT_YIELD_ITERATIONS : DEFAULT_ITERATIONS;

    struct result res[MODE_ALL]; /* one per mode that runs */
    int n = 0;
    for (enum mode m = MODE_UNSAFE; m < MODE_ALL; m++)
        if (mode == MODE_ALL || mode == m)
            res[n++] = run_mode(m, threads, iterations, yield);

    if (json)
        print_json(res, n, threads, iterations);
    else
        print_table(res, n, threads, iterations, yield);
    if (fflush(stdout) != 0)
        die_errno("stdout");

    for (int i = 0; i < n; i++)
        if (res[i].mode != MODE_UNSAFE && !is_exact(&res[i]))
            return KIT_EXIT_RUNTIME;
    return 0;
}
