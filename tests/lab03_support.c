/*
 * lab03_support.c - helpers shared by lab 03's test files (lab03_support.h).
 */
#include "lab03_support.h"

#include "tjson.h"

#include <stdio.h>
#include <unistd.h>

/* Run ./race -m MODE -t T -n N [--yield] --json. */
run_result run_race(const char *mode, int threads, long long n, bool yield)
{
    char t[32], it[32];
    snprintf(t, sizeof t, "%d", threads);
    snprintf(it, sizeof it, "%lld", n);
    const char *argv[10] = {"race", "-m", mode, "-t", t, "-n", it, "--json"};
    if (yield)
        argv[8] = "--yield"; /* the rest stays NULL */
    return run_with(&(run_opts){.argv = argv, .timeout = 50});
}

/* Row i of the JSON document, or a failed assertion. */
struct row json_row(const char *doc, int i)
{
    struct row r = {{0}, 0, 0, 0};
    char path[64];
    double v;
    snprintf(path, sizeof path, "results.%d.mode", i);
    cr_assert(tj_str(doc, path, r.mode, sizeof r.mode), "no %s in: %s", path,
              doc);
    snprintf(path, sizeof path, "results.%d.expected", i);
    cr_assert(tj_num(doc, path, &v), "no %s in: %s", path, doc);
    r.expected = (long long)v;
    snprintf(path, sizeof path, "results.%d.got", i);
    cr_assert(tj_num(doc, path, &v), "no %s in: %s", path, doc);
    r.got = (long long)v;
    snprintf(path, sizeof path, "results.%d.lost", i);
    cr_assert(tj_num(doc, path, &v), "no %s in: %s", path, doc);
    r.lost = (long long)v;
    snprintf(path, sizeof path, "results.%d.seconds", i);
    cr_assert(tj_num(doc, path, &v) && v >= 0, "no %s >= 0 in: %s", path, doc);
    return r;
}

/* A run of fixes only must be exact, and clean under every sanitizer. */
struct row fixed_count(const char *mode, int threads, long long n, bool yield)
{
    run_result r = run_race(mode, threads, n, yield);
    cr_assert(!r.timed_out, "race -m %s hung", mode);
    cr_assert_eq(r.err_len, 0, "race -m %s wrote to stderr: %s", mode, r.err);
    cr_assert(tj_valid(r.out), "not JSON: %s", r.out);
    struct row row = json_row(r.out, 0);
    cr_assert_eq(row.expected, (long long)threads * n);
    cr_assert_eq(row.lost, row.expected - row.got);
    /* The exit status follows from the count; the caller's message, which
     * teaches, comes first, so check the status after returning the row. */
    int status = r.exit_code;
    run_free(&r);
    cr_assert(status == 0 || (status == 1 && row.got != row.expected),
              "race -m %s: exit %d", mode, status);
    return row;
}

/*
 * More racers than CPUs, so two of them always share a CPU.  In slow motion
 * (--yield) a racer gives its CPU away between its load and its store; the
 * scheduler runs the racer sharing that CPU, which stores; the first one's
 * store then overwrites that update.  That happens on every yield that meets
 * a neighbour, thousands of times per run: the loss is certain, not lucky.
 */
int more_racers_than_cpus(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    return cpus + 1 > 1024 ? 1024 : (int)cpus + 1;
}

run_result run_deadlock(const char *const *argv)
{
    /* The watchdog gives up after about a second; ten is "never hangs". */
    return run_with(&(run_opts){.argv = argv, .timeout = 10});
}

/* A fix must finish with status 0, every transfer done, money conserved. */
void assert_fix_conserves_money(const char *fix, const char *transfers,
                                const char *pause)
{
    run_result r = run_deadlock(
        (const char *const[]){"deadlock", "--fix", fix, "-n", transfers,
                              "--pause", pause, "--json", NULL});
    cr_assert(!r.timed_out, "--fix %s hung", fix);
    cr_assert_neq(
        r.exit_code, 3,
        "--fix %s -n %s --pause %s deadlocked (exit 3) — do both tellers take "
        "the two locks in the same order, whichever way the money goes?",
        fix, transfers, pause);
    cr_assert_eq(r.exit_code, 0, "--fix %s -n %s --pause %s: exit %d\n%s", fix,
                 transfers, pause, r.exit_code, r.out);
    cr_assert(tj_valid(r.out), "not JSON: %s", r.out);
    double n, completed, before, after, final, expected;
    bool conserved = false, dead = true;
    cr_assert(tj_num(r.out, "transfers", &n));
    cr_assert(tj_num(r.out, "completed", &completed));
    cr_assert_eq(completed, 2 * n, "every transfer of both tellers: %s", r.out);
    cr_assert(tj_bool(r.out, "deadlock", &dead) && !dead);
    cr_assert(tj_num(r.out, "total_before", &before) && before == 2000);
    cr_assert(tj_num(r.out, "total_after", &after) && after == before,
              "money appeared or vanished: %s", r.out);
    cr_assert(tj_bool(r.out, "conserved", &conserved) && conserved);
    for (int a = 0; a < 2; a++) {
        char p[64];
        snprintf(p, sizeof p, "accounts.%d.final", a);
        cr_assert(tj_num(r.out, p, &final));
        snprintf(p, sizeof p, "accounts.%d.expected", a);
        cr_assert(tj_num(r.out, p, &expected));
        cr_assert_eq(final, expected, "account %d: %s", a, r.out);
    }
    cr_assert_eq(r.err_len, 0, "stderr: %s", r.err);
    run_free(&r);
}
