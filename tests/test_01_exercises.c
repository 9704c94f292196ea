/*
 * test_01_exercises.c - lab 01's graded exercises: decoding a child's wait
 * status (01.1, describe_status() in fork.c) and reaping every child
 * (01.2, reap() in spawn.c).
 *
 * Behaviour only, from the outside.  The programs' other tests are in
 * test_01.c; on the handout's stubs exactly these suites fail.
 */
#include "lab01_support.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---- exercise 01.1: decode a wait status -------------------------------------- */

EXERCISE(ex01_status, "01",
         "decode a child's wait status (exit code or signal)", 3);

Test(ex01_status, basics_decodes_the_exit_code)
{
    const char *codes[] = {"1", "7", "42", "255"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        run_result r = RUN("fork", "basics", "--code", codes[i]);
        assert_clean_exit(&r, "fork basics");
        char want[64];
        snprintf(want, sizeof want, "-> exited with code %s ", codes[i]);
        cr_assert(
            strstr(r.out, want),
            "a child that called _exit(%s) should be decoded as \"%s\".  The "
            "status waitpid() returns is not the exit code: use WIFEXITED() "
            "and WEXITSTATUS() (exercise 01.1, describe_status() in "
            "fork.c).\n%s",
            codes[i], want + 3, r.out);
        cr_assert_eq(count_substr(r.out, "WRONG"), 0, "%s", r.out);
        run_free(&r);
    }
}

Test(ex01_status, basics_decodes_the_signal_that_killed_the_child)
{
    const struct {
        const char *opt;
        int sig;
        const char *name;
    } sigs[] = {
        {"KILL", SIGKILL, "SIGKILL"}, {"TERM", SIGTERM, "SIGTERM"},
        {"INT", SIGINT, "SIGINT"},    {"HUP", SIGHUP, "SIGHUP"},
        {"USR1", SIGUSR1, "SIGUSR1"},
    };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        run_result r = RUN("fork", "basics", "--signal", sigs[i].opt);
        assert_clean_exit(&r, "fork basics");
        char want[64];
        snprintf(want, sizeof want, "-> killed by signal %d (%s)", sigs[i].sig,
                 sigs[i].name);
        cr_assert(strstr(r.out, want),
                  "a child killed with %s should be decoded as \"%s\": check "
                  "WIFSIGNALED() and read the number with WTERMSIG(); a killed "
                  "child has no exit code at all (exercise 01.1).\n%s",
                  sigs[i].name, want + 3, r.out);
        cr_assert_eq(count_substr(r.out, "WRONG"), 0, "%s", r.out);
        run_free(&r);
    }
}

/* ---- exercise 01.2: reap every child -------------------------------------------- */

EXERCISE(ex01_reap, "01", "reap every child (no zombie left behind)", 4);

static void assert_reaped(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung", what);
    cr_assert_eq(
        r->leftover, 0,
        "%s left %d child(ren) unreaped: a child that has exited stays a "
        "zombie until its parent calls waitpid() for it.  Every fork() "
        "needs its waitpid() (exercise 01.2, reap() in spawn.c).",
        what, r->leftover);
}

Test(ex01_reap, spawn_reaps_every_forked_child)
{
    run_result r = RUN("spawn", "-n", "30", "--json");
    assert_reaped(&r, "spawn -n 30");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_assert(!strstr(r.err, "never reaped"), "%s", r.err);
    run_free(&r);
}

Test(ex01_reap, spawn_reaps_every_posix_spawned_child)
{
    run_result r = RUN("spawn", "-n", "10", "--posix-spawn", "--json");
    assert_reaped(&r, "spawn -n 10 --posix-spawn");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    run_free(&r);
}

Test(ex01_reap, an_interrupted_spawn_still_reaps_its_children)
{
    const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        run_result r = run_with(&(run_opts){
            .argv = (const char *const[]){"spawn", "-n", "1000000", NULL},
            .timeout = 20,
            .signal_at_workers = 1, /* a child exists: the run is under way */
            .signal = sigs[i]});
        assert_reaped(&r, "interrupted spawn");
        cr_assert_eq(r.signal, sigs[i],
                     "spawn should die of signal %d, got exit %d "
                     "signal %d; stderr: %s",
                     sigs[i], r.exit_code, r.signal, r.err);
        run_free(&r);
    }
}
