/*
 * test_cli.c - every program of the kit refuses bad arguments the same way.
 *
 * One table, one line per program: a numeric option with its documented
 * range, a word option (mode, backend...) if it has one, and whether it
 * takes a subcommand.  Each test below sends one kind of bad argument to
 * every program in the table and expects the kit's convention
 * (CONTRIBUTING.md): exit 2, nothing on stdout, exactly one line on stderr
 * naming the option (and, for numbers, the accepted range), no core dump.
 *
 * Adding a program to the kit = adding its line to `programs[]` below.
 * The table lists every program of the kit, built or not: a program that is
 * not built fails here with "program X not built", so none can be skipped.
 *
 * Every failure names the program and the exact arguments, and every
 * program is checked even after one fails (cr_expect, not cr_assert).
 */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *prog;        /* name in KIT_BIN_DIR */
    const char *lead;        /* a valid subcommand put first, or NULL */
    const char *num;         /* a numeric option (long form), or NULL if none */
    long long min, max;      /* its documented range */
    const char *range;       /* the range as its message prints it: "1..1024" */
    const char *choice;      /* an option that takes a word, or NULL */
    bool operands_are_files; /* "bogus" as an operand is a missing file (exit
                                1, see test_inputs.c), not a usage error */
} prog_row;

/* clang-format off */
static const prog_row programs[] = {
    /* prog        lead      num option        min  max        range printed   word option */
    {"fork",       "basics", "--code",         0,   255,       "0..255",       "--signal",  false},
    {"spawn",      NULL,     "--count",        1,   1000000,   "1..1000000",   NULL,        false},
    {"threads",    NULL,     "--threads",      1,   64,        "1..64",        NULL,        false},
    {"gil",        NULL,     "--threads",      1,   16,        "1..16",        NULL,        false},
    {"coffee",     NULL,     "--customers",    1,   26,        "1..26",        NULL,        false},
    {"parallel",   NULL,     "--size",         1,   5000000,   "1..5000000",   "--backend", false},
    {"ui",         NULL,     "--job-ms",       10,  30000,     "10..30000",    "--mode",    false},
    {"race",       NULL,     "--threads",      1,   1024,      "1..1024",      "--mode",    false},
    {"deadlock",   NULL,     "--transfers",    1,   1000000,   "1..1000000",   "--fix",     false},
    {"queue",      NULL,     "--producers",    1,   64,        "1..64",        NULL,        false},
    {"pipe",       NULL,     "--records",      1,   1000000,   "1..1000000",   "--mode",    false},
    {"mpqueue",    NULL,     "--producers",    1,   64,        "1..64",        "--transport", false},
    {"shm",        NULL,     "--processes",    1,   64,        "1..64",        "--mode",    false},
    {"server",     NULL,     "--clients",      1,   256,       "1..256",       "--mode",    false},
    {"wordcount",  NULL,     "--jobs",         1,   256,       "1..256",       "--workers", true},
    {"invindex",   NULL,     "--jobs",         1,   256,       "1..256",       "--workers", true},
    {"wc_mapper",  NULL,     "--max-distinct", 0,   100000000, "0..100000000", NULL,        false},
    {"wc_reducer", NULL,     NULL,             0,   0,         NULL,           NULL,        false},
};
/* clang-format on */
#define NPROGRAMS (sizeof programs / sizeof programs[0])

TestSuite(rel_badargs, .timeout = 120);

/* Is the program there to test?  If not, say so: a registered program
 * that is not built is a failure, not a skip. */
static bool built(const prog_row *p)
{
    if (access(bin_path(p->prog), X_OK) == 0)
        return true;
    cr_expect_fail("program %s not built (%s): every program of the kit must "
                   "refuse bad arguments; build it with `make %s`",
                   p->prog, bin_path(p->prog), p->prog);
    return false;
}

