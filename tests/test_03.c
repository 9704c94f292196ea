/*
 * test_03.c - lab 03: ./race (a data race and its three fixes) and
 * ./deadlock (two locks in opposite order, a watchdog, two fixes).
 *
 * Behaviour only, never timings.  The racy mode is tested for what is
 * certain about it (it never counts more than expected; in slow motion it
 * always loses updates), not for a particular loss.  The graded exercises
 * (03.1 mutex, 03.2 local, 03.3 lock order) have their own suites, in
 * test_03_exercises.c, so the lab03_* suites also pass on the handout,
 * where those fixes are stubs.
 */
#include "lab03_support.h"
#include "tjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------- */

/* A run of the racy mode ends as the build allows: under ThreadSanitizer
 * with its data-race report and status 66, otherwise cleanly. */
static void assert_race_run_ended(const run_result *r)
{
    cr_assert(!r->timed_out, "race hung");
    if (san_is("thread")) {
        cr_assert_eq(r->exit_code, 66,
                     "TSan should exit 66 after its report, got %d",
                     r->exit_code);
        cr_assert(strstr(r->err, "WARNING: ThreadSanitizer: data race"),
                  "TSan should report the data race; stderr: %s", r->err);
    } else {
        cr_assert_eq(r->exit_code, 0, "status %d; stderr: %s", r->exit_code,
                     r->err);
    }
}

/* ---- ./race ------------------------------------------------------------ */

TestSuite(lab03_race, .timeout = 60);

