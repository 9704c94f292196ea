/*
 * test_02.c - lab 02: ./threads (one address space), ./gil (the emulated
 * interpreter lock), ./coffee (one CPU vs two), ./parallel and the pool
 * module (a joblib-style map over threads or forked workers).
 *
 * Behaviour only, never timings: speedups are checked to be positive
 * numbers, never to reach a value.  What is certain is tested instead:
 * with the GIL at most one thread ever runs bytecode; on one CPU two
 * threads are never seen running at once; every task's result comes back
 * exactly once, and a worker that dies is reported with its task.
 *
 * The graded exercises (ex02_pool_order, ex02_gil_io) are in
 * test_02_exercises.c, so the lab02_* suites also pass on the handout,
 * where the fixes are stubs.
 */
#include "lab02_support.h"
#include "tjson.h"

#include "../02-threads/pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

/* Fails like a crashed or exited worker when x is 13 or 14. */
static long long fail_on_13(long long x, void *arg)
{
    (void)arg;
    if (x == 13)
        _exit(5);
    if (x == 14) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    return x * x + 1;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* ---- threads ------------------------------------------------------------------- */

TestSuite(lab02_threads, .timeout = 30);

Test(lab02_threads, main_sees_the_change_a_thread_made)
{
    run_result r = RUN("threads", "--json");
    assert_json_ok(&r, "threads --json");
    double before = num(r.out, "before"), t = num(r.out, "thread_after"),
           m = num(r.out, "main_after");
    cr_assert_neq(before, t, "the thread should have changed the global: %s",
                  r.out);
    cr_assert_eq(t, m,
                 "main must see the thread's write (one address space): %s",
                 r.out);
    run_free(&r);
}

Test(lab02_threads, results_come_back_through_join_from_distinct_stacks)
{
    run_result r = RUN("threads", "-t", "16", "--json");
    assert_json_ok(&r, "threads -t 16 --json");
    bool ok = false;
    cr_assert(tj_bool(r.out, "results_ok", &ok) && ok, "results_ok: %s", r.out);
    cr_assert(tj_bool(r.out, "stacks_distinct", &ok) && ok,
              "stacks_distinct: %s", r.out);
    cr_assert_eq(num(r.out, "threads"), 16);
    run_free(&r);
}

Test(lab02_threads, table_says_shared_for_all_three_variables)
{
    run_result r = RUN("threads");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(count_substr(r.out, "SHARED: main sees the change"), 3,
                 "output: %s", r.out);
    cr_assert(strstr(r.out, "OK (every thread has its own)"), "output: %s",
              r.out);
    run_free(&r);
}

Test(lab02_threads, bad_arguments_exit_2_naming_the_option)
{
    const char *bad[] = {
        "0", "65", "-1", "abc", "1e3", "", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("threads", "--threads", bad[i]);
        assert_usage_error(&r, "--threads");
        run_free(&r);
    }
    run_result r = RUN("threads", "--frobnicate");
    assert_usage_error(&r, "--frobnicate");
    run_free(&r);
    r = RUN("threads", "-t");
    assert_usage_error(&r, "-t");
    run_free(&r);
}

/* ---- gil ----------------------------------------------------------------------- */

TestSuite(lab02_gil, .timeout = 60);

Test(lab02_gil, json_has_four_runs_in_order_with_positive_speedups)
{
    run_result r = RUN("gil", "--cpu-ms", "20", "--json");
    assert_json_ok(&r, "gil --json");
    cr_assert_eq(num(r.out, "threads"), 2);
    cr_assert_eq(num(r.out, "switch_ms"), 5);
    cr_assert_eq(tj_len(r.out, "runs"), 4, "four runs expected: %s", r.out);
    static const char *const work[] = {"cpu", "cpu", "io", "io"};
    static const bool gil[] = {true, false, true, false};
    for (int i = 0; i < 4; i++) {
        char path[64], w[8];
        bool g;
        snprintf(path, sizeof path, "runs.%d.work", i);
        cr_assert(tj_str(r.out, path, w, sizeof w), "no %s: %s", path, r.out);
        cr_assert_str_eq(w, work[i], "run %d", i);
        snprintf(path, sizeof path, "runs.%d.gil", i);
        cr_assert(tj_bool(r.out, path, &g), "no %s: %s", path, r.out);
        cr_assert_eq(g, gil[i], "run %d: gil", i);
        snprintf(path, sizeof path, "runs.%d.seconds", i);
        cr_assert_gt(num(r.out, path), 0, "run %d: seconds", i);
        snprintf(path, sizeof path, "runs.%d.speedup", i);
        cr_assert_gt(num(r.out, path), 0, "run %d: speedup", i);
    }
    run_free(&r);
}

Test(lab02_gil, with_the_gil_at_most_one_thread_runs_bytecode_at_a_time)
{
    run_result r =
        RUN("gil", "-t", "4", "--cpu-ms", "30", "--switch-ms", "1", "--json");
    assert_json_ok(&r, "gil -t 4 --json");
    for (int i = 0; i < 4; i++) {
        char path[64];
        bool g = false;
        snprintf(path, sizeof path, "runs.%d.gil", i);
        cr_assert(tj_bool(r.out, path, &g));
        snprintf(path, sizeof path, "runs.%d.max_running", i);
        double at_once = num(r.out, path);
        cr_assert_geq(at_once, 1, "run %d ran no bytecode at all: %s", i,
                      r.out);
        if (g)
            cr_assert_eq(at_once, 1,
                         "run %d: %g threads ran bytecode at the same moment "
                         "while the GIL "
                         "was on: the lock does not exclude",
                         i, at_once);
    }
    run_free(&r);
}

Test(lab02_gil, the_lock_changes_hands_while_cpu_bound_threads_compete)
{
    /* 200 ms of CPU each against a 5 ms switch interval: the lock must go
     * back and forth (A, B, A...).  One handover only would mean the first
     * thread kept it for its whole job: drop requests ignored. */
    run_result r = RUN("gil", "--json");
    assert_json_ok(&r, "gil --json");
    cr_assert_geq(num(r.out, "runs.0.handovers"), 2,
                  "cpu + GIL: the lock never went back and forth: %s", r.out);
    cr_assert_eq(num(r.out, "runs.1.handovers"), 0, "no GIL, no handovers: %s",
                 r.out);
    run_free(&r);
}

/*
 * A released GIL must wake its waiter at once.  gil counts "late hand-offs":
 * takes by a waiter whose wait ended by its timeout although the lock was
 * free (the release's signal never reached it).  A correct GIL has ~0 (a
 * release and a timer at the same instant); a release that signals the
 * wrong condition variable makes every hand-off late, and the threads still
 * take turns, only slowly: no other test would notice.  Counted by the
 * program, never timed here.
 */
Test(lab02_gil, a_released_gil_wakes_its_waiter_without_waiting_for_a_timeout)
{
    run_result r = RUN("gil", "--json");
    assert_json_ok(&r, "gil --json");
    double handovers = num(r.out, "runs.0.handovers");
    double late = num(r.out, "runs.0.late_handoffs");
    cr_assert_geq(handovers, 2, "cpu + GIL: the lock must change hands: %s",
                  r.out);
    cr_assert_leq(late * 10, handovers,
                  "cpu + GIL: %g of %g hand-offs waited for the waiter's "
                  "timeout although the lock was free: does gil_release "
                  "signal the condition variable gil_acquire waits on? %s",
                  late, handovers, r.out);
    cr_assert_eq(num(r.out, "runs.1.late_handoffs"), 0,
                 "no GIL, no hand-offs: %s", r.out);
    run_free(&r);
}

Test(lab02_gil, table_shows_the_four_runs_and_the_baselines)
{
    run_result r = RUN("gil", "--cpu-ms", "20");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(count_substr(r.out, "baseline"), 2, "output: %s", r.out);
    cr_assert(strstr(r.out, "speedup") && strstr(r.out, "CPU use"),
              "output: %s", r.out);
    cr_assert(strstr(r.out, "Notice:"), "output: %s", r.out);
    run_free(&r);
}

Test(lab02_gil, bad_arguments_exit_2_naming_the_option)
{
    const char *bad_t[] = {"0", "17", "-2", "x", "1e3", ""};
    for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++) {
        run_result r = RUN("gil", "-t", bad_t[i]);
        assert_usage_error(&r, "-t");
        run_free(&r);
    }
    const char *bad_s[] = {"0", "0.05", "101", "inf", "1e1", "abc"};
    for (size_t i = 0; i < sizeof bad_s / sizeof bad_s[0]; i++) {
        run_result r = RUN("gil", "--switch-ms", bad_s[i]);
        assert_usage_error(&r, "--switch-ms");
        run_free(&r);
    }
    run_result r = RUN("gil", "--cpu-ms", "99999999999999999999");
    assert_usage_error(&r, "--cpu-ms");
    run_free(&r);
    r = RUN("gil", "--switch-ms");
    assert_usage_error(&r, "--switch-ms");
    run_free(&r);
    r = RUN("gil", "extra");
    assert_usage_error(&r, "extra");
    run_free(&r);
}

