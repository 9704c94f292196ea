/*
 * coffee.c - concurrency vs parallelism: two queues, one coffee machine or two
 *
 * What it demonstrates: the lecture's picture.  Each queue of customers is
 * served by its own thread; making a coffee is CPU work.  Run 1 confines
 * the whole process to ONE CPU (sched_setaffinity): both queues make
 * progress, but by taking turns on the one machine -- concurrency.  Run 2
 * allows TWO CPUs: the queues are served at the same time -- parallelism.
 * Each thread records when it was running by sampling the clock between
 * small slices of work (a gap in its samples = it was off the CPU), and the
 * program draws those records as one timeline per thread.
 *
 * What you will observe: run 1 takes about twice as long and its threads
 * are almost never running at the same moment (parallel 0%); in the zoomed
 * view their '#' blocks alternate.  In run 2 both rows are solid at once
 * (parallel ~100%) and it is done in half the time.  Same code, same
 * threads: only the number of machines changed.
 *
 * Which CPUs: before each run the program samples /proc/stat for 100 ms and
 * takes the least busy CPU(s) of the set it may use (sched_getaffinity, so
 * `taskset` is respected) -- Linux-only, like the pinning.  Why not CPUs 0
 * and 1, or any two the scheduler likes?  Fixed numbers fail on a laptop
 * whose CPU 0 is busy with the browser while six others idle; and leaving
 * run 2 to the scheduler would give it every CPU, not "two machines", and
 * the one-machine run must name one CPU anyway.  The sample is a guess
 * about the next half second, so each run also measures what the other
 * programs really took of its CPUs (/proc/stat again, less our own CPU
 * time).  When two machines were not free -- one of only two CPUs busy --
 * the verdict says so ("other programs used 35% of CPUs 0,1") instead of
 * claiming parallelism, and so does the last line.
 *
 * Usage: coffee [-q N] [-n N] [--ms MS] [--json]
 * See also: gil.c (why Python threads look like run 1 even on many CPUs),
 *           sched_setaffinity(2), taskset(1), Rob Pike, "Concurrency is not
 *           parallelism" (2012).
 */
#ifdef __linux__
/* Linux-only on purpose: sched_setaffinity() and CPU_SET() are the lesson
 * ("one coffee machine"); on other systems the pinned run is skipped with a
 * message.  _GNU_SOURCE must come before any system header. */
#define _GNU_SOURCE
#include <sched.h>
#endif

#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A gap longer than this between two of a thread's own samples means it was
 * not running in between (a sample is taken every ~10 microseconds). */
static const double GAP_S = 200e-6;

struct interval {
    double start, end; /* seconds since the run started; start <= end */
    int customer;      /* 0 = A, 1 = B, ... */
};

/* One queue and the thread serving it.  Written only by that thread while
 * the run lasts; read by main after the join. */
struct queue {
    int id;
    int customers;  /* customers to serve, <= 26 */
    double work_s;  /* CPU seconds per customer */
    kit_gate *gate; /* start together */
    double t0;      /* run start on kit_now()'s clock, set before the gate */
    struct interval *iv;  /* when this thread was seen running, in time order */
    size_t niv, cap;      /* used and allocated intervals */
    double served[26][2]; /* per customer: first and last sample time */
    double cpu_s;         /* this thread's CPU time for the whole run */
    uint64_t sink;        /* keeps the work from being optimised away */
};

static void add_interval(struct queue *q, double t, int customer)
{
    if (q->niv == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 256;
        q->iv = xrealloc(q->iv, q->cap * sizeof *q->iv);
    }
    q->iv[q->niv++] = (struct interval){t, t, customer};
}

