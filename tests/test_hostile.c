/*
 * test_hostile.c - what a hostile user does to every program, one table row
 * per program (issue 15):
 *
 *   rel_stdout   stdout on /dev/full, or closed at start: all output lost,
 *                so the run must fail (exit 1) with one message, never
 *                exit 0 in silence (kit_finish_stdout, kit_std_streams_ok,
 *                both installed by kit_set_prog);
 *   rel_stdin    stdin closed at start: `-` must not read the file that got
 *                descriptor 0 (wordcount a.txt - <&- counted a.txt twice);
 *   rel_liveness a worker stopped (SIGSTOP) mid-job: the job must not wait
 *                forever (lab 05: the worker is killed after 10 s and its
 *                task re-run, as 02-threads/pool.c's rule);
 *   rel_diskfull the job's temp files cannot be written: one line naming
 *                the cause, not a storm of "crashed" re-executions;
 *   rel_cpus     `taskset -c 0`: the default worker count is the CPUs the
 *                program may run on (kit_ncpus), not the CPUs online.
 *
 * The rows are the small runs of tools/memcheck.sh; @A@ is a small text.
 */
#include "harness.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE "@A@"

/* spawn's waitpid() is graded exercise 01.2: in the handout its stub leaves
 * zombies on purpose, and ex01_reap, not a kit-wide table, reports that. */
static bool reaped_by_exercise(const char *prog)
{
    return strcmp(prog, "spawn") == 0;
}

typedef struct {
    const char *prog;
    const char *args[10]; /* after the program's name, NULL-terminated */
    int max_lines;        /* lines allowed on stderr (0: 1) */
    const char *in;       /* standard input, or NULL */
} hostile_row;

/* clang-format off */
static const hostile_row programs[] = {
    /* fork's buffer lesson has a child exit() on purpose (to show the
     * buffer flushed twice): that child reports its own write error. */
    {"fork",       {"buffer", NULL}, 2, NULL},
    /* in the handout, exercise 01.2's stub leaves zombies and spawn says
     * so on a line of its own; reaping is that exercise's test (ex01_reap),
     * so here spawn's leftovers are not counted (see reaped_by_exercise) */
    {"spawn",      {"-n", "20", NULL}, 2, NULL},
    {"threads",    {NULL}, 0, NULL},
    {"gil",        {"-t", "2", "--cpu-ms", "20", NULL}, 0, NULL},
    {"coffee",     {"-q", "2", "-n", "2", "--ms", "10", NULL}, 0, NULL},
    {"parallel",   {"-j", "2", "--tasks", "4", "--size", "2000", NULL}, 0, NULL},
    {"parallel",   {"-j", "2", "--tasks", "4", "--size", "2000", "--backend", "processes", NULL}, 0, NULL},
    /* the fix, not the race: under ThreadSanitizer the unsafe mode's
     * report would be the run's output (the race is tested in lab03) */
    {"race",       {"-m", "mutex", "-n", "10000", NULL}, 0, NULL},
    {"deadlock",   {"--fix", "order", NULL}, 0, NULL},
    {"queue",      {"-n", "2000", NULL}, 0, NULL},
    {"pipe",       {"-n", "200", NULL}, 0, NULL},
    {"mpqueue",    {"-p", "2", "-c", "2", "-n", "500", NULL}, 0, NULL},
    {"shm",        {"-n", "2000", NULL}, 0, NULL},
    /* sequential: no bq, so the handout's bq stubs cannot stop it */
    {"server",     {"-m", "sequential", "--clients", "2", "--requests", "2", "--work-ms", "1", NULL}, 0, NULL},
    {"wordcount",  {FIXTURE, NULL}, 0, NULL},
    {"invindex",   {FIXTURE, NULL}, 0, NULL},
    {"wordcount",  {"--workers", "processes", "-j", "2", FIXTURE, NULL}, 0, NULL},
    {"invindex",   {"--workers", "processes", "-j", "2", FIXTURE, NULL}, 0, NULL},
    {"wc_mapper",  {NULL}, 0, "Deer Bear River\n"},
};
/* clang-format on */
#define NPROGRAMS (sizeof programs / sizeof programs[0])

