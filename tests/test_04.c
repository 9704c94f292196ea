/*
 * test_04.c - lab 04: the bounded queue module (bq_*) on its own, and the
 * programs ./queue, ./pipe, ./mpqueue and ./shm.
 *
 * Behaviour only, never timings.  "Blocks" is observed through the queue's
 * own counters (a put that found the queue full and waits has counted
 * itself in put_waits) and through the fact that the call has not returned;
 * "no busy loop" is the blocked thread's own CPU time, not the clock.
 *
 * The graded exercises, bq_put (04.1) and bq_get (04.2), are tested in
 * test_04_exercises.c; the lab04_* suites here use only what the handout
 * gives, so they pass on the handout too.  Shared helpers (threads that call
 * bq_*, the many-thread load, reading --json): lab04_support.h.
 */
#include "lab04_support.h"
#include "tjson.h"

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

/* Interrupt a long run once it has forked a child: it must end at once,
 * leave no child and no IPC object behind, and die of the signal (or exit
 * non-zero). */
static void assert_interrupt_is_clean(const char *const *argv, int sig)
{
    int before = kit_ipc_objects();
    run_result r = run_with(&(run_opts){
        .argv = argv, .timeout = 20, .signal = sig, .signal_at_workers = 1});
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
        cr_assert_eq(bq_try_put(&q, as_item(v)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, as_item(4)), BQ_FULL,
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
        while (bq_try_put(&q, as_item(next_in)) == BQ_OK)
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
    void *it = as_item(42);
    cr_assert_eq(bq_get_timed(&q, &it, 50), BQ_TIMEOUT);
    cr_assert_eq((uintptr_t)it, 42, "a timed-out get must not touch *item");
    cr_assert_eq(bq_get_timed(&q, &it, 0), BQ_TIMEOUT, "timeout 0 is a poll");
    bq_destroy(&q);
}

Test(lab04_bq, timed_put_on_a_full_queue_times_out_and_keeps_the_queue_intact)
{
    bq q;
    bq_init(&q, 1);
    cr_assert_eq(bq_put_timed(&q, as_item(1), 50), BQ_OK);
    cr_assert_eq(bq_put_timed(&q, as_item(2), 50), BQ_TIMEOUT);
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
    pthread_t t = call_start(do_get_timed, &c);
    await_waits(&q, false, 1, &c, 1);
    cr_assert_eq(bq_try_put(&q, as_item(7)), BQ_OK);
    /* a missed wakeup would hang here until the suite times out */
    call_join(t);
    cr_assert_eq(c.status, BQ_OK);
    cr_assert_eq((uintptr_t)c.got, 7);
    bq_destroy(&q);
}

Test(lab04_bq, close_makes_puts_fail_and_lets_gets_drain_what_is_left)
{
    bq q;
    bq_init(&q, 4);
    cr_assert_eq(bq_try_put(&q, as_item(1)), BQ_OK);
    cr_assert_eq(bq_try_put(&q, as_item(2)), BQ_OK);
    bq_close(&q);
    cr_assert_eq(bq_try_put(&q, as_item(3)), BQ_CLOSED);
    cr_assert_eq(bq_put_timed(&q, as_item(3), 10), BQ_CLOSED);
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
        t[i] = call_start(do_get_timed, &g[i]);
    }
    await_waits(&q, false, N, g, N);
    bq_close(&q);
    for (int i = 0; i < N; i++) {
        call_join(t[i]);
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
        cr_assert_eq(bq_try_put(&q, as_item(v)), BQ_OK);
    void *it;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(bq_try_get(&q, &it), BQ_OK);
        bq_task_done(&q);
    }
    bq_join(&q); /* would hang if the count were wrong */
    bq_destroy(&q);
}

/* ---- ./queue: what needs no exercise ----------------------------------------- */

TestSuite(lab04_queue, .timeout = 60);