Test(lab03_race, atomic_mode_is_exact_for_1_to_64_threads_and_1_to_500000)
{
    static const struct {
        int threads;
        long long n;
    } cases[] = {
        {1, 1}, {1, 100000}, {2, 1}, {8, 7}, {64, 1000}, {4, 500000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct row r =
            fixed_count("atomic", cases[i].threads, cases[i].n, false);
        cr_assert_eq(r.got, r.expected, "atomic -t %d -n %lld got %lld of %lld",
                     cases[i].threads, cases[i].n, r.got, r.expected);
    }
}

Test(lab03_race, atomic_mode_is_exact_even_in_slow_motion)
{
    struct row r = fixed_count("atomic", more_racers_than_cpus(), 2000, true);
    cr_assert_eq(r.got, r.expected, "atomic --yield got %lld of %lld", r.got,
                 r.expected);
}

Test(lab03_race, accepts_the_largest_thread_count)
{
    struct row r = fixed_count("atomic", 1024, 10, false);
    cr_assert_eq(r.got, 10240);
}

Test(lab03_race, unsafe_mode_never_reports_more_than_expected)
{
    for (int i = 0; i < 3; i++) {
        run_result r = run_race("unsafe", 4, 200000, false);
        assert_race_run_ended(&r);
        cr_assert(tj_valid(r.out), "not JSON: %s", r.out);
        struct row row = json_row(r.out, 0);
        cr_assert_str_eq(row.mode, "unsafe");
        cr_assert_eq(row.expected, 800000);
        /* Every store writes (a value some store wrote) + 1, so no store can
         * exceed the number of stores made so far. */
        cr_assert_leq(row.got, row.expected,
                      "unsafe counted more than it added");
        cr_assert_geq(row.got, 1);
        cr_assert_eq(row.lost, row.expected - row.got);
        run_free(&r);
    }
}

Test(lab03_race, unsafe_mode_in_slow_motion_always_loses_updates)
{
    int racers = more_racers_than_cpus(); /* why this is certain: see there */
    /* 20000 windows each: on a machine busy elsewhere a yield may hand the
     * CPU to another program rather than to a racer, so give the racers
     * many windows to meet in (a few tens of ms on an idle machine). */
    run_result r = run_race("unsafe", racers, 20000, true);
    assert_race_run_ended(&r);
    struct row row = json_row(r.out, 0);
    cr_assert_eq(row.expected, racers * 20000LL);
    cr_assert_lt(row.got, row.expected,
                 "%d racers yielding between load and store lost nothing",
                 racers);
    run_free(&r);
}

Test(lab03_race, one_thread_cannot_race_and_every_mode_is_exact)
{
    run_result r = RUN("race", "-t", "1", "-n", "1000", "--json");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert_eq(r.err_len, 0, "one thread has no race to report: %s", r.err);
    static const char *const modes[] = {"unsafe", "mutex", "atomic", "local"};
    cr_assert_eq(tj_len(r.out, "results"), 4, "%s", r.out);
    for (int i = 0; i < 4; i++) {
        struct row row = json_row(r.out, i);
        cr_assert_str_eq(row.mode, modes[i]);
        cr_assert_eq(row.got, 1000);
        cr_assert_eq(row.lost, 0);
    }
    run_free(&r);
}

/* taskset(1) runs a program on the CPUs it names (util-linux, Linux). */
static const char TASKSET[] = "/usr/bin/taskset";

Test(lab03_race, on_one_cpu_the_roll_call_never_calls_the_threads_together)
{
    /* On one CPU two threads are never running at the same moment, so the
     * roll call must give up and say so: "together" false, and a run that
     * lost nothing must not call itself lucky. */
    if (access(TASKSET, X_OK) != 0)
        cr_skip_test("%s is not installed (util-linux)", TASKSET);
    char *race = strdup(bin_path("race"));
    run_result r = run_with(&(run_opts){
        .argv =
            (const char *const[]){TASKSET, "-c", "0", race, "-m", "unsafe",
                                  "-t", "3", "-n", "100000", "--json", NULL},
        .timeout = 30});
    assert_race_run_ended(&r);
    bool together = true;
    cr_assert(tj_bool(r.out, "results.0.together", &together), "%s", r.out);
    cr_assert(!together, "one CPU, yet the threads were called together: %s",
              r.out);
    run_free(&r);

    r = run_with(&(run_opts){.argv = (const char *const[]){TASKSET, "-c", "0",
                                                           race, "-m", "unsafe",
                                                           "-n", "1000", NULL},
                             .timeout = 30});
    assert_race_run_ended(&r);
    if (strstr(r.out, "lost nothing"))
        cr_assert(strstr(r.out, "never seen running at the same"),
                  "nothing lost on one CPU must say why, not 'lucky': %s",
                  r.out);
    cr_assert_null(strstr(r.out, "lucky"), "%s", r.out);
    run_free(&r);
    free(race);
}

Test(lab03_race, json_has_exactly_the_documented_fields)
{
    run_result r =
        RUN("race", "-t", "3", "-n", "100", "-m", "atomic", "--json");
    cr_assert_eq(r.exit_code, 0);
    cr_assert(tj_valid(r.out), "not JSON: %s", r.out);
    cr_assert_eq(count_substr(r.out, "\n"), 1, "one object, one line: %s",
                 r.out);
    double v;
    cr_assert(tj_num(r.out, "threads", &v) && v == 3);
    cr_assert(tj_num(r.out, "iterations", &v) && v == 100);
    cr_assert_eq(tj_len(r.out, ""), 3, "threads, iterations, results: %s",
                 r.out);
    cr_assert_eq(tj_len(r.out, "results"), 1);
    cr_assert_eq(tj_len(r.out, "results.0"), 6,
                 "mode, expected, got, lost, seconds, together: %s", r.out);
    bool together;
    cr_assert(tj_bool(r.out, "results.0.together", &together), "%s", r.out);
    json_row(r.out, 0);
    run_free(&r);
}

Test(lab03_race, json_matches_the_table)
{
    /* One thread: every mode is exact, so two runs must agree row for row. */
    run_result j = RUN("race", "-t", "1", "-n", "5000", "--json");
    run_result t = RUN("race", "-t", "1", "-n", "5000");
    cr_assert_eq(j.exit_code, 0);
    cr_assert_eq(t.exit_code, 0);
    cr_assert(strstr(t.out, "expected") && strstr(t.out, "verdict"), "%s",
              t.out);
    for (int i = 0; i < 4; i++) {
        struct row want = json_row(j.out, i);
        const char *line = strstr(t.out, want.mode);
        /* The row is the line that starts with the mode's name. */
        while (line && line != t.out && line[-1] != '\n')
            line = strstr(line + 1, want.mode);
        cr_assert(line, "no table row for %s in:\n%s", want.mode, t.out);
        /* mode, then three numbers: expected, got, lost */
        char *p = (char *)line + strlen(want.mode), *end;
        struct row got = {{0}, 0, 0, 0};
        got.expected = strtoll(p, &end, 10);
        got.got = strtoll(end, &p, 10);
        got.lost = strtoll(p, &end, 10);
        cr_assert(end != p, "bad row: %.60s", line);
        cr_assert_eq(got.expected, want.expected, "%s expected", want.mode);
        cr_assert_eq(got.got, want.got, "%s got", want.mode);
        cr_assert_eq(got.lost, want.lost, "%s lost", want.mode);
    }
    run_free(&j);
    run_free(&t);
}

Test(lab03_race, table_grades_the_race_row_as_a_data_race)
{
    run_result r =
        RUN("race", "-m", "unsafe", "-t", "4", "-n", "2000", "--yield");
    assert_race_run_ended(&r);
    cr_assert(strstr(r.out, "DATA RACE"), "the race row must say so:\n%s",
              r.out);
    cr_assert(strstr(r.out, "slow motion"), "--yield should be announced:\n%s",
              r.out);
    run_free(&r);
}

Test(lab03_race, help_shows_usage_and_an_example)
{
    run_result r = RUN("race", "--help");
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "usage: race"), "%s", r.out);
    cr_assert(strstr(r.out, "./race -m unsafe"), "an example, please:\n%s",
              r.out);
    cr_assert_eq(r.err_len, 0);
    run_free(&r);
}

