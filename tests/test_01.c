/*
 * test_01.c - lab 01, processes: ./fork (its five lessons) and ./spawn.
 *
 * What fork() copies and what it shares, checked from the outside: the
 * memory lesson's parent values stay put, the buffer pitfall duplicates a
 * line through a pipe (and the fix does not), the zombie is seen and then
 * reaped, spawn's JSON adds up, and every bad argument is a one-line usage
 * error.  The graded exercises (ex01_*: the wait-status decoding, 01.1,
 * and spawn reaping every child it makes, 01.2) are in
 * test_01_exercises.c.
 *
 * Whether spawn leaves zombies is exercise 01.2's test, so lab01_spawn does
 * not assert r.leftover: on the handout's stub, exactly ex01_reap fails.
 */
#include "lab01_support.h"
#include "tjson.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first entry of dir whose name starts with prefix ("" for any), or
 * NULL: copied into buf. */
static const char *leftover_in(const char *dir, const char *prefix, char *buf,
                               size_t n)
{
    DIR *d = opendir(dir);
    cr_assert(d, "opendir %s", dir);
    const struct dirent *e;
    const char *found = NULL;
    while (!found && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(buf, n, "%s", e->d_name);
            found = buf;
        }
    closedir(d);
    return found;
}

static bool dir_is_empty(const char *dir)
{
    char name[256];
    return leftover_in(dir, "", name, sizeof name) == NULL;
}

/* The number right after `label` in s (e.g. "pid " in "I am pid 42"). */
static long number_after(const char *s, const char *label)
{
    const char *at = strstr(s, label);
    cr_assert(at, "no '%s' in: %s", label, s);
    char *end;
    long v = strtol(at + strlen(label), &end, 10);
    cr_assert(end != at + strlen(label), "no number after '%s' in: %s", label,
              s);
    return v;
}

/* ---- fork ------------------------------------------------------------------ */

TestSuite(lab01_fork, .timeout = 60);

Test(lab01_fork, memory_json_shows_the_child_changed_only_its_own_copy)
{
    run_result r = RUN("fork", "memory", "--json");
    assert_clean_exit(&r, "fork memory --json");
    cr_assert(tj_valid(r.out), "not one valid JSON document: %s", r.out);
    cr_assert_eq(tj_len(r.out, ""), 3,
                 "expected exactly before, child_after, "
                 "parent_after: %s",
                 r.out);
    double before, child, parent;
    cr_assert(tj_num(r.out, "before", &before) &&
                  tj_num(r.out, "child_after", &child) &&
                  tj_num(r.out, "parent_after", &parent),
              "missing keys: %s", r.out);
    cr_assert_neq(child, before,
                  "the child's change is not visible to the child: %s", r.out);
    cr_assert_eq(parent, before,
                 "the parent's copy changed, as if memory were "
                 "shared: %s",
                 r.out);
    run_free(&r);
}

Test(lab01_fork, memory_table_finds_all_three_parent_copies_unchanged)
{
    run_result r = RUN("fork", "memory");
    assert_clean_exit(&r, "fork memory");
    cr_assert_eq(count_substr(r.out, "OK: parent's copy unchanged"), 3,
                 "global, heap and stack rows should all be OK:\n%s", r.out);
    cr_assert(!strstr(r.out, "UNEXPECTED") && !strstr(r.out, "CHANGED"), "%s",
              r.out);
    run_free(&r);
}

Test(lab01_fork, basics_shows_fork_returning_in_both_processes)
{
    run_result r = RUN("fork", "basics");
    assert_clean_exit(&r, "fork basics");
    /* The child's own pid and parent must match what the parent saw. */
    const char *c = strstr(r.out, "child:  fork() returned 0;");
    const char *p = strstr(r.out, "parent: fork() returned ");
    cr_assert(c && p, "both processes should report fork()'s return:\n%s",
              r.out);
    long child_pid = number_after(c, "I am pid ");
    long child_ppid = number_after(c, "my parent is ");
    long returned = number_after(p, "fork() returned ");
    long parent_pid = number_after(p, "I am pid ");
    cr_assert_eq(returned, child_pid,
                 "fork() in the parent returns the child's pid");
    cr_assert_eq(child_ppid, parent_pid,
                 "the child's parent is the process that forked");
    run_free(&r);
}