Test(lab04_queue, spin_mode_also_delivers_exactly_once_and_reports_cpu)
{
    run_result r = RUN("queue", "--spin", "-p", "2", "-c", "2", "-k", "4", "-n",
                       "4000", "--json");
    const char *doc = json_of(&r, "queue --spin");
    cr_assert(json_flag(doc, "exactly_once"), "%s", doc);
    cr_assert(json_flag(doc, "spin"));
    cr_assert(tj_has(doc, "cpu_seconds"));
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(lab04_queue, slow_producers_with_spin_still_deliver_exactly_once)
{
    run_result r = RUN("queue", "--spin", "-p", "1", "-c", "2", "-n", "50",
                       "--produce-us", "200", "--json");
    const char *doc = json_of(&r, "queue --spin --produce-us");
    cr_assert(json_flag(doc, "exactly_once"), "%s", doc);
    cr_assert_gt(json_num(doc, "get_waits"), 0,
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

/* The watchdog path (exit 3) is a result too: --json still gets JSON. */
Test(lab04_pipe, forget_close_with_json_reports_the_stall_as_json)
{
    run_result r = RUN("pipe", "-n", "200", "--forget-close", "--json");
    cr_assert_eq(r.exit_code, 3, "stderr: %s", r.err);
    cr_assert(tj_valid(r.out), "no JSON on the watchdog path: '%s'", r.out);
    bool stall = false;
    cr_assert(tj_bool(r.out, "stall", &stall) && stall, "%s", r.out);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_pipe, socketpair_with_forget_close_does_not_suggest_forget_close)
{
    run_result r =
        RUN("pipe", "-n", "200", "-m", "socketpair", "--forget-close");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_null(strstr(r.out, "try --forget-close"), "%s", r.out);
    run_free(&r);
}

Test(lab04_pipe, round_trips_every_record_over_pipe_and_socketpair)
{
    run_result r = RUN("pipe", "-n", "3000", "--json");
    const char *doc = json_of(&r, "pipe");
    cr_assert_eq(json_num(doc, "records"), 3000);
    cr_assert_eq(json_num(doc, "verified"), 3000, "every reply must match: %s",
                 doc);
    cr_assert_gt(json_num(doc, "bytes_per_sec"), 0);
    cr_assert_eq(tj_len(doc, "runs"), 2);
    char mode[32];
    cr_assert(tj_str(doc, "runs.1.mode", mode, sizeof mode));
    cr_assert_str_eq(mode, "socketpair");
    cr_assert_eq(json_num(doc, "runs.1.verified"), 3000);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0, "the child must be reaped");
    run_free(&r);
}

Test(lab04_pipe, records_larger_than_pipe_buf_still_arrive_whole)
{
    run_result r = RUN("pipe", "-n", "40", "-s", "64K", "-m", "pipe", "--json");
    const char *doc = json_of(&r, "pipe -s 64K");
    cr_assert_eq(json_num(doc, "verified"), 40, "%s", doc);
    cr_assert_gt(json_num(doc, "record_size"), json_num(doc, "pipe_buf"));
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
    cr_assert_eq(json_num(doc, "verified"), 200);
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
    run_result r = RUN("mpqueue", "-p", ps, "-c", cs, "-n", ns, "--transport",
                       transport, "--json");
    if (strcmp(transport, "mq") == 0 && r.exit_code == 1 &&
        strstr(r.err, "mq_open")) {
        run_free(&r);
        cr_skip_test("POSIX message queues are not available here");
    }
    const char *doc = json_of(&r, "mpqueue");
    cr_assert(json_flag(doc, "exactly_once"), "-p %d -c %d -t %s: %s", p, c,
              transport, doc);
    cr_assert_eq(json_num(doc, "items"), n);
    cr_assert_eq(json_num(doc, "delivered"), n);
    cr_assert_eq(json_num(doc, "missing"), 0);
    cr_assert_eq(json_num(doc, "duplicates"), 0);
    cr_assert_eq(json_num(doc, "producers"), p);
    cr_assert_eq(json_num(doc, "consumers"), c);
    cr_assert_eq(json_num(doc, "fds_leaked"), 0,
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
    cr_assert(json_flag(doc, "exactly_once"), "%s", doc);
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
    assert_interrupt_is_clean((const char *const[]){"mpqueue", "-n", "10000000",
                                                    "--transport", "mq", NULL},
                              SIGTERM);
}

Test(lab04_mpqueue,
     join_first_json_still_prints_its_object_when_the_watchdog_fires)
{
    run_result r = RUN("mpqueue", "-n", "100000", "--join-first", "--json");
    cr_assert_eq(r.exit_code, 3, "exit %d; stderr: %s", r.exit_code, r.err);
    const char *doc = json_of(&r, "mpqueue --join-first --json (watchdog)");
    char kind[32] = "";
    cr_assert(tj_str(doc, "watchdog", kind, sizeof kind), "%s", doc);
    cr_assert_str_eq(kind, "deadlock", "%s", doc);
    cr_assert(json_flag(doc, "deadlock"), "%s", doc);
    cr_assert(!json_flag(doc, "exactly_once"), "%s", doc);
    cr_assert_eq(json_num(doc, "items"), 100000);
    cr_assert(strstr(r.err, "watchdog"), "one line on stderr still: %s", r.err);
    cr_assert_eq(r.leftover, 0, "the stuck children must be killed and reaped");
    run_free(&r);
}

/*
 * Runs driven from outside: stop the whole group, kill the parent, kill one
 * child.  The harness runs a program start to end, so these start ./mpqueue
 * themselves, in its own process group (as a shell job is), with stdout and
 * stderr in files.  The readiness sign is the program's own: all its P + C
 * children exist (/proc/PID/task/PID/children, Linux).  We make ourselves a
 * child subreaper (as the harness does), so children orphaned by a killed
 * parent become ours to count and reap.
 */
#ifdef __linux__
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* The children of pid, in the order they were forked; how many. */
static int mp_children(pid_t pid, pid_t *kids, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
             (long)pid);
    FILE *f = fopen(path, "r");
    int n = 0;
    char line[4096];
    if (f && fgets(line, sizeof line, f)) {
        char *p = line, *end;
        for (long k; n < max && (k = strtol(p, &end, 10)) > 0; p = end)
            kids[n++] = (pid_t)k;
    }
    if (f)
        fclose(f);
    return n;
}

/* Start ./mpqueue (argv[0] == "mpqueue") in its own group, output in
 * dir/out and dir/err; return once its nchildren children all exist, with
 * their pids in kids[].  -1 if it ended first (its stderr says why). */
static pid_t mp_start(const char *const *argv, const char *dir, int nchildren,
                      pid_t *kids)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    char *out = path_join(dir, "out"), *err = path_join(dir, "err");
    const char *prog = bin_path(argv[0]);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(127);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    free(out);
    free(err);
    double t0 = kit_now();
    while (mp_children(pid, kids, nchildren) < nchildren) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        cr_assert(kit_now() - t0 < 20, "mpqueue never forked its %d children",
                  nchildren);
        kit_sleep_ms(1);
    }
    return pid;
}