TestSuite(rel_stdout, .timeout = 240);
TestSuite(rel_stdin, .timeout = 60);
TestSuite(rel_liveness, .timeout = 120);
TestSuite(rel_diskfull, .timeout = 60);
TestSuite(rel_cpus, .timeout = 60);

/* Run every row with stdout broken the given way; each must exit 1 with a
 * message that names standard output. */
static void each_program(bool closed)
{
    char *dir = make_tmpdir();
    char *a = path_join(dir, "a.txt");
    write_file(a, "Deer Bear River\nCar Car River\n", 30);
    // cppcheck-suppress unreadVariable ; read by the cr_expect messages
    const char *how = closed ? "closed" : "on /dev/full";
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const hostile_row *p = &programs[i];
        const char *argv[12];
        int n = 0;
        argv[n++] = p->prog;
        for (int k = 0; p->args[k]; k++)
            argv[n++] = strcmp(p->args[k], FIXTURE) == 0 ? a : p->args[k];
        argv[n] = NULL;
        run_result r =
            run_with(&(run_opts){.argv = argv,
                                 .timeout = 60,
                                 .in = p->in,
                                 .stdout_to = closed ? NULL : "/dev/full",
                                 .stdout_closed = closed});
        int lines = (int)count_substr(r.err, "\n");
        int max = p->max_lines ? p->max_lines : 1;
        cr_expect(!r.timed_out, "%s with stdout %s: hung", p->prog, how);
        cr_expect_eq(r.exit_code, 1,
                     "%s %s with stdout %s: all output is lost, so it must "
                     "exit 1, got exit %d signal %d; stderr: %s",
                     p->prog, p->args[0] ? p->args[0] : "", how, r.exit_code,
                     r.signal, r.err);
        cr_expect(lines >= 1 && lines <= max,
                  "%s with stdout %s: expected %d line(s) on stderr saying so, "
                  "got %d: %s",
                  p->prog, how, max, lines, r.err);
        cr_expect(strstr(r.err, "standard output") || strstr(r.err, "stdout"),
                  "%s with stdout %s: the message should name standard "
                  "output: %s",
                  p->prog, how, r.err);
        if (!reaped_by_exercise(p->prog))
            cr_expect_eq(r.leftover, 0, "%s: processes left behind", p->prog);
        run_free(&r);
    }
    free(a);
    rm_rf(dir);
    free(dir);
}

Test(rel_stdout, every_program_fails_with_one_message_when_stdout_is_full)
{
    each_program(false);
}

Test(rel_stdout, every_program_fails_with_one_message_when_stdout_is_closed)
{
    each_program(true);
}

Test(rel_stdin, a_closed_stdin_is_not_mistaken_for_the_first_file_opened)
{
    char *dir = make_tmpdir();
    char *a = path_join(dir, "a.txt");
    write_file(a, "bear\n", 5);
    static const char *const progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        run_result r = run_with(
            &(run_opts){.argv = (const char *const[]){progs[i], a, "-", NULL},
                        .stdin_closed = true});
        cr_assert(!r.timed_out);
        cr_expect(strstr(r.out, "bear\t2") == NULL &&
                      strstr(r.out, "bear\t") == NULL,
                  "%s a.txt - <&-: printed a result; '-' must not read the "
                  "file that took descriptor 0; stdout: %s",
                  progs[i], r.out);
        cr_expect_eq(r.exit_code, 1,
                     "%s: reading a closed stdin is an error, got exit %d; "
                     "stderr: %s",
                     progs[i], r.exit_code, r.err);
        cr_expect(strstr(r.err, "standard input"), "%s stderr: %s", progs[i],
                  r.err);
        cr_expect_eq(count_substr(r.err, "\n"), 1, "%s: one line: %s", progs[i],
                     r.err);
        run_free(&r);
    }
    free(a);
    rm_rf(dir);
    free(dir);
}

/* A text of n lines of distinct-ish words (enough map tasks to keep one
 * worker busy while another is stopped). */
static char *many_words(const char *dir, long bytes)
{
    char *path = path_join(dir, "words.txt");
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot create %s", path);
    unsigned x = 7;
    for (long n = 0; n < bytes;) {
        x = x * 1103515245u + 12345u;
        int w = fprintf(f, "w%u%c", (x >> 8) % 20000, (x & 15) ? ' ' : '\n');
        cr_assert(w > 0);
        n += w;
    }
    cr_assert(fclose(f) == 0);
    return path;
}

