/*
 * parallel.c - joblib's Parallel(n_jobs)(delayed(f)(x) for x in xs), in C
 *
 * What it demonstrates: the everyday way Python code uses many cores,
 *     from joblib import Parallel, delayed
 *     Parallel(n_jobs=2)(delayed(count_primes)(x) for x in xs)
 * built on the pool module (pool.h): a CPU-bound function mapped over a list
 * of inputs by N workers, threads or forked processes, results returned in
 * input order.
 *
 * What you will observe: the same answers as a plain loop, in the same
 * order, in about 1/N of the time with N <= cores.  In C both backends
 * scale, because C threads have no GIL; in Python only the processes one
 * would (that is why joblib's default backend forks workers).  With -v the
 * joblib-style progress lines appear on stderr.  A task that kills its
 * worker is reported by number, never silently lost (--fail-task).
 *
 * Usage: parallel [-j N] [--backend threads|processes] [-v] [--tasks N]
 *                 [--size X] [--json]
 * See also: pool.h, gil.c (why Python needs processes for this),
 *           https://joblib.readthedocs.io/en/stable/parallel.html
 */
#include "pool.h"

#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the injected failure does, and whether it is armed (never in the
 * sequential reference loop, which runs inside this very process). */
struct task_ctx {
    bool armed;
    long long fail_x; /* the input whose task fails */
    int fail_how;     /* 0: the worker _exits(3), 1: it segfaults */
};

/* The CPU-bound task: primes <= x, by trial division (slow on purpose). */
static long long count_primes(long long x, void *arg)
{
    const struct task_ctx *ctx = arg;
    if (ctx->armed && x == ctx->fail_x) {
        if (ctx->fail_how == 0)
            _exit(3);             /* like a task calling sys.exit(3) */
        signal(SIGSEGV, SIG_DFL); /* a plain crash, even under a sanitizer */
        raise(SIGSEGV);
    }
    long long count = 0;
    for (long long k = 2; k <= x; k++) {
        bool prime = true;
        for (long long d = 2; d * d <= k; d++)
            if (k % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    return count;
}

/* ---- the map, and the plain loop it must agree with ---------------------- */

/* One run: the parallel map's results and time against the plain loop's. */
struct outcome {
    size_t n; /* tasks */
    long long *in, *want, *got;
    double t_par, t_seq;    /* seconds */
    size_t same, first_bad; /* results equal to the loop's; first that is not */
    bool ok;
    double speedup;
};

static struct outcome map_and_check(long long tasks, long long size,
                                    long long fail_task, struct task_ctx *ctx,
                                    const pool_cfg *cfg)
{
    struct outcome o = {.n = (size_t)tasks};
    size_t n = o.n;
    /* Inputs x_i = step * (n - i): distinct, largest first, so the workers
     * finish out of order and the pool has to put results back in place. */
    long long step = n ? (size / tasks > 0 ? size / tasks : 1) : 1;
    o.in = xcalloc(n ? n : 1, sizeof *o.in);
    o.want = xcalloc(n ? n : 1, sizeof *o.want);
    o.got = xcalloc(n ? n : 1, sizeof *o.got);
    for (size_t i = 0; i < n; i++) {
        o.in[i] = step * (long long)(n - i);
        o.got[i] = -1;
    }
    if (fail_task >= 0) {
        ctx->fail_x = o.in[fail_task];
    }

    /* The parallel map first: a failing task is reported before any wait. */
    ctx->armed = fail_task >= 0;
    pool_error err;
    double t = kit_now();
    if (pool_map(count_primes, ctx, o.in, o.got, n, cfg, &err) != 0)
        die("%s", err.msg);
    o.t_par = kit_now() - t;

    /* Then the reference: n_jobs=1 in joblib is a plain loop in the calling
     * process (where the injected failure must stay disarmed). */
    ctx->armed = false;
    t = kit_now();
    for (size_t i = 0; i < n; i++)
        o.want[i] = count_primes(o.in[i], ctx);
    o.t_seq = kit_now() - t;

    o.first_bad = n;
    for (size_t i = 0; i < n; i++) {
        if (o.got[i] == o.want[i])
            o.same++;
        else if (o.first_bad == n)
            o.first_bad = i;
    }
    o.ok = o.same == n;
    o.speedup = n == 0 ? 1.0 : (o.t_par > 0 ? o.t_seq / o.t_par : 0.0);
    return o;
}

/* ---- reporting ----------------------------------------------------------- */

static void print_json(const struct outcome *o, int jobs,
                       enum pool_backend backend)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "jobs", jobs);
    json_str(&j, "backend", pool_backend_name(backend));
    json_int(&j, "tasks", (long long)o->n);
    json_double(&j, "seconds", o->t_par);
    json_double(&j, "speedup", o->speedup);
    json_bool(&j, "ok", o->ok);
    json_end(&j);
    json_finish(&j);
}