Test(lab03_race, every_bad_argument_exits_2_naming_the_option_and_range)
{
    static const struct {
        const char *opt, *val, *mention;
    } bad[] = {
        {"-t", "abc", "--threads: expected an integer in 1..1024, got 'abc'"},
        {"-t", "-1", "1..1024"},
        {"-t", "0", "1..1024"},
        {"-t", "1025", "1..1024"},
        {"--threads", "99999999999999999999", "1..1024"},
        {"-t", "1e3", "1..1024"},
        {"-t", "", "1..1024"},
        {"-t", "2x", "1..1024"},
        {"-n", "0", "--iterations: expected an integer in 1..1000000000"},
        {"-n", "-5", "1..1000000000"},
        {"--iterations", "1000000001", "1..1000000000"},
        {"-n", "many", "1..1000000000"},
        {"-m", "fast",
         "--mode: expected one of unsafe|mutex|atomic|local|all, got 'fast'"},
        {"--mode", "", "unsafe|mutex|atomic|local|all"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("race", bad[i].opt, bad[i].val);
        assert_usage_error(&r, bad[i].mention);
        run_free(&r);
    }
}

Test(lab03_race, unknown_options_missing_values_and_stray_words_exit_2)
{
    run_result r = RUN("race", "--frobnicate");
    assert_usage_error(&r, "--frobnicate");
    run_free(&r);
    r = RUN("race", "-x");
    assert_usage_error(&r, "-x");
    run_free(&r);
    r = RUN("race", "--threads");
    assert_usage_error(&r, "--threads");
    run_free(&r);
    r = RUN("race", "-n");
    assert_usage_error(&r, "-n");
    run_free(&r);
    r = RUN("race", "--json=yes");
    assert_usage_error(&r, "--json");
    run_free(&r);
    r = RUN("race", "unsafe");
    assert_usage_error(&r, "unsafe");
    run_free(&r);
}

/* ---- ./deadlock -------------------------------------------------------- */

TestSuite(lab03_deadlock, .timeout = 60);

Test(lab03_deadlock, default_run_deadlocks_and_the_watchdog_explains_the_cycle)
{
    run_result r = run_deadlock((const char *const[]){"deadlock", NULL});
    cr_assert(!r.timed_out, "the watchdog must end a deadlock, not hang");
    cr_assert_eq(r.exit_code, 3, "a deadlock exits 3, got %d; stdout:\n%s",
                 r.exit_code, r.out);
    cr_assert(strstr(r.out, "widens the window"),
              "say why it deadlocks every time:\n%s", r.out);
    cr_assert(
        strstr(r.out, "teller 1 (alice -> bob): holds alice, waits for bob"),
        "who holds what:\n%s", r.out);
    cr_assert(
        strstr(r.out, "teller 2 (bob -> alice): holds bob, waits for alice"),
        "who holds what:\n%s", r.out);
    cr_assert(strstr(r.out, "a cycle") && strstr(r.out, "DEADLOCK"), "%s",
              r.out);
    /* Usually "0 of 200 done"; on a busy machine one teller may get a few
     * transfers done before the other is scheduled, so only check the form. */
    cr_assert(strstr(r.out, " of 200 done"), "progress at the end:\n%s", r.out);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(lab03_deadlock, deadlock_json_names_the_cycle)
{
    run_result r =
        run_deadlock((const char *const[]){"deadlock", "--json", NULL});
    cr_assert_eq(r.exit_code, 3, "stdout: %s", r.out);
    cr_assert(tj_valid(r.out), "not JSON: %s", r.out);
    bool b = false;
    cr_assert(tj_bool(r.out, "deadlock", &b) && b);
    cr_assert(tj_bool(r.out, "cycle", &b) && b);
    char s[16];
    cr_assert(tj_str(r.out, "tellers.0.holds", s, sizeof s) &&
              strcmp(s, "alice") == 0);
    cr_assert(tj_str(r.out, "tellers.0.waits_for", s, sizeof s) &&
              strcmp(s, "bob") == 0);
    cr_assert(tj_str(r.out, "tellers.1.holds", s, sizeof s) &&
              strcmp(s, "bob") == 0);
    cr_assert(tj_str(r.out, "tellers.1.waits_for", s, sizeof s) &&
              strcmp(s, "alice") == 0);
    double v;
    cr_assert(tj_num(r.out, "completed", &v) && v < 200, "%s", r.out);
    run_free(&r);
}

Test(lab03_deadlock, trylock_fix_completes_every_transfer_and_conserves_money)
{
    assert_fix_conserves_money("trylock", "100", "1");
    assert_fix_conserves_money("trylock", "20000", "0");
}

Test(lab03_deadlock, fixed_run_shows_the_totals_in_a_table)
{
    run_result r = run_deadlock(
        (const char *const[]){"deadlock", "-f", "trylock", "-n", "10", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.out);
    cr_assert(strstr(r.out, "total     2000   2000      2000"), "%s", r.out);
    cr_assert(strstr(r.out, "20 of 20 transfers"), "%s", r.out);
    cr_assert(
        strstr(r.out, "OK: every transfer completed and money is conserved"),
        "%s", r.out);
    run_free(&r);
}

Test(lab03_deadlock, help_shows_usage_and_an_example)
{
    run_result r = run_deadlock((const char *const[]){"deadlock", "-h", NULL});
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "usage: deadlock"), "%s", r.out);
    cr_assert(strstr(r.out, "./deadlock --fix order"), "%s", r.out);
    run_free(&r);
}

Test(lab03_deadlock, every_bad_argument_exits_2_naming_the_option_and_range)
{
    static const struct {
        const char *opt, *val, *mention;
    } bad[] = {
        {"--fix", "lock",
         "--fix: expected one of none|order|trylock, got 'lock'"},
        {"-f", "", "none|order|trylock"},
        {"-n", "0", "--transfers: expected an integer in 1..1000000"},
        {"-n", "-1", "1..1000000"},
        {"-n", "1000001", "1..1000000"},
        {"--transfers", "99999999999999999999", "1..1000000"},
        {"-n", "1e3", "1..1000000"},
        {"-n", "ten", "1..1000000"},
        {"-n", "", "1..1000000"},
        {"--pause", "-1", "--pause: expected a number in 0..100"},
        {"--pause", "101", "0..100"},
        {"--pause", "1e3", "0..100"},
        {"--pause", "abc", "0..100"},
        {"--pause", "", "0..100"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("deadlock", bad[i].opt, bad[i].val);
        assert_usage_error(&r, bad[i].mention);
        run_free(&r);
    }
    run_result r = RUN("deadlock", "--bogus");
    assert_usage_error(&r, "--bogus");
    run_free(&r);
    r = RUN("deadlock", "--fix");
    assert_usage_error(&r, "--fix");
    run_free(&r);
    r = RUN("deadlock", "now");
    assert_usage_error(&r, "now");
    run_free(&r);
}