/* Reap pid (within 20 s, or kill its group and fail): its wait status. */
static int mp_wait(pid_t pid)
{
    double t0 = kit_now();
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (kit_now() - t0 > 20) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("mpqueue did not end within 20 s");
        }
        kit_sleep_ms(5);
    }
    return st;
}

/* After pid has been reaped: how many processes of its group are still
 * running `grace` seconds later (orphans come to us, the subreaper, and are
 * reaped as they end).  The rest are killed and reaped. */
static int mp_still_running(pid_t pgid, double grace)
{
    double t0 = kit_now();
    for (;;) {
        while (waitpid(-pgid, NULL, WNOHANG) > 0) {
            /* reap what has ended */
        }
        if (kill(-pgid, 0) != 0) /* ESRCH: nothing of the group left */
            return 0;
        if (kit_now() - t0 > grace)
            break;
        kit_sleep_ms(10);
    }
    int left = 0;
    kill(-pgid, SIGKILL);
    while (waitpid(-pgid, NULL, 0) > 0)
        left++;
    return left;
}

static char *mp_file(const char *dir, const char *name)
{
    char *path = path_join(dir, name);
    char *text = read_file(path, NULL);
    free(path);
    cr_assert(text, "no %s file", name);
    return text;
}
#endif

Test(lab04_mpqueue, stopping_and_continuing_the_whole_group_is_not_a_stall)
{
#ifndef __linux__
    cr_skip_test("needs /proc/PID/task/PID/children (Linux)");
#else
    /* Ctrl-Z then fg: every process of the group stopped for 5 times the
     * watchdog's limit, then continued.  A stop is not a stall: the run
     * must finish, exactly once. */
    char *dir = make_tmpdir();
    pid_t kids[4];
    pid_t pid = mp_start((const char *const[]){"mpqueue", "-p", "2", "-c", "2",
                                               "-n", "1000000", "--watchdog",
                                               "100", "--json", NULL},
                         dir, 4, kids);
    cr_assert_gt(pid, 0, "mpqueue ended early: %s", mp_file(dir, "err"));
    cr_assert_eq(kill(-pid, SIGSTOP), 0);
    kit_sleep_ms(500); /* stopped > --watchdog 100: the condition under test */
    cr_assert_eq(kill(-pid, SIGCONT), 0);
    int st = mp_wait(pid);
    char *out = mp_file(dir, "out"), *err = mp_file(dir, "err");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "a stopped-then-continued run must finish (status %#x): %s%s", st,
              out, err);
    cr_assert(tj_valid(out), "not JSON: %s", out);
    cr_assert(json_flag(out, "exactly_once"), "%s", out);
    cr_assert_eq(json_num(out, "delivered"), 1000000);
    cr_assert_eq(mp_still_running(pid, 2), 0, "a child outlived the run");
    free(out);
    free(err);
    rm_rf(dir);
    free(dir);