static void print_report(const struct outcome *o, int n_jobs, int jobs,
                         enum pool_backend backend)
{
    int cpus = kit_ncpus();
    printf("Parallel(n_jobs=%d, backend=\"%s\")(delayed(count_primes)(x) "
           "for x in xs)\n",
           n_jobs, pool_backend_name(backend));
    if (o->n > 0)
        printf("xs: %zu inputs, %lld down to %lld (largest first)\n\n", o->n,
               o->in[0], o->in[o->n - 1]);
    else
        printf("xs: empty: nothing to do\n\n");
    kit_table tb;
    tbl_init(&tb);
    tbl_col(&tb, "run", TBL_LEFT);
    tbl_col(&tb, "workers", TBL_RIGHT);
    tbl_col(&tb, "time", TBL_RIGHT);
    tbl_col(&tb, "speedup", TBL_RIGHT);
    tbl_col(&tb, "expected", TBL_LEFT);
    tbl_cell(&tb, "sequential loop (n_jobs=1)");
    tbl_cell(&tb, "1");
    tbl_cell(&tb, "%.3f s", o->t_seq);
    tbl_cell(&tb, "1.00x");
    tbl_cell(&tb, "baseline");
    tbl_cell(&tb, "%s backend", pool_backend_name(backend));
    tbl_cell(&tb, "%d", jobs);
    tbl_cell(&tb, "%.3f s", o->t_par);
    tbl_cell(&tb, "%.2fx", o->speedup);
    int ideal = jobs < cpus ? jobs : cpus;
    if ((size_t)ideal > o->n)
        ideal = o->n ? (int)o->n : 1;
    tbl_cell(&tb, "up to ~%d.00x (%d worker%s, %d CPU%s)", ideal, jobs,
             jobs == 1 ? "" : "s", cpus, cpus == 1 ? "" : "s");
    tbl_print(&tb, stdout);
    printf("\nresults: %zu of %zu equal to the sequential loop's, in input "
           "order: %s%s%s\n",
           o->same, o->n, kit_color(stdout, o->ok ? "green" : "red"),
           o->ok ? "OK" : "WRONG", kit_color(stdout, "reset"));
    if (o->n > 0)
        printf("  count_primes(%lld) = %lld%s\n", o->in[0], o->got[0],
               o->n > 1 ? ", ..." : "");
    if (!o->ok)
        printf("  first difference: task %zu, count_primes(%lld) should be "
               "%lld, got %lld\n"
               "\nNotice: the pool returned the right numbers in the wrong "
               "places: "
               "results must go back in input order.\n",
               o->first_bad, o->in[o->first_bad], o->want[o->first_bad],
               o->got[o->first_bad]);
    else if (ideal >= 2 && o->speedup < 0.7 * ideal)
        printf("\nNotice: same answers, same order, but little speedup "
               "this time: "
               "other programs busy on the CPUs? (see top)\n");
    else if (ideal >= 2)
        printf("\nNotice: same answers, same order, less time: the workers "
               "ran on "
               "separate cores at once.\n");
    else
        printf("\nNotice: same answers, same order; one worker (or one "
               "CPU) cannot be "
               "faster than the loop.\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: parallel [-j N] [--backend threads|processes] [-v] [--tasks N] "
    "[--size X] [--json]\n"
    "\n"
    "Map count_primes(x) over --tasks inputs with N workers, like joblib's\n"
    "Parallel(n_jobs=N)(delayed(count_primes)(x) for x in xs); compare with a\n"
    "plain loop (n_jobs=1): speedup, and whether the results are the same.\n"
    "\n"
    "  -j, --jobs N        workers: -1 = every CPU (joblib's n_jobs=-1), or "
    "1..256 (default 2)\n"
    "  -b, --backend B     threads or processes (forked workers, pipes) "
    "(default threads)\n"
    "  -v, --verbose       joblib-style progress lines on stderr\n"
    "  -n, --tasks N       number of inputs, 0..100000 (default 16)\n"
    "  -s, --size X        largest input, 1..5000000; inputs go down from X "
    "(default 500000)\n"
    "      --fail-task K   (processes) task K makes its worker fail, to see it "
    "reported\n"
    "      --fail-how H    exit or crash (default exit): _exit(3) or a "
    "segfault\n"
    "      --json          one JSON object on stdout instead of the report\n"
    "  -h, --help          this text\n"
    "\n"
    "example: parallel -j -1 -v --backend processes\n";

int main(int argc, char *argv[])
{
    kit_set_prog("parallel");
    int n_jobs = 2;
    enum pool_backend backend = POOL_THREADS;
    bool verbose = false, json = false;
    long long tasks = 16, size = 500000;
    const char *fail_task_s = NULL, *fail_how_s = NULL;
    static const char *const backends[] = {"threads", "processes", NULL};
    static const char *const hows[] = {"exit", "crash", NULL};
    enum { OPT_FAIL_TASK = 256, OPT_FAIL_HOW, OPT_JSON };
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"backend", required_argument, NULL, 'b'},
        {"verbose", no_argument, NULL, 'v'},
        {"tasks", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"fail-task", required_argument, NULL, OPT_FAIL_TASK},
        {"fail-how", required_argument, NULL, OPT_FAIL_HOW},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":j:b:vn:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': {
            long long v;
            /* joblib's convention: -1 is "all CPUs"; 0 means nothing. */
            if (kit_parse_ll(optarg, -1, 256, &v) != KIT_PARSE_OK || v == 0)
                usage_error("--jobs: expected -1 (all CPUs) or an integer in "
                            "1..256, got '%s'",
                            optarg);
            n_jobs = (int)v;
            break;
        }
        case 'b':
            backend =
                (enum pool_backend)opt_choice("--backend", optarg, backends);
            break;
        case 'v': verbose = true; break;
        case 'n': tasks = opt_int("--tasks", optarg, 0, 100000); break;
        case 's': size = opt_int("--size", optarg, 1, 5000000); break;
        case OPT_FAIL_TASK: fail_task_s = optarg; break;
        case OPT_FAIL_HOW: fail_how_s = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    struct task_ctx ctx = {.armed = false, .fail_x = -1, .fail_how = 0};
    long long fail_task = -1;
    if (fail_how_s) {
        ctx.fail_how = opt_choice("--fail-how", fail_how_s, hows);
        if (!fail_task_s)
            usage_error("--fail-how: needs --fail-task K");
    }
    if (fail_task_s) {
        if (tasks == 0)
            usage_error("--fail-task: there are no tasks (--tasks 0)");
        fail_task = opt_int("--fail-task", fail_task_s, 0, tasks - 1);
        /* A failing thread would take the whole process down with it:
         * isolation is exactly what the processes backend buys. */
        if (backend != POOL_PROCESSES)
            usage_error("--fail-task: needs --backend processes");
    }

    int jobs = pool_jobs(n_jobs);
    struct outcome o = map_and_check(
        tasks, size, fail_task, &ctx,
        &(pool_cfg){.jobs = jobs, .backend = backend, .verbose = verbose});
    if (json)
        print_json(&o, jobs, backend);
    else
        print_report(&o, n_jobs, jobs, backend);
    free(o.in);
    free(o.want);
    free(o.got);
    return o.ok ? 0 : 1;
}
