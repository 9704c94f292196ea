/*
 * lab05_support.c - helpers shared by lab 05's test files of the word rule,
 * the fast tokenizer, the streaming programs and the exercises
 * (lab05_support.h).
 */
#include "lab05_support.h"

#include "../05-mapreduce/words.h"
#include "fuzz/words_ref.h"

#include <stdlib.h>

/* The words of buf[0..n), each followed by '\n' (malloc'd). */
char *words_of(const char *buf, size_t n, size_t *count)
{
    ref_words w = {0};
    size_t c = words_scan(buf, n, ref_collect, &w);
    cr_assert_eq(c, w.count,
                 "words_scan returned %zu but called back %zu times", c,
                 w.count);
    if (count)
        *count = c;
    if (w.s == NULL)
        w.s = calloc(1, 1);
    return w.s;
}

char *ref_words_of(const char *buf, size_t n)
{
    ref_words w = {0};
    ref_scan(buf, n, &w);
    if (w.s == NULL)
        w.s = calloc(1, 1);
    return w.s;
}

char *fixture(const char *dir, const char *name, const char *data, size_t len)
{
    char *p = path_join(dir, name);
    write_file(p, data, len);
    return p;
}

/* Run a command line through /bin/sh with stdin (may hold NUL bytes). */
run_result sh_in(const char *in, size_t len, const char *cmd)
{
    return run_with(
        &(run_opts){.argv = (const char *const[]){"/bin/sh", "-c", cmd, NULL},
                    .in = in,
                    .in_len = len});
}

run_result prog_in(const char *in, size_t len, const char *const *argv)
{
    return run_with(&(run_opts){.argv = argv, .in = in, .in_len = len});
}

/* mapper (with its options) | LC_ALL=C sort | reducer, one stage at a time
 * so that each stage's exit status is checked.  Returns reducer output. */
char *pipeline(const char *in, size_t len, const char *const *mapper)
{
    run_result m = prog_in(in, len, mapper);
    cr_assert_eq(m.exit_code, 0, "wc_mapper failed: %s", m.err);
    run_result s = sh_in(m.out, m.out_len, "LC_ALL=C exec sort");
    cr_assert_eq(s.exit_code, 0, "sort failed: %s", s.err);
    run_result r =
        prog_in(s.out, s.out_len, (const char *const[]){"wc_reducer", NULL});
    cr_assert_eq(r.exit_code, 0, "wc_reducer failed: %s", r.err);
    char *out = r.out;
    r.out = NULL;
    run_free(&m);
    run_free(&s);
    run_free(&r);
    return out;
}

const char lecture[sizeof LAB05_LECTURE] = LAB05_LECTURE;
const char lecture_counts[sizeof LAB05_LECTURE_COUNTS] = LAB05_LECTURE_COUNTS;

const char ascii_fixture[sizeof LAB05_ASCII_FIXTURE] = LAB05_ASCII_FIXTURE;

/* Fragments for random inputs, chosen to hit every branch: ASCII of each
 * class, valid 2/3/4-byte letters, non-letters, and every kind of invalid
 * byte. */
const bytes_lit random_frags[] = {
    LIT("a"),
    LIT("Z"),
    LIT("7"),
    LIT(" "),
    LIT("_"),
    LIT("\n"),
    LIT("\0"),
    LIT("\xc3\xa9"),
    LIT("\xc3\x89"),
    LIT("\xd0\x81"),
    LIT("\xd1\x91"),
    LIT("\xc8\xba"),
    LIT("\xc4\xb0"),
    LIT("\xe4\xb8\xad"),
    LIT("\xe2\x80\x94"),
    LIT("\xd9\xa3"),
    LIT("\xf0\x90\x90\x80"),
    LIT("\xf0\x9f\x98\x80"),
    LIT("\xc0\xaf"),
    LIT("\xed\xa0\x80"),
    LIT("\xf4\x90\x80\x80"),
    LIT("\x80"),
    LIT("\xff"),
    LIT("\xe2\x82"),
    LIT("\xf0"),
    LIT("\xcc\x81"),
    LIT("\xef\xbf\xbd"),
};