/* ---- coffee --------------------------------------------------------------------- */

TestSuite(lab02_coffee, .timeout = 60);

Test(lab02_coffee, json_runs_are_consistent_and_timelines_cover_every_customer)
{
    run_result r = RUN("coffee", "-q", "2", "-n", "3", "--ms", "10", "--json");
    assert_json_ok(&r, "coffee --json");
    int nruns = tj_len(r.out, "runs");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(nruns, cpus >= 2 ? 2 : 1, "runs: %s", r.out);
    for (int i = 0; i < nruns; i++) {
        char p[96];
        snprintf(p, sizeof p, "runs.%d.cpus", i);
        cr_assert_eq(num(r.out, p), i + 1, "run %d is on %d CPU(s)", i, i + 1);
        snprintf(p, sizeof p, "runs.%d.seconds", i);
        double secs = num(r.out, p);
        cr_assert_gt(secs, 0);
        snprintf(p, sizeof p, "runs.%d.parallel_fraction", i);
        double pf = num(r.out, p);
        cr_assert(pf >= 0 && pf <= 1, "parallel_fraction %g outside [0,1]", pf);
        snprintf(p, sizeof p, "runs.%d.threads", i);
        cr_assert_eq(tj_len(r.out, p), 2, "one timeline per queue: %s", r.out);
        for (int t = 0; t < 2; t++) {
            snprintf(p, sizeof p, "runs.%d.threads.%d.first", i, t);
            double first = num(r.out, p);
            snprintf(p, sizeof p, "runs.%d.threads.%d.last", i, t);
            double last = num(r.out, p);
            snprintf(p, sizeof p, "runs.%d.threads.%d.busy_seconds", i, t);
            double busy = num(r.out, p);
            snprintf(p, sizeof p, "runs.%d.threads.%d.intervals", i, t);
            cr_assert_geq(num(r.out, p), 1,
                          "run %d thread %d has an empty timeline", i, t);
            cr_assert(
                0 <= first && first < last && last <= secs + 1e-9,
                "run %d thread %d: timeline [%g, %g] outside the run [0, %g]",
                i, t, first, last, secs);
            cr_assert(busy > 0 && busy <= last - first + 1e-9,
                      "run %d thread %d: busy %g s in a span of %g s", i, t,
                      busy, last - first);
            snprintf(p, sizeof p, "runs.%d.threads.%d.customers", i, t);
            cr_assert_eq(tj_len(r.out, p), 3, "every customer served: %s",
                         r.out);
            double prev_end = first;
            for (int c = 0; c < 3; c++) {
                snprintf(p, sizeof p, "runs.%d.threads.%d.customers.%d.0", i, t,
                         c);
                double s = num(r.out, p);
                snprintf(p, sizeof p, "runs.%d.threads.%d.customers.%d.1", i, t,
                         c);
                double e = num(r.out, p);
                cr_assert(prev_end <= s && s <= e && e <= last + 1e-9,
                          "run %d thread %d customer %c [%g, %g] is not inside "
                          "the thread's "
                          "timeline after the previous customer (%g)",
                          i, t, 'A' + c, s, e, prev_end);
                prev_end = e;
            }
        }
    }
    run_free(&r);
}