/* The argv as one readable string, for messages. */
static void show(char *buf, size_t n, const char *const *argv)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i] && used < n; i++) {
        int w = snprintf(buf + used, n - used, "%s'%s'", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/*
 * Run p with [lead] + the given arguments; expect the usage-error
 * convention; `mention` and `mention2` (may be NULL) must both appear in
 * the one line on stderr.  Non-fatal: returns false and records why.
 */
static bool refuses(const prog_row *p, const char *a1, const char *a2,
                    const char *mention, const char *mention2)
{
    const char *argv[5];
    int n = 0;
    argv[n++] = p->prog;
    if (p->lead)
        argv[n++] = p->lead;
    argv[n++] = a1;
    if (a2)
        argv[n++] = a2;
    argv[n] = NULL;
    char cmd[512];
    show(cmd, sizeof cmd, argv);

    run_result r = run_with(&(run_opts){.argv = argv, .timeout = 10});
    bool ok = true;
    if (r.timed_out || r.signal != 0 || r.core) {
        cr_expect_fail("%s: must exit 2 at once, but it %s (signal %d%s)", cmd,
                       r.timed_out ? "hung" : "was killed", r.signal,
                       r.core ? ", core dumped" : "");
        ok = false;
    } else if (r.exit_code != 2) {
        cr_expect_fail("%s: bad usage must exit 2, got %d; stderr: %s", cmd,
                       r.exit_code, r.err);
        ok = false;
    } else if (r.out_len != 0) {
        cr_expect_fail("%s: bad usage must print nothing on stdout, got: %s",
                       cmd, r.out);
        ok = false;
    } else if (r.err_len == 0 || count_substr(r.err, "\n") != 1 ||
               r.err[r.err_len - 1] != '\n') {
        cr_expect_fail("%s: the usage error must be exactly one line on "
                       "stderr, got: '%s'",
                       cmd, r.err);
        ok = false;
    } else if ((mention && !strstr(r.err, mention)) ||
               (mention2 && !strstr(r.err, mention2))) {
        cr_expect_fail("%s: the message should name '%s'%s%s%s, got: %s", cmd,
                       mention ? mention : "", mention2 ? " and '" : "",
                       mention2 ? mention2 : "", mention2 ? "'" : "", r.err);
        ok = false;
    } else if (r.leftover != 0) {
        cr_expect_fail("%s: left %d process(es) behind", cmd, r.leftover);
        ok = false;
    }
    run_free(&r);
    return ok;
}

/* Run one kind of bad value through every program's numeric option. */
static void each_number(const char *value, bool (*applies)(const prog_row *))
{
    int tried = 0;
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (!p->num || (applies && !applies(p)) || !built(p))
            continue;
        refuses(p, p->num, value, p->num, p->range);
        tried++;
    }
    cr_expect_gt(tried, 0, "no program was checked");
}

Test(rel_badargs, a_word_where_a_number_goes_is_refused)
{
    each_number("abc", NULL);
}

Test(rel_badargs, trailing_junk_after_a_number_is_refused)
{
    each_number("12x", NULL);
}

static bool negative_invalid(const prog_row *p) { return p->min > -5; }
Test(rel_badargs, a_negative_number_is_refused)
{
    each_number("-5", negative_invalid);
}

static bool zero_invalid(const prog_row *p) { return p->min > 0; }
Test(rel_badargs, zero_is_refused_where_the_range_starts_at_one)
{
    each_number("0", zero_invalid);
}

Test(rel_badargs, a_number_that_overflows_64_bits_is_refused)
{
    each_number("99999999999999999999", NULL);
}

Test(rel_badargs, exponent_notation_is_refused) { each_number("1e3", NULL); }

Test(rel_badargs, an_empty_string_is_refused) { each_number("", NULL); }

Test(rel_badargs, one_past_the_documented_maximum_is_refused)
{
    int tried = 0;
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (!p->num || !built(p))
            continue;
        char past[32];
        snprintf(past, sizeof past, "%lld", p->max + 1);
        refuses(p, p->num, past, p->num, p->range);
        tried++;
    }
    cr_expect_gt(tried, 0, "no program was checked");
}

Test(rel_badargs, an_option_without_its_value_is_refused)
{
    int tried = 0;
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (!p->num || !built(p))
            continue;
        refuses(p, p->num, NULL, p->num, NULL);
        tried++;
    }
    cr_expect_gt(tried, 0, "no program was checked");
}

Test(rel_badargs, an_unknown_option_is_refused_by_name)
{
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (built(p)) {
            refuses(p, "--frobnicate", NULL, "--frobnicate", NULL);
            refuses(p, "-Z", NULL, "-Z", NULL);
        }
    }
}

Test(rel_badargs, an_unknown_mode_is_refused_by_option_name)
{
    int tried = 0;
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (!p->choice || !built(p))
            continue;
        refuses(p, p->choice, "bogus", p->choice, "bogus");
        refuses(p, p->choice, "", p->choice, NULL);
        tried++;
    }
    cr_expect_gt(tried, 0, "no program was checked");
}

Test(rel_badargs, an_unknown_subcommand_or_stray_operand_is_refused)
{
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (p->operands_are_files || !built(p))
            continue;
        /* fork's lesson comes first; other programs take no operand */
        const prog_row bare = {.prog = p->prog};
        refuses(&bare, "bogus", NULL, "bogus", NULL);
    }
}