Test(lab01_fork, buffer_duplicates_the_unflushed_line_when_stdout_is_a_pipe)
{
    run_result r = RUN("fork", "buffer"); /* the harness's stdout is a pipe */
    assert_clean_exit(&r, "fork buffer");
    cr_assert_eq(
        count_substr(r.out, "-> this line was printed once"), 2,
        "through a pipe, the line printed before fork() without fflush() "
        "must come out twice:\n%s",
        r.out);
    run_free(&r);
}

Test(lab01_fork, buffer_with_the_fix_prints_the_line_once)
{
    run_result r = RUN("fork", "buffer", "--fix");
    assert_clean_exit(&r, "fork buffer --fix");
    cr_assert_eq(count_substr(r.out, "-> this line was printed once"), 1,
                 "fflush() before fork() leaves nothing to duplicate:\n%s",
                 r.out);
    run_free(&r);
}

Test(lab01_fork, files_share_one_offset_and_remove_the_temp_file)
{
    char *dir = make_tmpdir();
    char env[4200];
    snprintf(env, sizeof env, "TMPDIR=%s", dir);
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){"fork", "files", NULL},
                    .env = (const char *const[]){env, NULL}});
    assert_clean_exit(&r, "fork files");
    cr_assert(strstr(r.out, "expected 6 lines, got 6: OK"),
              "one shared offset: all 6 lines kept:\n%s", r.out);
    cr_assert(strstr(r.out, "expected 3 lines (3 writes lost), got 3: OK"),
              "two offsets: the writes overlap:\n%s", r.out);
    /* 6 lines through the shared offset (3 each), then 3 that overlapped. */
    size_t parent = count_substr(r.out, "| parent line ");
    size_t child = count_substr(r.out, "| child  line ");
    cr_assert(
        parent >= 3 && child >= 3 && parent + child == 9,
        "expected 3 + 3 lines, then 3 more; got %zu from the parent and %zu "
        "from the child:\n%s",
        parent, child, r.out);
    cr_assert(dir_is_empty(dir), "the temp file was left in %s", dir);
    rm_rf(dir);
    free(dir);
    run_free(&r);
}

Test(lab01_fork, zombie_lesson_sees_state_Z_then_reaps_the_child)
{
    run_result r = RUN("fork", "zombie", "--seconds", "0");
    assert_clean_exit(&r, "fork zombie");
    cr_assert(strstr(r.out, ": Z (zombie"),
              "the exited child should be seen in "
              "state Z before waitpid():\n%s",
              r.out);
    cr_assert(strstr(r.out, "expected: gone   OK"),
              "after waitpid() the child "
              "should be gone:\n%s",
              r.out);
    run_free(&r);
}

Test(lab01_fork, no_lesson_runs_all_five_and_leaves_nothing_behind)
{
    char *dir = make_tmpdir();
    char env[4200];
    snprintf(env, sizeof env, "TMPDIR=%s", dir);
    run_result r =
        run_with(&(run_opts){.argv = (const char *const[]){"fork", NULL},
                             .env = (const char *const[]){env, NULL}});
    assert_clean_exit(&r, "fork");
    const char *heads[] = {
        "== basics:", "== memory:", "== files:", "== buffer:", "== zombie:"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        cr_assert(strstr(r.out, heads[i]), "missing lesson '%s':\n%s", heads[i],
                  r.out);
    cr_assert(dir_is_empty(dir), "the temp file was left in %s", dir);
    rm_rf(dir);
    free(dir);
    run_free(&r);
}

/* Interrupted while it holds a zombie: the child must still be reaped, and
 * the program must die of the signal, promptly. */
static void interrupt_zombie(int sig)
{
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){"fork", "zombie", "--seconds",
                                                  "30", NULL},
                    .timeout = 10,
                    .signal_when = "leaving it so for", /* the zombie exists */
                    .signal = sig});
    cr_assert(!r.timed_out, "fork zombie ignored signal %d", sig);
    cr_assert_eq(r.signal, sig,
                 "should die of signal %d, got exit %d signal %d", sig,
                 r.exit_code, r.signal);
    cr_assert_eq(r.leftover, 0, "interrupted, fork left %d child(ren) behind",
                 r.leftover);
    run_free(&r);
}

Test(lab01_fork, sigint_during_the_zombie_lesson_reaps_the_child)
{
    interrupt_zombie(SIGINT);
}

Test(lab01_fork, sigterm_during_the_zombie_lesson_reaps_the_child)
{
    interrupt_zombie(SIGTERM);
}