Test(lab02_coffee, on_one_cpu_two_threads_are_never_seen_running_at_once)
{
    /* A thread's recorded stretches are samples taken while it ran, so on a
     * single CPU two of them cannot overlap by more than clock noise. */
    run_result r = RUN("coffee", "--ms", "10", "--json");
    assert_json_ok(&r, "coffee --json");
    cr_assert_eq(num(r.out, "runs.0.cpus"), 1);
    cr_assert_lt(num(r.out, "runs.0.parallel_fraction"), 0.05,
                 "pinned to one CPU, yet threads overlapped: %s", r.out);
    run_free(&r);
}

/* taskset(1) runs a program on the CPUs it names (util-linux, Linux). */
static const char TASKSET[] = "/usr/bin/taskset";

/* coffee's JSON verdict for run i agrees with its numbers. */
static void assert_verdict_fits_the_numbers(const char *doc, int i)
{
    char p[64], verdict[16];
    snprintf(p, sizeof p, "runs.%d.verdict", i);
    cr_assert(tj_str(doc, p, verdict, sizeof verdict), "no %s: %s", p, doc);
    snprintf(p, sizeof p, "runs.%d.cpus", i);
    double cpus = num(doc, p);
    snprintf(p, sizeof p, "runs.%d.parallel_fraction", i);
    double pf = num(doc, p);
    snprintf(p, sizeof p, "runs.%d.others_busy_fraction", i);
    double others = num(doc, p);
    cr_assert(others == -1 || (others >= 0 && others <= 1),
              "others_busy_fraction %g: %s", others, doc);
    const char *want = cpus == 1        ? (pf < 0.1 ? "turns" : "unexpected")
                       : pf >= 0.5      ? "overlap"
                       : others >= 0.15 ? "busy"
                                        : "little";
    cr_assert_str_eq(verdict, want,
                     "run %d: %g CPUs, overlap %g, others %g: %s", i, cpus, pf,
                     others, doc);
}