#endif
}

Test(lab04_mpqueue, mq_children_all_end_when_the_parent_is_killed)
{
#ifndef __linux__
    cr_skip_test("needs /proc/PID/task/PID/children (Linux)");
#else
    /* SIGKILL cannot be caught: the parent cleans nothing up.  Consumers
     * then die on the result pipe (EPIPE) or notice getppid() changed;
     * producers, blocked on a full queue nobody empties, must notice too. */
    int before = kit_ipc_objects();
    char *dir = make_tmpdir();
    pid_t kids[4];
    pid_t pid =
        mp_start((const char *const[]){"mpqueue", "--transport", "mq", "-p",
                                       "2", "-c", "2", "-n", "10000000", NULL},
                 dir, 4, kids);
    if (pid < 0) {
        char *err = mp_file(dir, "err");
        bool no_mq = strstr(err, "mq_open") != NULL;
        cr_assert(no_mq, "mpqueue --transport mq ended early: %s", err);
        free(err);
        rm_rf(dir);
        cr_skip_test("POSIX message queues are not available here");
    }
    cr_assert_eq(kill(pid, SIGKILL), 0);
    int st = mp_wait(pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* each child looks at getppid() at least once a second; 15 s is
     * "not forever", with room for a loaded machine */
    int left = mp_still_running(pid, 15);
    cr_assert_eq(left, 0,
                 "%d child(ren) still running 15 s after the parent died by "
                 "SIGKILL (blocked in mq_send?)",
                 left);
    /* the queue was unlinked at birth: no name in /dev/mqueue even now */
    cr_assert_leq(kit_ipc_objects(), before,
                  "a kit-mpqueue-* entry was left in /dev/mqueue");
    rm_rf(dir);
    free(dir);
#endif
}

Test(lab04_mpqueue,
     a_killed_child_is_named_with_how_it_died_and_the_run_exits_1)
{
#ifndef __linux__
    cr_skip_test("needs /proc/PID/task/PID/children (Linux)");
#else
    /* children are forked producers first: kids[0] is producer 0, kids[3]
     * consumer 1 (with -p 2 -c 2) */
    static const struct {
        int index;
        const char *name;
    } victims[] = {{0, "producer 0"}, {3, "consumer 1"}};
    for (size_t v = 0; v < sizeof victims / sizeof victims[0]; v++) {
        char *dir = make_tmpdir();
        pid_t kids[4];
        pid_t pid = mp_start((const char *const[]){"mpqueue", "-p", "2", "-c",
                                                   "2", "-n", "10000000",
                                                   "--watchdog", "60000", NULL},
                             dir, 4, kids);
        cr_assert_gt(pid, 0, "mpqueue ended early: %s", mp_file(dir, "err"));
        pid_t victim = kids[victims[v].index];
        cr_assert_eq(kill(victim, SIGKILL), 0);
        int st = mp_wait(pid);
        char *err = mp_file(dir, "err");
        char want[128];
        snprintf(want, sizeof want, "%s (pid %ld) killed by signal 9 (SIGKILL)",
                 victims[v].name, (long)victim);
        cr_assert(strstr(err, want), "stderr must say \"%s\", got: %s", want,
                  err);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "a run with a killed child exits 1 (status %#x): %s", st,
                  err);
        cr_assert_eq(count_substr(err, "\n"), 1, "one message: %s", err);
        cr_assert_eq(mp_still_running(pid, 2), 0,
                     "the other children must be killed and reaped");
        free(err);
        rm_rf(dir);
        free(dir);
    }
#endif
}