Test(lab01_fork, an_unusable_tmpdir_is_a_runtime_error_not_a_usage_error)
{
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"fork", "files", NULL},
        .env = (const char *const[]){"TMPDIR=/nonexistent/kit-test", NULL}});
    cr_assert_eq(r.exit_code, 1,
                 "a failing mkstemp() must exit 1, got %d; stderr: %s",
                 r.exit_code, r.err);
    cr_assert(strstr(r.err, "mkstemp"),
              "the error should name the failing call: %s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

/* A signal at any moment of a full run: during a lesson, between two, while
 * the temp file exists.  Either the run had already finished, or it dies of
 * the signal; either way no child and no temp file may remain.  The moments
 * are lines the run prints (each reaches the pipe when fork() is about to
 * be called, so the signal lands right there), never guessed delays. */
Test(lab01_fork, a_signal_at_any_moment_leaves_no_child_and_no_temp_file)
{
    static const char *const moments[] = {
        "== basics",          /* the first lesson, its first fork() */
        "fork() returned 0",  /* a child of the basics lesson is running */
        "== memory",          /* the second lesson */
        "opened a temp file", /* the temp file exists, shared with a child */
        "for contrast",       /* ... still, opened by each process itself */
        "== buffer",          /* a child that calls exit() */
        "== zombie",          /* the last lesson */
        "leaving it so for",  /* the zombie exists */
    };
    const int sigs[] = {SIGINT, SIGTERM};
    for (size_t d = 0; d < sizeof moments / sizeof moments[0]; d++) {
        for (size_t s = 0; s < 2; s++) {
            char *dir = make_tmpdir();
            char env[4200];
            snprintf(env, sizeof env, "TMPDIR=%s", dir);
            /* Under ASan, a child that calls exit() (the buffer lesson's,
             * on purpose) runs LeakSanitizer, which forks a tracer; a
             * child killed during that check orphans the tracer, which
             * is the sanitizer's process, not the lesson's.  Leak checks
             * are memcheck's job (make memcheck); turn them off here. */
            run_result r = run_with(&(run_opts){
                .argv = (const char *const[]){"fork", NULL},
                .env = (const char *const[]){env, "ASAN_OPTIONS=detect_leaks=0",
                                             NULL},
                .timeout = 10,
                .signal_when = moments[d],
                .signal = sigs[s]});
            cr_assert(r.signalled, "fork never printed '%s'; stdout: %s",
                      moments[d], r.out);
            cr_assert(!r.timed_out, "fork hung after signal %d at '%s'",
                      sigs[s], moments[d]);
            cr_assert(r.exit_code == 0 || r.signal == sigs[s],
                      "signal %d at '%s': expected exit 0 or death by the "
                      "signal, got "
                      "exit %d signal %d; stderr: %s",
                      sigs[s], moments[d], r.exit_code, r.signal, r.err);
            cr_assert_eq(r.leftover, 0, "signal %d at '%s' left %d child(ren)",
                         sigs[s], moments[d], r.leftover);
            /* fork's own temp file (fork-files.XXXXXX) must be gone;
             * sanitizer runtimes may leave files of their own here. */
            char name[256];
            const char *left =
                leftover_in(dir, "fork-files.", name, sizeof name);
            cr_assert(left == NULL,
                      "signal %d at '%s' left the temp file %s/%s", sigs[s],
                      moments[d], dir, left ? left : "");
            rm_rf(dir);
            free(dir);
            run_free(&r);
        }
    }
}

/* ---- spawn ----------------------------------------------------------------- */

TestSuite(lab01_spawn, .timeout = 60);

Test(lab01_spawn, json_has_the_count_asked_and_a_consistent_ratio)
{
    run_result r = RUN("spawn", "--count", "50", "--json");
    cr_assert(!r.timed_out);
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(tj_valid(r.out), "not one valid JSON document: %s", r.out);
    cr_assert_eq(tj_len(r.out, ""), 4,
                 "expected count, fork_us, thread_us, ratio: %s", r.out);
    double count, f, t, ratio;
    cr_assert(tj_num(r.out, "count", &count) && tj_num(r.out, "fork_us", &f) &&
                  tj_num(r.out, "thread_us", &t) &&
                  tj_num(r.out, "ratio", &ratio),
              "missing keys: %s", r.out);
    cr_assert_eq(count, 50, "count should be what was asked: %s", r.out);
    cr_assert(f > 0 && t > 0, "creation times must be positive: %s", r.out);
    cr_assert(fabs(ratio - f / t) <= 1e-3 * (f / t),
              "ratio should be fork_us / thread_us = %g: %s", f / t, r.out);
    run_free(&r);
}

Test(lab01_spawn, posix_spawn_adds_its_own_time)
{
    run_result r = RUN("spawn", "-n", "10", "--posix-spawn", "--json");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(tj_valid(r.out), "%s", r.out);
    cr_assert_eq(tj_len(r.out, ""), 5, "%s", r.out);
    double s;
    cr_assert(tj_num(r.out, "spawn_us", &s) && s > 0, "%s", r.out);
    run_free(&r);
}

Test(lab01_spawn, table_states_the_ratio_in_words)
{
    run_result r = RUN("spawn", "-n", "20");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "fork + _exit + waitpid"), "%s", r.out);
    cr_assert(strstr(r.out, "pthread_create + pthread_join"), "%s", r.out);
    cr_assert(strstr(r.out, "a process costs ~"), "%s", r.out);
    run_free(&r);
}