Test(lab02_coffee, each_run_uses_cpus_it_may_use_and_says_so_in_json)
{
    run_result r = RUN("coffee", "--ms", "5", "--json");
    assert_json_ok(&r, "coffee --json");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < tj_len(r.out, "runs"); i++) {
        char p[64];
        snprintf(p, sizeof p, "runs.%d.cpu_list", i);
        cr_assert_eq(tj_len(r.out, p), i + 1, "run %d names %d CPU(s): %s", i,
                     i + 1, r.out);
        double prev = -1;
        for (int k = 0; k <= i; k++) {
            snprintf(p, sizeof p, "runs.%d.cpu_list.%d", i, k);
            double cpu = num(r.out, p);
            cr_assert(cpu >= 0 && cpu < online && cpu != prev,
                      "run %d: CPU %g is not one of %ld, or twice: %s", i, cpu,
                      online, r.out);
            prev = cpu;
        }
        assert_verdict_fits_the_numbers(r.out, i);
    }
    run_free(&r);
}

Test(lab02_coffee, the_cpus_come_from_the_allowed_set_not_cpu_0)
{
    /* Allowed only CPU 1: the one-machine run must use it (not CPU 0), and
     * there is no second machine to pretend with. */
    if (access(TASKSET, X_OK) != 0 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        cr_skip_test("needs %s and two CPUs", TASKSET);
    char *coffee = strdup(bin_path("coffee"));
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){TASKSET, "-c", "1", coffee,
                                                  "--ms", "5", "--json", NULL},
                    .timeout = 30});
    assert_json_ok(&r, "taskset -c 1 coffee --json");
    cr_assert_eq(tj_len(r.out, "runs"), 1, "%s", r.out);
    cr_assert_eq(tj_len(r.out, "runs.0.cpu_list"), 1, "%s", r.out);
    cr_assert_eq(num(r.out, "runs.0.cpu_list.0"), 1,
                 "allowed only CPU 1, the run used another: %s", r.out);
    assert_verdict_fits_the_numbers(r.out, 0);
    cr_assert(strstr(r.err, "no second coffee machine"), "stderr: %s", r.err);
    run_free(&r);
    free(coffee);
}

/* Start a process that keeps CPU `cpu` busy until SIGTERM, or 40 s at
 * most: timeout(1) ends it even if this test dies before it can. */
static pid_t spin_on(const char *cpu)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        execl("/usr/bin/timeout", "timeout", "40", TASKSET, "-c", cpu,
              "/bin/sh", "-c", "while :; do :; done", (char *)NULL);
        _exit(127);
    }
    return pid;
}