/* A slice of coffee-making: ~10 microseconds of arithmetic. */
static uint64_t work_slice(uint64_t x)
{
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void *serve_queue(void *p)
{
    struct queue *q = p;
    uint64_t x = 0x9E3779B97F4A7C15ULL + (uint64_t)q->id;
    gate_wait(q->gate);
    double cpu0 = kit_thread_cpu_seconds();
    for (int c = 0; c < q->customers; c++) {
        double now = kit_now() - q->t0;
        add_interval(q, now, c);
        q->served[c][0] = now;
        double until = kit_thread_cpu_seconds() + q->work_s;
        do {
            x = work_slice(x);
            now = kit_now() - q->t0;
            struct interval *last = &q->iv[q->niv - 1];
            if (now - last->end > GAP_S) /* we were off the CPU: */
                add_interval(q, now, c); /* a new stretch begins */
            else
                last->end = now;
        } while (kit_thread_cpu_seconds() < until);
        q->served[c][1] = now;
    }
    q->cpu_s = kit_thread_cpu_seconds() - cpu0;
    q->sink = x;
    return NULL;
}

/* What a run showed; the verdict line, the last line and --json all say
 * this one value. */
enum verdict {
    V_TURNS,      /* one CPU: the threads took turns (the lesson of run 1) */
    V_ONE_QUEUE,  /* one queue cannot overlap with itself */
    V_OVERLAP,    /* two CPUs: they ran at the same time (run 2's lesson) */
    V_BUSY,       /* little overlap, and other programs held these CPUs */
    V_LITTLE,     /* little overlap, though the CPUs looked free */
    V_UNEXPECTED, /* overlap on one CPU: the timeline is wrong */
};
static const char *const verdict_names[] = {
    "turns", "one-queue", "overlap", "busy", "little", "unexpected",
};
/* Run 2 overlaps when two threads ran at once this share of the time or
 * more; below it, others' share decides between BUSY and LITTLE. */
static const double OVERLAP_MIN = 0.5, OTHERS_BUSY_MIN = 0.15;

struct run {
    int cpus;          /* CPUs the process was allowed to use */
    int cpu_ids[2];    /* which ones (Linux); -1 where unknown */
    char cpu_list[64]; /* "0" or "0,1", for the caption */
    double seconds;    /* from the gate opening to the last thread's end */
    double parallel;   /* share of `seconds` with >= 2 threads running */
    double others;     /* share of the CPUs' time other programs used, or
                          -1 where it could not be measured */
    enum verdict verdict;
    struct queue *q; /* the queues, with their timelines */
};

static enum verdict judge(const struct run *r, int nq)
{
    if (r->cpus == 1)
        return r->parallel < 0.1 ? V_TURNS : V_UNEXPECTED;
    if (nq < 2)
        return V_ONE_QUEUE;
    if (r->parallel >= OVERLAP_MIN)
        return V_OVERLAP;
    return r->others >= OTHERS_BUSY_MIN ? V_BUSY : V_LITTLE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Time during which at least two threads were running: sweep over the
 * interval ends (+1 at a start, -1 at an end, encoded in the sign). */
static double overlap_seconds(const struct queue *q, int nq)
{
    size_t n = 0;
    for (int i = 0; i < nq; i++)
        n += 2 * q[i].niv;
    if (n == 0)
        return 0;
    /* events as (time, delta) pairs packed in doubles, sorted by time */
    double *ev = xcalloc(n, 2 * sizeof *ev);
    size_t k = 0;
    for (int i = 0; i < nq; i++)
        for (size_t j = 0; j < q[i].niv; j++) {
            ev[2 * k] = q[i].iv[j].start;
            ev[2 * k + 1] = +1;
            k++;
            ev[2 * k] = q[i].iv[j].end;
            ev[2 * k + 1] = -1;
            k++;
        }
    qsort(ev, n, 2 * sizeof *ev, cmp_double);
    double total = 0;
    int running = 0;
    for (size_t e = 0; e < n; e++) {
        if (running >= 2 && e > 0)
            total += ev[2 * e] - ev[2 * (e - 1)];
        running += (int)ev[2 * e + 1];
    }
    free(ev);
    return total;
}

static struct run run_queues(int nq, int customers, double work_s)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.q = xcalloc((size_t)nq, sizeof *r.q);
    kit_gate gate;
    gate_init(&gate, nq + 1);
    pthread_t *t = xcalloc((size_t)nq, sizeof *t);
    double t0 = kit_now();
    for (int i = 0; i < nq; i++) {
        r.q[i] = (struct queue){.id = i,
                                .customers = customers,
                                .work_s = work_s,
                                .gate = &gate,
                                .t0 = t0};
        xpthread_create(&t[i], serve_queue, &r.q[i]);
    }
    gate_wait(&gate);
    for (int i = 0; i < nq; i++)
        xpthread_join(t[i]);
    /* The run lasts from the first sample to the last one. */
    double first = 1e300, last = 0;
    for (int i = 0; i < nq; i++) {
        if (r.q[i].niv == 0)
            continue;
        if (r.q[i].iv[0].start < first)
            first = r.q[i].iv[0].start;
        if (r.q[i].iv[r.q[i].niv - 1].end > last)
            last = r.q[i].iv[r.q[i].niv - 1].end;
    }
    /* Rebase every time on the first sample, so a timeline starts at 0. */
    for (int i = 0; i < nq; i++) {
        for (size_t j = 0; j < r.q[i].niv; j++) {
            r.q[i].iv[j].start -= first;
            r.q[i].iv[j].end -= first;
        }
        for (int c = 0; c < customers; c++) {
            r.q[i].served[c][0] -= first;
            r.q[i].served[c][1] -= first;
        }
    }
    r.seconds = last > first ? last - first : 0;
    double both = overlap_seconds(r.q, nq);
    r.parallel = r.seconds > 0 ? both / r.seconds : 0;
    if (r.parallel > 1)
        r.parallel = 1;
    free(t);
    gate_destroy(&gate);
    return r;
}

#ifdef __linux__
/* ---- choosing the coffee machines (Linux: /proc/stat, sched_setaffinity) -- */

/* One CPU's time since boot, in clock ticks (sysconf(_SC_CLK_TCK)). */
struct cpu_ticks {
    unsigned long long busy, total;
};

/* Read every CPU's line of /proc/stat ("cpu3 user nice system idle iowait
 * irq softirq steal ...") into t[0..CPU_SETSIZE); false if unreadable.
 * Busy is everything but idle and iowait; steal (a virtual machine's CPU
 * lent to another guest) counts as busy: it was not ours to use. */
static bool read_ticks(struct cpu_ticks *t)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return false;
    memset(t, 0, CPU_SETSIZE * sizeof *t);
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        /* "cpu " (the sum of all CPUs) has no number: skip it */
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
            continue;
        char *end;
        long cpu = strtol(line + 3, &end, 10);
        if (cpu < 0 || cpu >= CPU_SETSIZE)
            continue;
        unsigned long long v[8] = {0};
        int fields = 0;
        for (char *p = end; fields < 8; fields++, p = end) {
            v[fields] = strtoull(p, &end, 10);
            if (end == p)
                break; /* older kernels have fewer columns */
        }
        if (fields < 5)
            continue; /* not even user nice system idle iowait */
        unsigned long long total = 0;
        for (int i = 0; i < 8; i++)
            total += v[i];
        t[cpu] = (struct cpu_ticks){total - v[3] - v[4], total};
    }
    fclose(f); /* read-only: nothing to lose if close failed */
    return true;
}