/* One worker process is stopped mid-map (SIGSTOP, as a debugger or a
 * hostile user would): the job must still finish with the same answer.
 * The readiness sign is the first failed attempt printed by --plan (a
 * --crash-rate makes some): the map phase is then under way.  No time is
 * asserted: a hang is the harness's timeout. */
Test(rel_liveness, a_stopped_worker_is_replaced_and_the_answer_is_unchanged)
{
    char *dir = make_tmpdir();
    char *text = many_words(dir, 4L << 20);
    /* wordcount only: invindex runs the same mr_procs.c, but has no
     * --crash-rate to print the readiness sign with */
    static const char *const progs[] = {"wordcount"};
    for (int i = 0; i < 1; i++) {
        run_result ref = run_with(
            &(run_opts){.argv = (const char *const[]){progs[i], text, NULL}});
        cr_assert_eq(ref.exit_code, 0, "%s: %s", progs[i], ref.err);
        run_result r = run_with(&(run_opts){
            .argv = (const char *const[]){progs[i], "--workers", "processes",
                                          "-j", "2", "--block-size", "32K",
                                          "--crash-rate", "0.1", "--seed", "3",
                                          "--plan", text, NULL},
            .timeout = 90,
            .signal = SIGSTOP,
            .signal_when = "attempt 1 failed",
            .signal_child = true});
        cr_assert(!r.timed_out,
                  "%s --workers processes with a stopped worker: hung "
                  "(killed after %.0f s); stderr: %.400s",
                  progs[i], r.seconds, r.err);
        cr_expect(r.signalled, "%s: the SIGSTOP was never sent", progs[i]);
        cr_expect_eq(r.exit_code, 0, "%s: exit %d; stderr: %.600s", progs[i],
                     r.exit_code, r.err);
        cr_expect(r.out_len == ref.out_len &&
                      memcmp(r.out, ref.out, ref.out_len) == 0,
                  "%s: the answer changed with a stopped worker", progs[i]);
        cr_expect(strstr(r.err, "stopped"),
                  "%s: --plan should say a stopped worker's task was re-run: "
                  "%.600s",
                  progs[i], r.err);
        cr_expect_eq(r.leftover, 0, "%s: processes left behind", progs[i]);
        run_free(&ref);
        run_free(&r);
    }
    free(text);
    rm_rf(dir);
    free(dir);
}

/* The job's intermediate files cannot be written.  A full TMPDIR (ENOSPC)
 * needs a tiny file system, hence root; the same write error is made here
 * without privileges by a file size limit (`ulimit -f`, with SIGXFSZ
 * ignored, write() fails with EFBIG).  Either way a write error is not a
 * crash: re-running the task would fail the same way.  One line, naming the
 * cause and the file; the temp directory is gone. */
Test(rel_diskfull, a_write_error_in_a_worker_is_one_line_naming_it_not_a_crash)
{
    char *dir = make_tmpdir();
    char *text = many_words(dir, 64L << 10);
    char *tmp = path_join(dir, "tmp");
    cr_assert(mkdir(tmp, 0700) == 0);
    char envtmp[4200];
    snprintf(envtmp, sizeof envtmp, "TMPDIR=%s", tmp);
    static const char *const progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(progs[i]));
        static const char limited[] = "trap '' XFSZ; ulimit -f 8; "
                                      "exec \"$0\" \"$@\"";
        run_result r = run_with(&(run_opts){
            .argv = (const char *const[]){"/bin/sh", "-c", limited, prog,
                                          "--workers", "processes", "-j", "2",
                                          "-r", "1", "--plan", text, NULL},
            .env = (const char *const[]){envtmp, NULL},
            .timeout = 40});
        cr_assert(!r.timed_out, "%s: hung", progs[i]);
        cr_expect_eq(r.exit_code, 1, "%s: exit %d; stderr: %s", progs[i],
                     r.exit_code, r.err);
        cr_expect_eq(count_substr(r.err, "\n"), 1,
                     "%s: a write error must be one line, not a crash per "
                     "attempt; got:\n%.800s",
                     progs[i], r.err);
        cr_expect(strstr(r.err, "File too large") && strstr(r.err, "mr-"),
                  "%s: the line must name the cause and the file: %s", progs[i],
                  r.err);
        cr_expect(strstr(r.err, "attempt") == NULL,
                  "%s: reported as failed attempts: %s", progs[i], r.err);
        cr_expect_eq(r.out_len, 0, "%s: output despite the error", progs[i]);
        cr_expect_eq(r.leftover, 0, "%s: processes left behind", progs[i]);
        run_free(&r);
    }
    cr_expect(rmdir(tmp) == 0, "the job's temp directory was left in TMPDIR");
    free(tmp);
    free(text);
    rm_rf(dir);
    free(dir);
}