Test(lab02_coffee, the_last_line_claims_parallelism_only_when_the_verdict_does)
{
    /* Two spinners hold CPU 1, and coffee may use only CPUs 0 and 1: its
     * second machine is mostly taken, and the text must not claim
     * parallelism unless its own verdict line saw the threads overlap. */
    if (access(TASKSET, X_OK) != 0 || access("/usr/bin/timeout", X_OK) != 0 ||
        sysconf(_SC_NPROCESSORS_ONLN) < 2)
        cr_skip_test("needs %s, timeout(1) and two CPUs", TASKSET);
    char *coffee = strdup(bin_path("coffee"));
    pid_t spinners[2] = {spin_on("1"), spin_on("1")};
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){TASKSET, "-c", "0,1", coffee,
                                                  "--ms", "20", NULL},
                    .timeout = 30});
    run_result j = run_with(
        &(run_opts){.argv = (const char *const[]){TASKSET, "-c", "0,1", coffee,
                                                  "--ms", "20", "--json", NULL},
                    .timeout = 30});
    for (int i = 0; i < 2; i++) { /* timeout passes SIGTERM on */
        kill(spinners[i], SIGTERM);
        waitpid(spinners[i], NULL, 0);
    }
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    const char *run2 = strstr(r.out, "Run 2:");
    const char *notice = strstr(r.out, "Notice:");
    cr_assert(run2 && notice, "%s", r.out);
    bool overlapped = strstr(run2, "OK, they overlap") != NULL;
    bool little = strstr(run2, "LITTLE OVERLAP") != NULL;
    cr_assert(overlapped != little, "one verdict for run 2: %s", run2);
    bool claims = strstr(notice, "(parallelism)") != NULL;
    cr_assert_eq(claims, overlapped,
                 "the last line %s parallelism, the verdict %s:\n%s",
                 claims ? "claims" : "denies",
                 overlapped ? "saw overlap" : "did not", r.out);
    if (strstr(run2, "other programs used"))
        cr_assert(strstr(notice, "other programs held CPUs"), "%s", r.out);
    assert_json_ok(&j, "coffee --json beside two spinners");
    assert_verdict_fits_the_numbers(j.out, 0);
    assert_verdict_fits_the_numbers(j.out, 1);
    run_free(&r);
    run_free(&j);
    free(coffee);
}

Test(lab02_coffee, timelines_fit_the_terminal_width)
{
    const char *const env[] = {"COLUMNS=50", NULL};
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){"coffee", "--ms", "5", NULL},
                    .env = env,
                    .timeout = 30});
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    size_t rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "  queue ", 8) != 0)
            continue;
        rows++;
        cr_assert_leq(strlen(line), 50, "timeline wider than COLUMNS=50: '%s'",
                      line);
    }
    cr_assert_geq(rows, 4, "expected a timeline per queue and view");
    run_free(&r);
}

Test(lab02_coffee, bad_arguments_exit_2_naming_the_option)
{
    const char *bad[] = {"0", "27", "-1", "abc", "1e3", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("coffee", "--customers", bad[i]);
        assert_usage_error(&r, "--customers");
        run_free(&r);
    }
    run_result r = RUN("coffee", "--queues", "9");
    assert_usage_error(&r, "--queues");
    run_free(&r);
    r = RUN("coffee", "--ms", "2001");
    assert_usage_error(&r, "--ms");
    run_free(&r);
    r = RUN("coffee", "--bogus");
    assert_usage_error(&r, "--bogus");
    run_free(&r);
}

/* ---- parallel and the pool module ---------------------------------------------- */

TestSuite(lab02_parallel, .timeout = 90);

Test(lab02_parallel,
     every_task_result_comes_back_exactly_once_for_both_backends)
{
    enum { N = 24 };
    long long in[N], want[N], got[N];
    for (int i = 0; i < N; i++) {
        in[i] = (i * 7) % N + 1; /* uneven costs */
        want[i] = spin_square(in[i], NULL);
    }
    qsort(want, N, sizeof want[0], cmp_ll);
    for (int b = 0; b < 2; b++)
        for (int jobs = 1; jobs <= 8; jobs++) {
            memset(got, 0, sizeof got);
            pool_error err;
            pool_cfg cfg = {.jobs = jobs,
                            .backend = b ? POOL_PROCESSES : POOL_THREADS};
            cr_assert_eq(pool_map(spin_square, NULL, in, got, N, &cfg, &err), 0,
                         "%s, %d jobs: %s", pool_backend_name(cfg.backend),
                         jobs, err.msg);
            qsort(got, N, sizeof got[0], cmp_ll);
            for (int i = 0; i < N; i++)
                cr_assert_eq(got[i], want[i],
                             "%s, %d jobs: the results are not the tasks' "
                             "results, each once",
                             pool_backend_name(cfg.backend), jobs);
            assert_no_children();
        }
}

