/*
 * test_02_exercises.c - lab 02's graded exercises, in their own suites so
 * that the lab02_* suites (test_02.c) also pass on the handout, where the
 * fixes are stubs:
 *   ex02_pool_order  02.1  results stored in input order (pool.c)
 *   ex02_gil_io      02.2  the GIL released around blocking I/O (gil.c)
 *
 * Behaviour only, never timings.
 */
#include "lab02_support.h"
#include "tjson.h"

#include "../02-threads/pool.h"

#include <stdbool.h>
#include <stdio.h>

/* ---- exercise 02.1: results in input order (pool.c, store_result) --------------- */

EXERCISE(ex02_pool_order, "02",
         "the parallel map returns results in input order", 4);

Test(ex02_pool_order,
     results_are_in_input_order_for_both_backends_and_1_to_8_jobs)
{
    /* Task 0 is by far the longest: with 2+ workers it finishes last, so
     * storing results in arrival order would put them in the wrong places. */
    enum { N = 12 };
    long long in[N], want[N], got[N];
    in[0] = 20000;
    for (int i = 1; i < N; i++)
        in[i] = i;
    for (int i = 0; i < N; i++)
        want[i] = spin_square(in[i], NULL);
    for (int b = 0; b < 2; b++)
        for (int jobs = 1; jobs <= 8; jobs++) {
            pool_error err;
            pool_cfg cfg = {.jobs = jobs,
                            .backend = b ? POOL_PROCESSES : POOL_THREADS};
            cr_assert_eq(pool_map(spin_square, NULL, in, got, N, &cfg, &err), 0,
                         "%s", err.msg);
            for (int i = 0; i < N; i++)
                cr_assert_eq(got[i], want[i],
                             "%s backend, %d jobs: out[%d] is %lld, should be "
                             "f(in[%d]) = %lld. "
                             "Results arrive in completion order; each carries "
                             "its task's "
                             "index: store it there (store_result in pool.c).",
                             pool_backend_name(cfg.backend), jobs, i, got[i], i,
                             want[i]);
        }
}

Test(ex02_pool_order, more_jobs_than_tasks_still_gives_every_result_in_place)
{
    long long in[3] = {20000, 1, 2}, got[3] = {0, 0, 0};
    for (int b = 0; b < 2; b++) {
        pool_error err;
        pool_cfg cfg = {.jobs = 8,
                        .backend = b ? POOL_PROCESSES : POOL_THREADS};
        cr_assert_eq(pool_map(spin_square, NULL, in, got, 3, &cfg, &err), 0,
                     "%s", err.msg);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(got[i], in[i] * in[i] + 1,
                         "%s backend, 8 jobs, 3 tasks: out[%d]",
                         pool_backend_name(cfg.backend), i);
        assert_no_children();
    }
}

Test(ex02_pool_order,
     the_program_checks_its_results_against_the_sequential_loop)
{
    static const char *const backends[] = {"threads", "processes"};
    for (int b = 0; b < 2; b++)
        for (int j = 1; j <= 8; j *= 2) {
            char js[8];
            snprintf(js, sizeof js, "%d", j);
            run_result r = RUN("parallel", "-j", js, "--backend", backends[b],
                               "--tasks", "10", "--size", "30000", "--json");
            cr_assert(!r.timed_out, "parallel hung");
            cr_assert(tj_valid(r.out), "not JSON: %s (stderr: %s)", r.out,
                      r.err);
            bool ok = false;
            cr_assert(tj_bool(r.out, "ok", &ok) && ok,
                      "-j %d --backend %s: results differ from the sequential "
                      "loop's (%s): "
                      "the pool must return f(xs[i]) at index i (store_result "
                      "in pool.c)",
                      j, backends[b], r.out);
            cr_assert_eq(r.exit_code, 0,
                         "ok is true, so the status should be 0: %d",
                         r.exit_code);
            cr_assert_eq(r.leftover, 0);
            run_free(&r);
        }
}

/* ---- exercise 02.2: the GIL released around blocking I/O (gil.c) -------------- */

EXERCISE(ex02_gil_io, "02", "release the GIL around blocking I/O", 4);

Test(ex02_gil_io, io_bound_threads_wait_at_the_same_time_even_with_the_gil)
{
    run_result r = RUN("gil", "-t", "4", "--cpu-ms", "10", "--json");
    assert_json_ok(&r, "gil -t 4 --json");
    cr_assert_geq(
        num(r.out, "runs.2.max_waiting"), 2,
        "io + GIL: never more than one thread waiting at once, so the waits "
        "happened one after another. A thread about to block needs no "
        "interpreter: release the GIL before the sleep and take it back after "
        "(blocking_io in gil.c), as Py_BEGIN/END_ALLOW_THREADS do.");
    cr_assert_leq(num(r.out, "runs.2.max_running"), 1,
                  "but bytecode must still run one thread at a time");
    run_free(&r);
}