/* ---- ./shm ----------------------------------------------------------------------- */

TestSuite(lab04_shm, .timeout = 60);

Test(lab04_shm, private_stays_0_unlocked_never_exceeds_and_locked_is_exact)
{
    run_result r = RUN("shm", "--processes", "4", "-n", "200000", "--json");
    const char *doc = json_of(&r, "shm");
    cr_assert_eq(json_num(doc, "processes"), 4);
    cr_assert_eq(json_num(doc, "iterations"), 200000);
    cr_assert_eq(tj_len(doc, "results"), 3);
    const char *modes[] = {"private", "shared-unsafe", "shared-locked"};
    for (int i = 0; i < 3; i++) {
        char path[32], mode[32];
        snprintf(path, sizeof path, "results.%d.mode", i);
        cr_assert(tj_str(doc, path, mode, sizeof mode));
        cr_assert_str_eq(mode, modes[i]);
        snprintf(path, sizeof path, "results.%d.expected", i);
        cr_assert_eq(json_num(doc, path), 800000);
    }
    cr_assert_eq(json_num(doc, "results.0.got"), 0,
                 "private memory: the parent's copy must stay 0: %s", doc);
    cr_assert_leq(json_num(doc, "results.1.got"), 800000,
                  "a race loses updates, never adds: %s", doc);
    cr_assert_eq(json_num(doc, "results.1.lost"),
                 800000 - json_num(doc, "results.1.got"));
    cr_assert_eq(json_num(doc, "results.2.got"), 800000,
                 "the locked counter must be exact: %s", doc);
    cr_assert_eq(json_num(doc, "results.2.lost"), 0);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_shm, locked_mode_alone_is_exact_for_many_processes)
{
    run_result r = RUN("shm", "-m", "shared-locked", "--processes", "16", "-n",
                       "5000", "--json");
    const char *doc = json_of(&r, "shm -m shared-locked");
    cr_assert_eq(tj_len(doc, "results"), 1);
    cr_assert_eq(json_num(doc, "results.0.got"), 80000, "%s", doc);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab04_shm, one_process_says_why_nothing_is_lost_instead_of_lucky)
{
    run_result r =
        RUN("shm", "--processes", "1", "-n", "100000", "-m", "shared-unsafe");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "one process has no one to race"), "%s", r.out);
    cr_assert(strstr(r.out, "nobody else stores between its load and its"),
              "one process must say why nothing is lost: %s", r.out);
    cr_assert_null(strstr(r.out, "lucky"), "%s", r.out);
    cr_assert_null(strstr(r.out, "DATA RACE"), "%s", r.out);
    run_free(&r);

    r = RUN("shm", "--processes", "1", "-n", "100000", "-m", "shared-unsafe",
            "--json");
    const char *doc = json_of(&r, "shm --processes 1");
    cr_assert_eq(json_num(doc, "results.0.lost"), 0, "%s", doc);
    cr_assert(!json_flag(doc, "results.0.together"), "%s", doc);
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
        .argv = (const char *const[]){taskset, "-c", "0", shm, "--processes",
                                      "3", "-n", "1000", "-m", "shared-unsafe",
                                      "--json", NULL},
        .timeout = 30});
    const char *doc = json_of(&r, "taskset -c 0 shm");
    cr_assert(!json_flag(doc, "results.0.together"),
              "one CPU, yet the children were called together: %s", doc);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);

    r = run_with(&(run_opts){
        .argv =
            (const char *const[]){taskset, "-c", "0", shm, "--processes", "2",
                                  "-n", "1000", "-m", "shared-unsafe", NULL},
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
    run_result r = RUN("shm", "--processes", "2", "-n", "1000");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "PRIVATE"), "%s", r.out);
    cr_assert(strstr(r.out, "shared-locked"), "%s", r.out);
    cr_assert(strstr(r.out, "expected"), "%s", r.out);
    run_free(&r);
}