Test(lab02_parallel, an_empty_task_list_is_fine)
{
    pool_error err;
    for (int b = 0; b < 2; b++) {
        pool_cfg cfg = {.jobs = 4,
                        .backend = b ? POOL_PROCESSES : POOL_THREADS};
        cr_assert_eq(pool_map(spin_square, NULL, NULL, NULL, 0, &cfg, &err), 0,
                     "%s", err.msg);
    }
    assert_no_children();
    run_result r =
        RUN("parallel", "--tasks", "0", "--backend", "processes", "--json");
    assert_json_ok(&r, "parallel --tasks 0");
    cr_assert_eq(num(r.out, "tasks"), 0);
    bool ok = false;
    cr_assert(tj_bool(r.out, "ok", &ok) && ok, "%s", r.out);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab02_parallel,
     a_worker_that_exits_or_crashes_fails_the_map_naming_its_task)
{
    long long in[20], out[20];
    for (int i = 0; i < 20; i++)
        in[i] = i == 13 ? 13 : 100 + i; /* only task 13 fails */
    for (int jobs = 1; jobs <= 4; jobs += 3) {
        pool_error err;
        pool_cfg cfg = {.jobs = jobs, .backend = POOL_PROCESSES};
        cr_assert_eq(
            pool_map(fail_on_13, NULL, in, out, 20, &cfg, &err), -1,
            "task 13 exits its worker: the map must fail, not drop it");
        cr_assert_eq(err.task, 13, "the error must name task 13: %s", err.msg);
        cr_assert(strstr(err.msg, "task 13") &&
                      strstr(err.msg, "exited with code 5"),
                  "%s", err.msg);
        assert_no_children();
    }
    long long in2[3] = {1, 14, 2};
    pool_error err;
    pool_cfg cfg = {.jobs = 3, .backend = POOL_PROCESSES};
    cr_assert_eq(pool_map(fail_on_13, NULL, in2, out, 3, &cfg, &err), -1);
    cr_assert_eq(err.task, 1, "%s", err.msg);
    cr_assert(strstr(err.msg, "signal 11"), "a segfault should be named: %s",
              err.msg);
    assert_no_children();
}

Test(lab02_parallel, the_program_reports_a_failed_task_and_exits_1)
{
    static const char *const how[] = {"exit", "crash"};
    static const char *const says[] = {"exited with code 3",
                                       "killed by signal 11 (SIGSEGV)"};
    for (int h = 0; h < 2; h++) {
        run_result r = RUN("parallel", "--backend", "processes", "-j", "2",
                           "--tasks", "6", "--size", "3000", "--fail-task", "4",
                           "--fail-how", how[h], "--json");
        cr_assert(!r.timed_out, "parallel hung after a worker failed");
        cr_assert_eq(r.exit_code, 1, "--fail-how %s: status %d, stderr: %s",
                     how[h], r.exit_code, r.err);
        cr_assert(
            strstr(r.err, "task 4") && strstr(r.err, says[h]),
            "--fail-how %s: the message should name task 4 and say '%s': %s",
            how[h], says[h], r.err);
        cr_assert_eq(r.out_len, 0, "no JSON after a failure: %s", r.out);
        cr_assert_eq(r.leftover, 0, "workers left behind");
        run_free(&r);
    }
}

Test(lab02_parallel,
     json_has_the_documented_keys_and_jobs_minus_1_means_all_cpus)
{
    run_result r = RUN("parallel", "-j", "-1", "--tasks", "8", "--size",
                       "20000", "--json");
    cr_assert(!r.timed_out);
    cr_assert(tj_valid(r.out), "not JSON: %s (stderr %s)", r.out, r.err);
    cr_assert_eq(num(r.out, "jobs"), (double)sysconf(_SC_NPROCESSORS_ONLN));
    char b[16];
    cr_assert(tj_str(r.out, "backend", b, sizeof b));
    cr_assert_str_eq(b, "threads");
    cr_assert_eq(num(r.out, "tasks"), 8);
    cr_assert_geq(num(r.out, "seconds"), 0);
    cr_assert_gt(num(r.out, "speedup"), 0);
    bool ok;
    cr_assert(tj_bool(r.out, "ok", &ok));
    run_free(&r);
}