/*
 * One option dialect (CONTRIBUTING.md): a short option means one thing in
 * every program, and --json has no short form.
 *
 * Read from each program's --help, whose option lines all have the form
 * "  -j, --jobs N   ...": that is the dialect a student sees and types, and
 * rel_help already requires every program to print it.  (The getopt tables
 * themselves are static arrays inside each program, out of a test's reach;
 * an undocumented short option would escape this check, and rel_help's
 * review of the usage text is what keeps them documented.)
 *
 * A letter's meaning is its long name.  Where several long names are one
 * knob under different words, `one_meaning` says so: -n is how much work a
 * run does, whatever its unit (coffee's customers are one coffee each); -k is
 * a queue's capacity (server's --queue is its pool queue's capacity).  A
 * knob of one program only, whose letter means something else in the kit
 * (fork's --code, server's --port, shm's --processes...), has no short form.
 *
 * The letters, for the README: -b --backend, -c --consumers, -f --fix,
 * -h --help, -j --jobs, -k a queue's capacity, -m --mode, -n how much work,
 * -o --output, -p --producers, -q --queues, -r --reducers, -s --size,
 * -t --threads, -v --verbose, -w --workers, -W --work-ms, -y --yield.
 */
/* clang-format off */
static const struct {
    char letter;
    const char *longs; /* one meaning: its long names, space-separated */
} one_meaning[] = {
    {'n', "--count --customers --items --iterations --records --requests "
          "--tasks --transfers"},
    {'k', "--capacity --queue"},         /* server's --queue: its capacity */
};
/* clang-format on */

/* Do two long names of one letter mean the same thing? */
static bool same_meaning(char letter, const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return true;
    for (size_t i = 0; i < sizeof one_meaning / sizeof one_meaning[0]; i++) {
        if (one_meaning[i].letter != letter)
            continue;
        char wa[64], wb[64];
        snprintf(wa, sizeof wa, "%s ", a);
        snprintf(wb, sizeof wb, "%s ", b);
        char all[256];
        snprintf(all, sizeof all, "%s ", one_meaning[i].longs);
        return strstr(all, wa) && strstr(all, wb);
    }
    return false;
}

typedef struct {
    const char *prog;
    char letter;
    char longopt[48];
} short_use;

/* The "-X, --long" pairs of one program's --help. */
static int documented_shorts(const char *prog, short_use *uses, int cap)
{
    run_result r = RUN(prog, "--help");
    int n = 0;
    for (const char *line = r.out; *line && n < cap;) {
        size_t len = strcspn(line, "\n");
        char letter, longopt[48];
        if (sscanf(line, " -%c, %47[-a-z0-9]", &letter, longopt) == 2 &&
            strncmp(longopt, "--", 2) == 0 && line[0] == ' ') {
            uses[n].prog = prog;
            uses[n].letter = letter;
            snprintf(uses[n].longopt, sizeof uses[n].longopt, "%s", longopt);
            n++;
        }
        line += len + (line[len] == '\n');
    }
    run_free(&r);
    return n;
}

Test(rel_badargs, one_short_option_means_one_thing_in_every_program)
{
    static short_use uses[NPROGRAMS * 32];
    int n = 0;
    for (size_t i = 0; i < NPROGRAMS; i++)
        if (built(&programs[i]))
            n += documented_shorts(programs[i].prog, uses + n, 32);
    cr_assert_gt(n, (int)NPROGRAMS, "no short option found in any --help");
    for (int i = 0; i < n; i++) {
        cr_expect(strcmp(uses[i].longopt, "--json") != 0,
                  "%s: --json has the short form -%c; --json is long-only in "
                  "the kit (-j means --jobs)",
                  uses[i].prog, uses[i].letter);
        /* The letter's meaning: its first use. */
        for (int j = 0; j < i; j++) {
            if (uses[j].letter != uses[i].letter)
                continue;
            cr_expect(
                same_meaning(uses[i].letter, uses[i].longopt, uses[j].longopt),
                "-%c means %s in %s but %s in %s: one short option, one "
                "meaning in every program",
                uses[i].letter, uses[j].longopt, uses[j].prog, uses[i].longopt,
                uses[i].prog);
            break;
        }
    }
}

TestSuite(rel_help, .timeout = 60);

Test(rel_help, every_program_prints_help_with_an_example_and_exits_0)
{
    for (size_t i = 0; i < NPROGRAMS; i++) {
        const prog_row *p = &programs[i];
        if (!built(p))
            continue;
        run_result r = RUN(p->prog, "--help");
        cr_expect_eq(r.exit_code, 0, "%s --help must exit 0, got %d", p->prog,
                     r.exit_code);
        cr_expect(r.out_len > 0 && r.err_len == 0,
                  "%s --help: usage on stdout, nothing on stderr; got "
                  "stderr: %s",
                  p->prog, r.err);
        cr_expect(strstr(r.out, "xample") != NULL,
                  "%s --help must show an example", p->prog);
        if (p->num && p->range)
            cr_expect(strstr(r.out, p->num) != NULL,
                      "%s --help does not document %s", p->prog, p->num);
        run_free(&r);
        r = RUN(p->prog, "-h");
        cr_expect_eq(r.exit_code, 0, "%s -h must exit 0", p->prog);
        run_free(&r);
    }
}