/* ---- bad usage --------------------------------------------------------------- */

TestSuite(lab01_usage, .timeout = 60);

#define USAGE(mention, ...) \
    do { \
        run_result r_ = RUN(__VA_ARGS__); \
        assert_usage_error(&r_, mention); \
        cr_assert_eq(r_.leftover, 0); \
        run_free(&r_); \
    } while (0)

Test(lab01_usage, fork_names_an_unknown_lesson)
{
    USAGE("frob", "fork", "frob");
    USAGE("lesson", "fork", "");
    USAGE("frob", "fork", "--fix", "frob");
    USAGE("extra", "fork", "memory", "extra");
}

Test(lab01_usage, fork_rejects_bad_numbers_and_names)
{
    const char *bad_code[] = {"abc", "-1", "256", "99999999999999999999",
                              "1e3", ""};
    for (size_t i = 0; i < sizeof bad_code / sizeof bad_code[0]; i++)
        USAGE("--code", "fork", "basics", "--code", bad_code[i]);
    USAGE("--signal", "fork", "basics", "--signal", "SEGV");
    USAGE("--signal", "fork", "basics", "--signal", "");
    const char *bad_secs[] = {"abc", "-1", "61",
                              "1e3", "",   "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_secs / sizeof bad_secs[0]; i++)
        USAGE("--seconds", "fork", "zombie", "--seconds", bad_secs[i]);
}

Test(lab01_usage, fork_rejects_unknown_missing_and_misplaced_options)
{
    USAGE("--frobnicate", "fork", "--frobnicate");
    USAGE("--code", "fork", "basics", "--code");
    USAGE("--seconds", "fork", "zombie", "--seconds");
    USAGE("--fix", "fork", "memory", "--fix");
    USAGE("--json", "fork", "--json");
    USAGE("--json", "fork", "buffer", "--json");
    USAGE("--code", "fork", "zombie", "--code", "3");
    USAGE("--seconds", "fork", "basics", "--seconds", "1");
}

Test(lab01_usage, spawn_rejects_bad_counts_and_sizes)
{
    const char *bad_n[] = {"abc", "0", "-5",     "99999999999999999999",
                           "1e3", "",  "1000001"};
    for (size_t i = 0; i < sizeof bad_n / sizeof bad_n[0]; i++)
        USAGE("--count", "spawn", "--count", bad_n[i]);
    USAGE("-n", "spawn", "-n");
    const char *bad_m[] = {"abc", "-1", "2G", "1.5M", ""};
    for (size_t i = 0; i < sizeof bad_m / sizeof bad_m[0]; i++)
        USAGE("--memory", "spawn", "--memory", bad_m[i]);
    USAGE("--frobnicate", "spawn", "--frobnicate");
    USAGE("extra", "spawn", "extra");
}

Test(lab01_usage, help_shows_an_example_and_exits_0)
{
    const char *progs[] = {"fork", "spawn"};
    for (size_t i = 0; i < 2; i++) {
        run_result r = RUN(progs[i], "--help");
        cr_assert_eq(r.exit_code, 0, "%s --help", progs[i]);
        cr_assert(strstr(r.out, "example"), "%s --help needs an example:\n%s",
                  progs[i], r.out);
        cr_assert_eq(r.err_len, 0);
        run_free(&r);
    }
}
