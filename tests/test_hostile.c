/*
 * test_hostile.c - what a hostile user does to every program, one table row
 * per program (issue 15):
 *
 *   rel_stdout   stdout on /dev/full, or closed at start: all output lost,
 *                so the run must fail (exit 1) with one message, never
 *                exit 0 in silence (kit_finish_stdout, kit_std_streams_ok,
 *                both installed by kit_set_prog);
 *   rel_stdin    stdin closed at start: `-` must not read the file that got
 *                descriptor 0 (wordcount a.txt - <&- counted a.txt twice).
 *
 * The rows are the small runs of tools/memcheck.sh; @A@ is a small text.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "@A@"

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
    {"spawn",      {"-n", "20", NULL}, 0, NULL},
    {"threads",    {NULL}, 0, NULL},
    {"gil",        {"-t", "2", "--cpu-ms", "20", NULL}, 0, NULL},
    {"coffee",     {"-q", "2", "-n", "2", "--ms", "10", NULL}, 0, NULL},
    {"parallel",   {"-j", "2", "--tasks", "4", "--size", "2000", NULL}, 0, NULL},
    {"parallel",   {"-j", "2", "--tasks", "4", "--size", "2000", "--backend", "processes", NULL}, 0, NULL},
    {"race",       {"-n", "10000", NULL}, 0, NULL},
    {"deadlock",   {"--fix", "order", NULL}, 0, NULL},
    {"queue",      {"-n", "2000", NULL}, 0, NULL},
    {"pipe",       {"-n", "200", NULL}, 0, NULL},
    {"mpqueue",    {"-p", "2", "-c", "2", "-n", "500", NULL}, 0, NULL},
    {"shm",        {"-n", "2000", NULL}, 0, NULL},
    {"server",     {"--clients", "2", "--requests", "2", "--work-ms", "1", NULL}, 0, NULL},
    {"wordcount",  {FIXTURE, NULL}, 0, NULL},
    {"invindex",   {FIXTURE, NULL}, 0, NULL},
    {"wc_mapper",  {NULL}, 0, "Deer Bear River\n"},
};
/* clang-format on */
#define NPROGRAMS (sizeof programs / sizeof programs[0])

TestSuite(rel_stdout, .timeout = 240);
TestSuite(rel_stdin, .timeout = 60);

/* Run every row with stdout broken the given way; each must exit 1 with a
 * message that names standard output. */
static void each_program(bool closed)
{
    char *dir = make_tmpdir();
    char *a = path_join(dir, "a.txt");
    write_file(a, "Deer Bear River\nCar Car River\n", 30);
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
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){"wordcount", a, "-", NULL},
                    .stdin_closed = true});
    cr_assert(!r.timed_out);
    cr_expect(strstr(r.out, "bear\t2") == NULL,
              "a.txt was counted twice: '-' read the file that took "
              "descriptor 0; stdout: %s",
              r.out);
    cr_expect_eq(r.exit_code, 1,
                 "reading a closed stdin is an error, got exit %d; stderr: %s",
                 r.exit_code, r.err);
    cr_expect(strstr(r.err, "standard input"), "stderr: %s", r.err);
    run_free(&r);
    free(a);
    rm_rf(dir);
    free(dir);
}