/* The real thing: a TMPDIR on a 16 KiB tmpfs, mounted in a private mount
 * namespace (unshare -m: it vanishes with the run).  Needs root (or
 * CAP_SYS_ADMIN); skipped otherwise -- the test above makes the same write
 * error without privileges. */
Test(rel_diskfull, a_full_tmpdir_is_one_line_naming_enospc)
{
    char *dir = make_tmpdir();
    char *text = many_words(dir, 64L << 10);
    char *mnt = path_join(dir, "mnt");
    cr_assert(mkdir(mnt, 0700) == 0);
    /* a path: the harness looks a bare name up in the kit's directory */
    const char *unshare = access("/usr/bin/unshare", X_OK) == 0
                              ? "/usr/bin/unshare"
                              : "/bin/unshare";
    run_result probe = run_with(&(run_opts){
        .argv = (const char *const[]){unshare, "-m", "/bin/sh", "-c",
                                      "mount -t tmpfs -o size=16k tmpfs \"$0\"",
                                      mnt, NULL}});
    bool can_mount = probe.exit_code == 0;
    run_free(&probe);
    if (!can_mount) {
        rm_rf(dir);
        skip_because("a full TMPDIR needs a tiny tmpfs: unshare -m and mount "
                     "need root");
        return;
    }
    static const char *const progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(progs[i]));
        static const char on_tiny_tmpfs[] =
            "mount -t tmpfs -o size=16k tmpfs \"$1\" && TMPDIR=\"$1\" "
            "exec \"$0\" --workers processes -j 2 -r 1 --plan \"$2\"";
        run_result r = run_with(&(run_opts){
            .argv = (const char *const[]){unshare, "-m", "/bin/sh", "-c",
                                          on_tiny_tmpfs, prog, mnt, text, NULL},
            .timeout = 40});
        cr_assert(!r.timed_out, "%s: hung", progs[i]);
        cr_expect_eq(r.exit_code, 1, "%s: exit %d; stderr: %s", progs[i],
                     r.exit_code, r.err);
        cr_expect_eq(count_substr(r.err, "\n"), 1,
                     "%s: a full TMPDIR must be one line; got:\n%.800s",
                     progs[i], r.err);
        cr_expect(strstr(r.err, "No space left on device"),
                  "%s: the line must name ENOSPC: %s", progs[i], r.err);
        cr_expect_eq(r.leftover, 0, "%s: processes left behind", progs[i]);
        run_free(&r);
    }
    free(mnt);
    free(text);
    rm_rf(dir);
    free(dir);
}

Test(rel_cpus, the_default_jobs_are_the_cpus_of_the_affinity_mask)
{
    const char *taskset = "/usr/bin/taskset";
    if (access(taskset, X_OK) != 0 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        skip_because("needs taskset (util-linux) and 2 online CPUs");
        return;
    }
    char *dir = make_tmpdir();
    char *a = path_join(dir, "a.txt");
    write_file(a, "Deer Bear River\n", 16);
    static const char *const progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(progs[i]));
        run_result r = run_with(
            &(run_opts){.argv = (const char *const[]){taskset, "-c", "0", prog,
                                                      "--plan", a, NULL}});
        cr_expect_eq(r.exit_code, 0, "%s: %s", progs[i], r.err);
        cr_expect(strstr(r.err, " 1 worker thread"),
                  "taskset -c 0 %s --plan: one CPU allowed, so one worker by "
                  "default: %s",
                  progs[i], r.err);
        run_free(&r);
    }
    free(a);
    rm_rf(dir);
    free(dir);
}