Test(lab02_parallel, verbose_prints_joblib_style_progress_on_stderr)
{
    run_result r = RUN("parallel", "-j", "1", "-v", "--tasks", "8", "--size",
                       "8000", "--backend", "processes");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "[Parallel(n_jobs=1)]: Done 1 tasks | elapsed: "),
              "%s", r.err);
    cr_assert(
        strstr(r.err, "[Parallel(n_jobs=1)]: Done 8 out of 8 | elapsed: "),
        "%s", r.err);
    cr_assert(strstr(r.err, "finished"), "%s", r.err);
    cr_assert(strstr(r.out, "OK"), "%s", r.out);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

/* The signal goes once the workers exist: the program's own progress line
 * ("Using backend ...", printed after the last fork) is the sign, not a
 * guess of how long a start takes under load. */
Test(lab02_parallel, every_stop_signal_kills_and_reaps_every_worker)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (int i = 0; i < 4; i++) {
        run_result r = run_with(&(run_opts){
            .argv = (const char *const[]){"parallel", "--backend", "processes",
                                          "-j", "4", "--tasks", "8", "--size",
                                          "5000000", "-v", NULL},
            .timeout = 30,
            .signal_when = "Using backend MultiprocessingBackend",
            .signal = sigs[i]});
        cr_assert(r.signalled, "the workers never started: %s", r.err);
        cr_assert(!r.timed_out, "parallel did not exit on signal %d", sigs[i]);
        cr_assert_eq(r.signal, sigs[i],
                     "it should die of signal %d, got exit %d signal %d; "
                     "stderr: %s",
                     sigs[i], r.exit_code, r.signal, r.err);
        cr_assert_eq(r.leftover, 0, "workers left behind after signal %d",
                     sigs[i]);
        run_free(&r);
    }
}

/* The liveness rule (pool.h): a worker stopped with SIGSTOP holds its task
 * forever; after 10 s of it the map fails, naming the worker and how. */
Test(lab02_parallel, a_stopped_worker_fails_the_map_by_name_instead_of_hanging)
{
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"parallel", "--backend", "processes",
                                      "-j", "2", "--tasks", "4", "--size",
                                      "5000000", "-v", NULL},
        .timeout = 60,
        .signal_when = "Using backend MultiprocessingBackend",
        .signal_child = true,
        .signal = SIGSTOP});
    cr_assert(r.signalled, "no worker to stop: %s", r.err);
    cr_assert(!r.timed_out, "one stopped worker hung the whole map");
    cr_assert_eq(r.exit_code, 1, "exit %d signal %d; stderr: %s", r.exit_code,
                 r.signal, r.err);
    cr_assert(strstr(r.err, "stopped by signal 19 (SIGSTOP)") ||
                  strstr(r.err, "SIGSTOP"),
              "the message must say the worker was stopped: %s", r.err);
    cr_assert(strstr(r.err, "made no progress"), "%s", r.err);
    cr_assert_eq(r.leftover, 0, "the stopped worker was left behind");
    run_free(&r);
}

Test(lab02_parallel, bad_arguments_exit_2_naming_the_option)
{
    const char *bad_j[] = {
        "0", "-2", "257", "abc", "1e3", "", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_j / sizeof bad_j[0]; i++) {
        run_result r = RUN("parallel", "--jobs", bad_j[i]);
        assert_usage_error(&r, "--jobs");
        run_free(&r);
    }
    struct {
        const char *a[6];
        const char *mention;
    } cases[] = {
        {{"--backend", "gpu"}, "--backend"},
        {{"--tasks", "-1"}, "--tasks"},
        {{"--size", "0"}, "--size"},
        {{"--fail-task", "16", "--backend", "processes"}, "--fail-task"},
        {{"--fail-task", "1"}, "--fail-task"},
        {{"--fail-task", "1", "--backend", "processes", "--fail-how", "melt"},
         "--fail-how"},
        {{"--fail-how", "exit"}, "--fail-how"},
        {{"--tasks"}, "--tasks"},
        {{"--nope"}, "--nope"},
        {{"stray"}, "stray"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[8] = {"parallel"};
        for (int k = 0; k < 6 && cases[i].a[k]; k++)
            argv[k + 1] = cases[i].a[k];
        run_result r = run_with(&(run_opts){.argv = argv});
        assert_usage_error(&r, cases[i].mention);
        run_free(&r);
    }
}