/* How long the CPU-choosing sample lasts: ten ticks at the usual 100 Hz. */
static const double SAMPLE_MS = 100;

/* Allow exactly `n` CPUs of `allowed`: the least busy over a SAMPLE_MS
 * sample of /proc/stat (ties: the lower number; no /proc: the first n).
 * Writes them to ids[] and list ("2,5"); returns how many it got. */
static int pin_least_busy(const cpu_set_t *allowed, int n, int ids[2],
                          char *list, size_t len)
{
    struct cpu_ticks *a = xcalloc(CPU_SETSIZE, sizeof *a);
    struct cpu_ticks *b = xcalloc(CPU_SETSIZE, sizeof *b);
    bool sampled = read_ticks(a);
    if (sampled) {
        kit_sleep_ms(SAMPLE_MS);
        sampled = read_ticks(b);
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    int got = 0;
    list[0] = '\0';
    while (got < n) {
        int best = -1;
        double best_busy = 2;
        for (int c = 0; c < CPU_SETSIZE; c++) {
            if (!CPU_ISSET(c, allowed) || CPU_ISSET(c, &set))
                continue;
            unsigned long long dt = sampled ? b[c].total - a[c].total : 0;
            double busy =
                dt > 0 ? (double)(b[c].busy - a[c].busy) / (double)dt : 0;
            if (busy < best_busy) {
                best = c;
                best_busy = busy;
            }
        }
        if (best < 0)
            break; /* fewer allowed CPUs than asked */
        CPU_SET(best, &set);
        ids[got] = best;
        size_t used = strlen(list);
        snprintf(list + used, len - used, "%s%d", got ? "," : "", best);
        got++;
    }
    free(a);
    free(b);
    /* pid 0 = the calling thread; the queue threads created after this
     * inherit its mask, so the whole run stays on these CPUs. */
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        die_errno("sched_setaffinity");
    return got;
}

/* One run on `want` CPUs, measuring what other programs took of them:
 * their busy ticks over the run, less our own CPU time, as a share of
 * wall time x CPUs.  Ticks are coarse (10 ms), so this is a few percent
 * off; enough to tell a free machine from a busy one. */
static struct run run_on_cpus(const cpu_set_t *allowed, int want, int nq,
                              int customers, double work_s)
{
    int ids[2] = {-1, -1};
    char list[64];
    int cpus = pin_least_busy(allowed, want, ids, list, sizeof list);
    struct cpu_ticks *a = xcalloc(CPU_SETSIZE, sizeof *a);
    struct cpu_ticks *b = xcalloc(CPU_SETSIZE, sizeof *b);
    bool measured = read_ticks(a);
    double wall0 = kit_now(), ours0 = kit_cpu_seconds();
    struct run r = run_queues(nq, customers, work_s);
    double wall = kit_now() - wall0, ours = kit_cpu_seconds() - ours0;
    measured = measured && read_ticks(b);
    r.others = -1;
    if (measured && wall > 0) {
        unsigned long long busy = 0;
        for (int i = 0; i < cpus; i++)
            busy += b[ids[i]].busy - a[ids[i]].busy;
        long hz = sysconf(_SC_CLK_TCK);
        double others =
            ((double)busy / (double)(hz > 0 ? hz : 100) - ours) / (wall * cpus);
        r.others = others < 0 ? 0 : others > 1 ? 1 : others;
    }
    free(a);
    free(b);
    r.cpus = cpus;
    memcpy(r.cpu_ids, ids, sizeof ids);
    memcpy(r.cpu_list, list, sizeof list);
    return r;
}
#endif

/* Run 1 on one CPU, run 2 on two (fewer if the process may use only one);
 * returns how many runs there are in runs[]. */
static int run_one_then_two(struct run runs[2], int nq, int customers,
                            double work_s)
{
    int nruns = 0;
#ifdef __linux__
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        die_errno("sched_getaffinity");
    int available = CPU_COUNT(&allowed);
    for (int want = 1; want <= 2; want++) {
        if (want > available) {
            fprintf(stderr,
                    "coffee: only one CPU is available to this process: there "
                    "is no "
                    "second coffee machine, so the parallel run is skipped\n");
            break;
        }
        runs[nruns++] = run_on_cpus(&allowed, want, nq, customers, work_s);
    }
    if (sched_setaffinity(0, sizeof allowed, &allowed) !=
        0) /* as we found it */
        die_errno("sched_setaffinity");
#else
    fprintf(stderr,
            "coffee: pinning to one CPU needs sched_setaffinity (Linux only): "
            "the one-machine run is skipped; try it on Linux\n");
    {
        runs[0] = run_queues(nq, customers, work_s);
        runs[0].cpus = kit_ncpus();
        runs[0].cpu_ids[0] = runs[0].cpu_ids[1] = -1;
        runs[0].others = -1; /* no /proc/stat to ask */
        snprintf(runs[0].cpu_list, sizeof runs[0].cpu_list, "any of %d",
                 runs[0].cpus);
        nruns = 1;
    }
#endif

    for (int r = 0; r < nruns; r++)
        runs[r].verdict = judge(&runs[r], nq);
    return nruns;
}

/* ---- reporting ----------------------------------------------------------- */

/* Seconds queue q was running within [a, b), and the customer it spent
 * most of that time on. */
static double running_in(const struct queue *q, double a, double b,
                         int *customer)
{
    double total = 0, best = 0;
    *customer = -1;
    for (size_t j = 0; j < q->niv; j++) {
        double s = q->iv[j].start > a ? q->iv[j].start : a;
        double e = q->iv[j].end < b ? q->iv[j].end : b;
        if (e > s) {
            total += e - s;
            if (e - s > best) {
                best = e - s;
                *customer = q->iv[j].customer;
            }
        }
    }
    return total;
}

/*
 * Whole run, on a scale shared by both runs (`span` seconds across `cols`):
 * the customer's letter, capital where the thread ran for most of that
 * column, small where it ran only part of it (it was sharing the machine).
 */
static void draw_whole(const struct run *r, int nq, double span, int cols)
{
    for (int i = 0; i < nq; i++) {
        printf("  queue %d |", i + 1);
        for (int col = 0; col < cols; col++) {
            double a = span * col / cols, b = span * (col + 1) / cols;
            int cust;
            double ran = running_in(&r->q[i], a, b, &cust);
            if (a >= r->seconds || cust < 0)
                putchar(a < r->seconds ? '.' : ' ');
            else
                putchar((ran >= 0.5 * (b - a) ? 'A' : 'a') + cust);
        }
        printf("|\n");
    }
}

/* The first few milliseconds, magnified: '#' running, '.' not running. */
static void draw_zoom(const struct run *r, int nq, double window, int cols)
{
    for (int i = 0; i < nq; i++) {
        printf("  queue %d |", i + 1);
        for (int col = 0; col < cols; col++) {
            double a = window * col / cols, b = window * (col + 1) / cols;
            int cust;
            double ran = running_in(&r->q[i], a, b, &cust);
            putchar(a >= r->seconds ? ' ' : ran >= 0.5 * (b - a) ? '#' : '.');
        }
        printf("|\n");
    }
}

static void print_verdict(const struct run *r)
{
    switch (r->verdict) {
    case V_TURNS: printf("OK, they take turns\n"); break;
    case V_UNEXPECTED: printf("UNEXPECTED on one CPU\n"); break;
    case V_ONE_QUEUE:
        printf("OK, one queue cannot overlap with itself\n");
        break;
    case V_OVERLAP: printf("OK, they overlap\n"); break;
    case V_BUSY:
        printf("LITTLE OVERLAP:\n  other programs used %.0f%% of CPUs %s "
               "meanwhile: there was no free second machine\n",
               r->others * 100, r->cpu_list);
        break;
    case V_LITTLE:
        if (r->others < 0)
            printf("LITTLE OVERLAP (other programs busy? not measured "
                   "here)\n");
        else
            printf("LITTLE OVERLAP, though CPUs %s looked free (others used "
                   "%.0f%%)\n",
                   r->cpu_list, r->others * 100);
        break;
    }
}

/* The line to notice: what the two runs showed, in the verdicts' words. */
static void print_notice(const struct run *one, const struct run *two)
{
    printf("\nNotice: one machine: %.2f s, %s;\n", one->seconds,
           one->verdict == V_TURNS ? "the threads take turns (concurrency)"
                                   : "yet the threads overlapped (unexpected)");
    switch (two->verdict) {
    case V_OVERLAP:
    case V_ONE_QUEUE:
        printf("        two machines: %.2f s, they run at the same time "
               "(parallelism).\n",
               two->seconds);
        break;
    case V_BUSY:
        printf("        two machines: %.2f s, but other programs held CPUs "
               "%s, so they\n        mostly took turns: no parallelism this "
               "time.  Run it again when\n        the machine is quieter.\n",
               two->seconds, two->cpu_list);
        break;
    default:
        printf("        two machines: %.2f s, yet they mostly took turns: no "
               "parallelism\n        this time.  Run it again.\n",
               two->seconds);
        break;
    }
}

static void print_json(const struct run *runs, int nruns, int nq, int customers)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "queues", nq);
    json_int(&j, "customers", customers);
    json_arr(&j, "runs");
    for (int r = 0; r < nruns; r++) {
        json_obj(&j, NULL);
        json_int(&j, "cpus", runs[r].cpus);
        json_double(&j, "seconds", runs[r].seconds);
        json_double(&j, "parallel_fraction", runs[r].parallel);
        json_arr(&j, "cpu_list");
        for (int i = 0; i < runs[r].cpus && i < 2; i++)
            if (runs[r].cpu_ids[i] >= 0)
                json_int(&j, NULL, runs[r].cpu_ids[i]);
        json_end(&j);
        json_double(&j, "others_busy_fraction", runs[r].others);
        json_str(&j, "verdict", verdict_names[runs[r].verdict]);
        json_arr(&j, "threads");
        for (int i = 0; i < nq; i++) {
            const struct queue *q = &runs[r].q[i];
            double busy = 0;
            for (size_t k = 0; k < q->niv; k++)
                busy += q->iv[k].end - q->iv[k].start;
            json_obj(&j, NULL);
            json_double(&j, "cpu_seconds", q->cpu_s);
            json_double(&j, "busy_seconds", busy);
            json_int(&j, "intervals", (long long)q->niv);
            json_double(&j, "first", q->niv ? q->iv[0].start : 0);
            json_double(&j, "last", q->niv ? q->iv[q->niv - 1].end : 0);
            json_arr(&j, "customers");
            for (int k = 0; k < customers; k++) {
                json_arr(&j, NULL);
                json_double(&j, NULL, q->served[k][0]);
                json_double(&j, NULL, q->served[k][1]);
                json_end(&j);
            }
            json_end(&j);
            json_end(&j);
        }
        json_end(&j);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static void print_report(const struct run *runs, int nruns, int nq,
                         int customers, long long ms)
{
    int cols = kit_term_width() - 12; /* "  queue N |" + "|" */
    if (cols < 10)
        cols = 10;
    double span = 0;
    for (int r = 0; r < nruns; r++)
        if (runs[r].seconds > span)
            span = runs[r].seconds;
    /* Zoom on ~25 ms: several scheduler time slices, one per few columns. */
    double window = 0.025;
    printf("%d queue%s (one thread each), %d customer%s per queue, %lld ms "
           "of CPU per coffee\n",
           nq, nq == 1 ? "" : "s", customers, customers == 1 ? "" : "s", ms);
    printf("Timelines: when each thread saw itself running; A, B, C... = "
           "its customers,\n"
           "capital = ran for most of that column, small = only part of "
           "it.\n");
    for (int r = 0; r < nruns; r++) {
        const char *bold = kit_color(stdout, "bold"),
                   *off = kit_color(stdout, "reset");
        printf("\n%sRun %d: %d queue%s, %s (CPU %s): %s%s\n", bold, r + 1, nq,
               nq == 1 ? "" : "s",
               runs[r].cpus == 1 ? "one coffee machine" : "two coffee machines",
               runs[r].cpu_list,
               runs[r].cpus == 1 ? "concurrency" : "parallelism", off);
        printf("  total %.3f s; two or more threads running at once %.0f%% "
               "of the time: ",
               runs[r].seconds, runs[r].parallel * 100);
        print_verdict(&runs[r]);
        printf("  whole run (one column = %.1f ms, both runs on the same "
               "scale):\n",
               span * 1000 / cols);
        draw_whole(&runs[r], nq, span, cols);
        printf("  first %.0f ms magnified (one column = %.2f ms; #: "
               "running, .: not):\n",
               window * 1000, window * 1000 / cols);
        draw_zoom(&runs[r], nq, window, cols);
    }
    if (nruns == 2)
        print_notice(&runs[0], &runs[1]);
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: coffee [-q N] [-n N] [--ms MS] [--json]\n"
    "\n"
    "N queues of customers, one thread per queue, each coffee a slice of CPU "
    "work.\n"
    "Run 1: the process pinned to one CPU (one coffee machine: concurrency).\n"
    "Run 2: the process on two CPUs (two machines: parallelism).\n"
    "A timeline per thread shows when it was really running.\n"
    "\n"
    "  -q, --queues N      queues = threads, 1..8 (default 2)\n"
    "  -n, --customers N   customers per queue, 1..26 (default 3)\n"
    "      --ms MS         CPU time per coffee, 1..2000 ms (default 40)\n"
    "      --json          one JSON object on stdout instead of the pictures\n"
    "  -h, --help          this text\n"
    "\n"
    "example: coffee -q 2 -n 4 --ms 60\n";

int main(int argc, char *argv[])
{
    kit_set_prog("coffee");
    int nq = 2, customers = 3;
    long long ms = 40;
    bool json = false;
    enum { OPT_JSON = 256, OPT_MS };
    /* -n: how much work, as everywhere in the kit (a customer is one
     * coffee); --ms is long only, -m means --mode. */
    static const struct option longopts[] = {
        {"queues", required_argument, NULL, 'q'},
        {"customers", required_argument, NULL, 'n'},
        {"ms", required_argument, NULL, OPT_MS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":q:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': nq = (int)opt_int("--queues", optarg, 1, 8); break;
        case 'n': customers = (int)opt_int("--customers", optarg, 1, 26); break;
        case OPT_MS: ms = opt_int("--ms", optarg, 1, 2000); break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    struct run runs[2];
    int nruns = run_one_then_two(runs, nq, customers, (double)ms / 1000.0);
    if (json)
        print_json(runs, nruns, nq, customers);
    else
        print_report(runs, nruns, nq, customers, ms);
    for (int r = 0; r < nruns; r++) {
        for (int i = 0; i < nq; i++)
            free(runs[r].q[i].iv);
        free(runs[r].q);
    }
    return 0;
}
