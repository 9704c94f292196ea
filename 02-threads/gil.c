/*
 * gil.c - the GIL, built in C: why Python threads don't speed up CPU-bound work
 *
 * What it demonstrates: CPython's global interpreter lock, emulated.  Each
 * thread runs a "bytecode loop" (small chunks of arithmetic) and may only run
 * bytecode while it holds one interpreter-wide lock.  As in CPython
 * (Python/ceval_gil.c), a thread that has waited one switch interval
 * (sys.setswitchinterval, 5 ms) sets a "drop request"; the holder sees it
 * between two bytecodes, hands the lock over and waits until the other
 * thread has really taken it.  Around blocking I/O (here: a sleep) the
 * holder releases the lock, as CPython's Py_BEGIN_ALLOW_THREADS does.
 *
 * What you will observe, with T threads against one thread doing the same
 * total work:
 *     cpu + GIL       speedup ~1x, CPU use ~100%: the threads take turns
 *     cpu, no GIL     speedup ~T x (up to the cores): real parallelism
 *     io  + GIL       speedup ~T x: nobody needs the lock while waiting
 *     io, no GIL      speedup ~T x
 * "at once" is the most threads ever seen running bytecode together: with
 * the GIL it is 1, always.  "late hand-offs" (--json: late_handoffs) count
 * the waiters that took a free lock only when their timeout rang: ~0, since
 * a release wakes its waiter at once.
 *
 * Usage: gil [-t T] [--switch-ms MS] [--cpu-ms MS] [--json]
 * See also: coffee.c (concurrency vs parallelism), parallel.c (processes,
 *           the way around the GIL), CPython's Python/ceval_gil.c,
 *           David Beazley, "Understanding the Python GIL" (2010).
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* I/O-bound job: IO_ROUNDS times (a few bytecodes, then a blocking wait). */
enum { IO_ROUNDS = 40, IO_BYTECODES = 4 };
static const double IO_WAIT_MS = 2.0;

/* ---- the interpreter lock ------------------------------------------------- */

struct gil {
    bool enabled;       /* false: every operation is a no-op (python3.13t) */
    double interval_ms; /* how long a waiter waits before asking */
    pthread_mutex_t m;  /* guards the fields below, except drop_request */
    pthread_cond_t released;  /* signalled when locked becomes false */
    pthread_cond_t switched;  /* broadcast when a thread takes the GIL */
    bool locked;              /* some thread holds the GIL */
    int holder;               /* who took it last; -1 at first */
    unsigned long takes;      /* times taken: a waiter checks for progress */
    unsigned long handovers;  /* takes by another thread than the last holder */
    unsigned long late;       /* takes by a waiter whose wait ended by its
                                  timeout although the lock was free: the
                                  release did not wake it (see gil_acquire) */
    atomic_bool drop_request; /* "please hand over": set by a waiter that timed
                                  out, read by the holder between bytecodes
                                  without the mutex (CPython's eval breaker) */
};

static void gil_init(struct gil *g, bool enabled, double interval_ms)
{
    g->enabled = enabled;
    g->interval_ms = interval_ms;
    xmutex_init(&g->m);
    xcond_init(&g->released);
    xcond_init(&g->switched);
    g->locked = false;
    g->holder = -1;
    g->takes = 0;
    g->handovers = 0;
    g->late = 0;
    atomic_init(&g->drop_request, false);
}

static void gil_destroy(struct gil *g)
{
    xcond_destroy(&g->switched);
    xcond_destroy(&g->released);
    xmutex_destroy(&g->m);
}

/*
 * take_gil(): wait for the lock; after a whole interval without any
 * progress, ask the holder to drop it.  A wait that ends by its timeout and
 * finds the lock free is a late hand-off: the holder let go, but its signal
 * did not wake us, so the lock sat idle until our timer rang.  In a correct
 * GIL that is rare (a release and a timeout at the same instant); a release
 * that signals the wrong condition variable makes every hand-off late.
 */