Test(lab04_shm,
     interrupt_kills_and_reaps_every_child_and_leaves_nothing_in_dev_shm)
{
    assert_interrupt_is_clean((const char *const[]){"shm", "--processes", "4",
                                                    "-n", "100000000", "-m",
                                                    "shared-locked", NULL},
                              SIGINT);
    assert_interrupt_is_clean((const char *const[]){"shm", "--processes", "4",
                                                    "-n", "100000000", NULL},
                              SIGTERM);
}

/* ---- bad arguments: exit 2, one line naming the option ----------------------------- */

/* The liveness rule (shm.c): a child stopped with SIGSTOP never ends, and in
 * shared-locked mode it may hold the lock; after 5 s of it the run fails,
 * naming the child and how, and leaves no child behind. */
Test(lab04_shm, a_stopped_child_fails_the_run_by_name_instead_of_hanging)
{
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"shm", "--processes", "2", "-n",
                                      "100000000", "-m", "shared-locked", NULL},
        .timeout = 40,
        .signal_after_ms = 300,
        .signal_child = true,
        .signal = SIGSTOP});
    cr_assert(r.signalled, "no child to stop: %s", r.err);
    cr_assert(!r.timed_out, "one stopped child hung the whole run");
    cr_assert_eq(r.exit_code, 1, "exit %d signal %d; stderr: %s", r.exit_code,
                 r.signal, r.err);
    cr_assert(strstr(r.err, "stopped by signal") && strstr(r.err, "SIGSTOP"),
              "the message must say the child was stopped: %s", r.err);
    cr_assert(strstr(r.err, "made no progress"), "%s", r.err);
    cr_assert_eq(r.leftover, 0, "the stopped child was left behind");
    run_free(&r);
}

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
        {{"mpqueue", "--transport", "carrier-pigeon"}, "--transport"},
        {{"mpqueue", "--transport", ""}, "--transport"},
        {{"mpqueue", "--join-first", "extra"}, "extra"},
        {{"mpqueue", "--nope"}, "--nope"},
    };
    check_bad(cases, NCASES(cases));
}

Test(lab04_args, shm_rejects_bad_arguments_naming_the_option)
{
    static const bad_case cases[] = {
        {{"shm", "--processes", "0"}, "--processes"},
        {{"shm", "--processes", "65"}, "--processes"},
        {{"shm", "-n", "abc"}, "--iterations"},
        {{"shm", "-n", "100000001"}, "--iterations"},
        {{"shm", "-m", "shared"}, "--mode"},
        {{"shm", "-m"}, "-m"},
        {{"shm", "--what"}, "--what"},
    };
    check_bad(cases, NCASES(cases));
}