static void gil_acquire(struct gil *g, int id)
{
    if (!g->enabled)
        return;
    xmutex_lock(&g->m);
    bool woken = true;
    while (g->locked) {
        unsigned long seen = g->takes;
        struct timespec deadline = kit_deadline_ms(g->interval_ms);
        woken = xcond_timedwait(&g->released, &g->m, &deadline);
        if (!woken && g->locked && g->takes == seen)
            atomic_store(&g->drop_request, true);
    }
    if (!woken)
        g->late++;
    g->locked = true;
    if (g->holder != id && g->holder != -1)
        g->handovers++; /* changed hands (the very first take is not one) */
    g->holder = id;
    g->takes++;
    atomic_store(&g->drop_request, false); /* whoever asked: it is served */
    xcond_broadcast(&g->switched);
    xmutex_unlock(&g->m);
}

/*
 * drop_gil().  A plain unlock is not enough: the thread that drops the lock
 * is running, the waiter has to be woken up first, so the dropper would
 * usually take the lock straight back and starve the waiter (what David
 * Beazley measured with Python 2's GIL in 2009).  So when the drop was requested, wait until another
 * thread has really taken it (CPython's FORCE_SWITCHING).
 */
static void gil_release(struct gil *g, int id)
{
    if (!g->enabled)
        return;
    xmutex_lock(&g->m);
    bool requested = atomic_load(&g->drop_request);
    g->locked = false;
    xcond_signal(&g->released);
    if (requested) /* the requester is waiting: it will take it */
        while (g->holder == id)
            xcond_wait(&g->switched, &g->m);
    xmutex_unlock(&g->m);
}

/* ---- the "interpreter" ---------------------------------------------------- */

/* What a run measures; the counters are shared by its threads. */
struct stats {
    atomic_int running;     /* threads inside a bytecode right now */
    atomic_int max_running; /* most ever at once: 1 whenever the GIL works */
    atomic_int waiting;     /* threads inside blocking I/O right now */
    atomic_int max_waiting; /* most ever waiting at once */
};

static void raise_max(atomic_int *max, int v)
{
    int m = atomic_load(max);
    while (v > m && !atomic_compare_exchange_weak(max, &m, v)) {}
}

static long chunks_per_ms = 1; /* calibrated once in main() */

/* One chunk of pure computation, ~20 microseconds: a handful of bytecodes. */
static uint64_t bytecode(uint64_t x)
{
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static uint64_t run_bytecode(struct stats *st, uint64_t x)
{
    raise_max(&st->max_running, atomic_fetch_add(&st->running, 1) + 1);
    x = bytecode(x);
    atomic_fetch_sub(&st->running, 1);
    return x;
}

/* The eval loop's check between bytecodes: asked to drop?  Then hand over
 * and queue up again. */
static void eval_breaker(struct gil *g, int id)
{
    if (g->enabled &&
        atomic_load_explicit(&g->drop_request, memory_order_relaxed)) {
        gil_release(g, id);
        gil_acquire(g, id);
    }
}

/* time.sleep(): a blocking call that needs no interpreter state. */
static void blocking_io(struct gil *g, int id, struct stats *st)
{
#ifndef HANDOUT
    gil_release(g, id); /* Py_BEGIN_ALLOW_THREADS */
    raise_max(&st->max_waiting, atomic_fetch_add(&st->waiting, 1) + 1);
    kit_sleep_ms(IO_WAIT_MS);
    atomic_fetch_sub(&st->waiting, 1);
    gil_acquire(g, id); /* Py_END_ALLOW_THREADS */
#else
    /* TODO(02.2): nobody needs the interpreter while this thread sleeps:
     * let the other threads run during the wait (and take the lock back
     * before touching interpreter state again). */
    (void)g;
    (void)id;
    raise_max(&st->max_waiting, atomic_fetch_add(&st->waiting, 1) + 1);
    kit_sleep_ms(IO_WAIT_MS);
    atomic_fetch_sub(&st->waiting, 1);
#endif
}

enum work { CPU, IO };

struct runner {
    struct gil *g;
    struct stats *st;
    kit_gate *gate;
    int id;
    int jobs; /* jobs this thread runs back to back */
    enum work work;
    long cpu_chunks; /* bytecodes per CPU-bound job */
    uint64_t result; /* out: keeps the work from being optimised away */
};

static void *interpreter_thread(void *p)
{
    struct runner *r = p;
    uint64_t x = 88172645463325252ULL + (uint64_t)r->id;
    gate_wait(r->gate);
    gil_acquire(r->g, r->id);
    for (int j = 0; j < r->jobs; j++) {
        if (r->work == CPU) {
            for (long k = 0; k < r->cpu_chunks; k++) {
                eval_breaker(r->g, r->id);
                x = run_bytecode(r->st, x);
            }
        } else {
            for (int k = 0; k < IO_ROUNDS; k++) {
                for (int b = 0; b < IO_BYTECODES; b++) {
                    eval_breaker(r->g, r->id);
                    x = run_bytecode(r->st, x);
                }
                blocking_io(r->g, r->id, r->st);
            }
        }
    }
    gil_release(r->g, r->id);
    r->result = x;
    return NULL;
}

struct run {
    enum work work;
    bool gil;
    double seconds, cpu_util; /* cpu_util: CPU seconds / wall seconds */
    int max_running, max_waiting;
    unsigned long handovers, late_handoffs;
};

/* `threads` threads, each running `jobs` jobs of the given kind. */
static struct run run_once(enum work work, bool with_gil, int threads, int jobs,
                           double switch_ms, long cpu_chunks)
{
    struct gil g;
    gil_init(&g, with_gil, switch_ms);
    struct stats st;
    atomic_init(&st.running, 0);
    atomic_init(&st.max_running, 0);
    atomic_init(&st.waiting, 0);
    atomic_init(&st.max_waiting, 0);
    kit_gate gate;
    gate_init(&gate, threads + 1);
    pthread_t *t = xcalloc((size_t)threads, sizeof *t);
    struct runner *r = xcalloc((size_t)threads, sizeof *r);
    for (int i = 0; i < threads; i++) {
        r[i] = (struct runner){.g = &g,
                               .st = &st,
                               .gate = &gate,
                               .id = i,
                               .jobs = jobs,
                               .work = work,
                               .cpu_chunks = cpu_chunks};
        xpthread_create(&t[i], interpreter_thread, &r[i]);
    }
    double cpu0 = kit_cpu_seconds(), t0 = kit_now();
    gate_wait(&gate); /* all threads created: go */
    for (int i = 0; i < threads; i++)
        xpthread_join(t[i]);
    double wall = kit_now() - t0, cpu = kit_cpu_seconds() - cpu0;
    struct run res = {.work = work,
                      .gil = with_gil,
                      .seconds = wall,
                      .cpu_util = wall > 0 ? cpu / wall : 0,
                      .max_running = atomic_load(&st.max_running),
                      .max_waiting = atomic_load(&st.max_waiting),
                      .handovers = g.handovers,
                      .late_handoffs = g.late};
    free(r);
    free(t);
    gate_destroy(&gate);
    gil_destroy(&g);
    return res;
}

/* Bytecodes per millisecond of this thread's CPU time. */
static long calibrate(void)
{
    uint64_t x = 1;
    long n = 0;
    double c0 = kit_thread_cpu_seconds();
    while (kit_thread_cpu_seconds() - c0 < 0.02) {
        x = bytecode(x);
        n++;
    }
    if (x == 0) /* never true for xorshift from a non-zero seed; uses x */
        n++;
    return n / 20 > 0 ? n / 20 : 1;
}

/* ---- reporting ------------------------------------------------------------ */

/* More than one take in ten waited for a timer although the lock was free:
 * the release does not wake its waiter.  (A correct GIL has ~0.) */
static bool late_handoffs_show(const struct run *r)
{
    return r->gil && r->late_handoffs > 0 &&
           r->late_handoffs * 10 > r->handovers;
}

static void print_json(const struct run runs[4], const struct run base[2],
                       const double speedup[4], int threads, double switch_ms,
                       int cpus)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "threads", threads);
    json_double(&j, "switch_ms", switch_ms);
    json_int(&j, "cpus", cpus);
    json_arr(&j, "runs");
    for (int i = 0; i < 4; i++) {
        json_obj(&j, NULL);
        json_str(&j, "work", runs[i].work == CPU ? "cpu" : "io");
        json_bool(&j, "gil", runs[i].gil);
        json_double(&j, "seconds", runs[i].seconds);
        json_double(&j, "speedup", speedup[i]);
        json_double(&j, "baseline_seconds", base[runs[i].work].seconds);
        json_double(&j, "cpu_util", runs[i].cpu_util);
        json_int(&j, "max_running", runs[i].max_running);
        json_int(&j, "max_waiting", runs[i].max_waiting);
        json_uint(&j, "handovers", runs[i].handovers);
        json_uint(&j, "late_handoffs", runs[i].late_handoffs);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static void print_table(const struct run runs[4], const struct run base[2],
                        const double speedup[4], const double expect[4],
                        int threads, double switch_ms, int cpus)
{
    printf("%d thread%s against 1 thread doing the same %d job%s; switch "
           "interval %g ms; %d CPU%s\n\n",
           threads, threads == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
           switch_ms, cpus, cpus == 1 ? "" : "s");
    kit_table tb;
    tbl_init(&tb);
    tbl_col(&tb, "work", TBL_LEFT);
    tbl_col(&tb, "GIL", TBL_LEFT);
    tbl_col(&tb, "threads", TBL_RIGHT);
    tbl_col(&tb, "time", TBL_RIGHT);
    tbl_col(&tb, "speedup", TBL_RIGHT);
    tbl_col(&tb, "expected", TBL_RIGHT);
    tbl_col(&tb, "CPU use", TBL_RIGHT);
    tbl_col(&tb, "at once", TBL_RIGHT);
    tbl_col(&tb, "verdict", TBL_LEFT);
    bool all_ok = true;
    for (int w = CPU; w <= IO; w++) {
        tbl_cell(&tb, "%s", w == CPU ? "cpu" : "io");
        tbl_cell(&tb, "on");
        tbl_cell(&tb, "1");
        tbl_cell(&tb, "%.3f s", base[w].seconds);
        tbl_cell(&tb, "1.00x");
        tbl_cell(&tb, "1x");
        tbl_cell(&tb, "%.0f%%", base[w].cpu_util * 100);
        tbl_cell(&tb, "%d", base[w].max_running);
        tbl_cell(&tb, "baseline: all %d jobs in turn", threads);
        for (int i = 2 * w; i < 2 * w + 2; i++) {
            /* Generous bands: this is a noisy measurement, not a test. */
            bool ok = expect[i] <= 1.0 ? speedup[i] < 1.4
                                       : speedup[i] >= 0.7 * expect[i];
            all_ok = all_ok && ok && !late_handoffs_show(&runs[i]);
            tbl_cell(&tb, "%s", w == CPU ? "cpu" : "io");
            tbl_cell(&tb, "%s", runs[i].gil ? "on" : "off");
            tbl_cell(&tb, "%d", threads);
            tbl_cell(&tb, "%.3f s", runs[i].seconds);
            tbl_cell(&tb, "%.2fx", speedup[i]);
            tbl_cell(&tb, "~%.0fx", expect[i]);
            tbl_cell(&tb, "%.0f%%", runs[i].cpu_util * 100);
            tbl_cell(&tb, "%d", runs[i].max_running);
            if (late_handoffs_show(&runs[i]))
                tbl_cell(&tb,
                         "LATE HAND-OFFS: %lu woke by timeout (%lu handovers)",
                         runs[i].late_handoffs, runs[i].handovers);
            else if (!ok)
                tbl_cell(&tb, "UNEXPECTED (busy machine? run again)");
            else if (w == CPU && runs[i].gil)
                tbl_cell(&tb, "OK: threads take turns (%lu handovers)",
                         runs[i].handovers);
            else if (w == CPU)
                tbl_cell(&tb, "OK: threads run in parallel");
            else if (runs[i].gil)
                tbl_cell(&tb, "OK: GIL released while waiting");
            else
                tbl_cell(&tb, "OK: waits overlap");
        }
    }
    tbl_print(&tb, stdout);
    printf("\n(time: wall clock; CPU use: CPU time / wall time, 100%% = one "
           "core busy;\n"
           " at once: most threads ever seen running bytecode at the same "
           "moment)\n");
    printf("\nNotice: CPU-bound + GIL %.2fx, without %.2fx: the GIL lets one "
           "thread run "
           "Python at a time;\n        I/O-bound + GIL %.2fx: waiting needs no "
           "GIL, so "
           "threads still help with I/O.\n",
           speedup[0], speedup[1], speedup[2]);
    if (!all_ok &&
        (late_handoffs_show(&runs[0]) || late_handoffs_show(&runs[2])))
        printf("%sLate hand-offs: a released GIL did not wake its waiter "
               "(wrong condition variable?).%s\n",
               kit_color(stdout, "red"), kit_color(stdout, "reset"));
    else if (!all_ok)
        printf("%sSome speedups were off: other programs are probably using "
               "the CPUs.%s\n",
               kit_color(stdout, "yellow"), kit_color(stdout, "reset"));
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: gil [-t T] [--switch-ms MS] [--cpu-ms MS] [--json]\n"
    "\n"
    "Four runs of T threads against one thread doing the same work: CPU-bound\n"
    "and I/O-bound, each with and without an emulated global interpreter "
    "lock.\n"
    "\n"
    "  -t, --threads T     threads, 1..16 (default 2)\n"
    "      --switch-ms MS  switch interval, 0.1..100 ms (default 5, like\n"
    "                      sys.setswitchinterval(0.005))\n"
    "      --cpu-ms MS     CPU work per thread, 10..5000 ms (default 200)\n"
    "      --json          one JSON object on stdout instead of the table\n"
    "  -h, --help          this text\n"
    "\n"
    "example: gil -t 4 --switch-ms 1\n";

int main(int argc, char *argv[])
{
    kit_set_prog("gil");
    int threads = 2;
    double switch_ms = 5.0;
    long long cpu_ms = 200;
    bool json = false;
    enum { OPT_JSON = 256, OPT_SWITCH_MS, OPT_CPU_MS };
    /* Long only: -s means --size and -c --consumers in the kit. */
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 't'},
        {"switch-ms", required_argument, NULL, OPT_SWITCH_MS},
        {"cpu-ms", required_argument, NULL, OPT_CPU_MS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': threads = (int)opt_int("--threads", optarg, 1, 16); break;
        case OPT_SWITCH_MS:
            switch_ms = opt_double("--switch-ms", optarg, 0.1, 100);
            break;
        case OPT_CPU_MS: cpu_ms = opt_int("--cpu-ms", optarg, 10, 5000); break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    chunks_per_ms = calibrate();
    long cpu_chunks = chunks_per_ms * (long)cpu_ms;
    int cpus = kit_ncpus();

    /* The baselines: one thread doing all T jobs, one after the other. */
    struct run base[2];
    struct run runs[4];
    int nr = 0;
    for (int w = CPU; w <= IO; w++) {
        base[w] =
            run_once((enum work)w, true, 1, threads, switch_ms, cpu_chunks);
        runs[nr++] =
            run_once((enum work)w, true, threads, 1, switch_ms, cpu_chunks);
        runs[nr++] =
            run_once((enum work)w, false, threads, 1, switch_ms, cpu_chunks);
    }

    double speedup[4], expect[4];
    for (int i = 0; i < 4; i++) {
        speedup[i] = runs[i].seconds > 0
                         ? base[runs[i].work].seconds / runs[i].seconds
                         : 0;
        if (runs[i].work == CPU)
            expect[i] = runs[i].gil ? 1.0 : (threads < cpus ? threads : cpus);
        else
            expect[i] = threads;
    }

    if (json)
        print_json(runs, base, speedup, threads, switch_ms, cpus);
    else
        print_table(runs, base, speedup, expect, threads, switch_ms, cpus);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("writing to stdout");
    return 0;
}
