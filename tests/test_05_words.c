/*
 * test_05_words.c - lab 05's word rule and its Hadoop Streaming pair.
 *
 *   lab05_words      the tokenizer (words.h) on its own: the ASCII rule
 *                    against the coreutils `tr` pipeline, hand-checked
 *                    Cyrillic / mixed / invalid UTF-8 fixtures, NUL, CRLF,
 *                    long words, the cut functions, a comparison with the
 *                    slow reference of tests/fuzz/words_ref.h, and the
 *                    regressions found by the fuzzer.
 *   lab05_streaming  ./wc_mapper and ./wc_reducer as programs: the local
 *                    pipeline `wc_mapper | LC_ALL=C sort | wc_reducer`,
 *                    equality with ./wordcount, malformed reducer input
 *                    (line numbers, exit 1), bad arguments (exit 2).
 *   ex05_reducer     graded exercise 05.3: summing runs of equal keys.
 */
#include "harness.h"

#include "../05-mapreduce/kvline.h"
#include "../05-mapreduce/words.h"
#include "fuzz/words_ref.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

/* The words of buf[0..n), each followed by '\n' (malloc'd). */
static char *words_of(const char *buf, size_t n, size_t *count)
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

static char *ref_words_of(const char *buf, size_t n)
{
    ref_words w = {0};
    ref_scan(buf, n, &w);
    if (w.s == NULL)
        w.s = calloc(1, 1);
    return w.s;
}

static void assert_words(const char *in, size_t n, const char *want)
{
    char *got = words_of(in, n, NULL);
    cr_assert_str_eq(got, want, "words of '%.*s':\n got: %s\nwant: %s", (int)n,
                     in, got, want);
    free(got);
}
#define ASSERT_WORDS(lit, want) assert_words((lit), sizeof(lit) - 1, (want))

/* Run a command line through /bin/sh with stdin (may hold NUL bytes). */
static run_result sh_in(const char *in, size_t len, const char *cmd)
{
    return run_with(
        &(run_opts){.argv = (const char *const[]){"/bin/sh", "-c", cmd, NULL},
                    .in = in,
                    .in_len = len});
}

static run_result prog_in(const char *in, size_t len, const char *const *argv)
{
    return run_with(&(run_opts){.argv = argv, .in = in, .in_len = len});
}

/* mapper (with its options) | LC_ALL=C sort | reducer, one stage at a time
 * so that each stage's exit status is checked.  Returns reducer output. */
static char *pipeline(const char *in, size_t len, const char *const *mapper)
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
#define MAPPER(...) ((const char *const[]){"wc_mapper", __VA_ARGS__, NULL})

static const char lecture[] = "Deer Bear River\nCar Car River\nDeer Car Bear\n";
static const char lecture_counts[] = "bear\t2\ncar\t3\ndeer\t2\nriver\t2\n";

/* A text with every kind of ASCII separator the tr pipeline must agree on. */
static const char ascii_fixture[] =
    "The quick brown fox -- jumps_over the LAZY dog's back!\r\n"
    "It's 2024: HTTP/2, x86_64, C11 & POSIX.1-2008; e-mail@host.org\t(tab)\n"
    "\"Quoted\" [brackets] {braces} <angle> a+b=c*d/e%f^g|h~i`j\\k\n"
    "\x01\x02\x1b[31mred\x1b[0m \x7f del  trailing   spaces   \n"
    "no trailing newline ENDS here";

/* ---- lab05_words: the tokenizer ----------------------------------------- */

TestSuite(lab05_words, .timeout = 60);

Test(lab05_words, ascii_words_equal_the_tr_pipeline)
{
    char *got = words_of(ascii_fixture, sizeof ascii_fixture - 1, NULL);
    run_result r =
        sh_in(ascii_fixture, sizeof ascii_fixture - 1,
              "LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' | LC_ALL=C tr 'A-Z' 'a-z' "
              "| grep -v '^$'");
    cr_assert_eq(r.exit_code, 0, "the tr pipeline failed: %s", r.err);
    cr_assert_str_eq(got, r.out,
                     "tokenizer vs tr pipeline:\n got: %s\nwant: %s", got,
                     r.out);
    free(got);
    run_free(&r);
}

Test(lab05_words, every_ascii_byte_agrees_with_the_tr_pipeline)
{
    /* All 128 ASCII bytes, NUL included, in a pseudo-random order with
     * letters and digits mixed in, 64 KiB of it. */
    enum { N = 1 << 16 };
    char *buf = malloc(N);
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        unsigned v = (x >> 16) & 0xff;
        if (v < 128)
            buf[i] = (char)v;
        else
            buf[i] = "aZ9q"[v & 3];
    }
    char *got = words_of(buf, N, NULL);
    run_result r =
        sh_in(buf, N,
              "LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' | LC_ALL=C tr 'A-Z' 'a-z' "
              "| grep -v '^$'");
    cr_assert_eq(r.exit_code, 0, "the tr pipeline failed: %s", r.err);
    cr_assert(strcmp(got, r.out) == 0,
              "tokenizer and tr pipeline differ on random ASCII");
    free(got);
    free(buf);
    run_free(&r);
}

Test(lab05_words, cyrillic_is_read_and_lowercased)
{
    ASSERT_WORDS("Привет, МИР! Ёлка и ёжик.", "привет\nмир\nёлка\nи\nёжик\n");
    ASSERT_WORDS("ЁЁЁ ЪЬ", "ёёё\nъь\n");
    ASSERT_WORDS("Москва-река", "москва\nрека\n");
}

Test(lab05_words, mixed_scripts_and_unicode_digits_are_words)
{
    ASSERT_WORDS("HTTP2 Straße ÀÉÎ Ελληνικά 中文字 ١٢٣ x٣y",
                 "http2\nstraße\nàéî\nελληνικά\n中文字\n١٢٣\nx٣y\n");
    /* Mixed scripts in one run stay one word. */
    ASSERT_WORDS("Wordcount-Счётчик: abcДЕЖ", "wordcount\nсчётчик\nabcдеж\n");
    /* Outside the BMP: Deseret capital U+10400 lowercases to U+10428. */
    ASSERT_WORDS("\xf0\x90\x90\x80x", "\xf0\x90\x90\xa8x\n");
}

Test(lab05_words, underscore_punctuation_and_symbols_separate)
{
    ASSERT_WORDS("foo_bar it's a-b a.b", "foo\nbar\nit\ns\na\nb\na\nb\n");
    /* Unicode punctuation, dashes, symbols, emoji separate too. */
    ASSERT_WORDS("один—два «три» 5€ ok😀ok", "один\nдва\nтри\n5\nok\nok\n");
    /* A combining accent (U+0301) is not a letter: decomposed é splits. */
    ASSERT_WORDS("e\xcc\x81t\xc3\xa9", "e\nt\xc3\xa9\n");
}

Test(lab05_words, invalid_utf8_of_every_kind_separates_words)
{
    ASSERT_WORDS("a\xc0\xafz", "a\nz\n");         /* overlong '/' (2 bytes) */
    ASSERT_WORDS("a\xc1\xbfz", "a\nz\n");         /* C1: always overlong */
    ASSERT_WORDS("a\xe0\x80\xafz", "a\nz\n");     /* overlong (3 bytes) */
    ASSERT_WORDS("a\xf0\x80\x80\xafz", "a\nz\n"); /* overlong (4 bytes) */
    ASSERT_WORDS("a\xed\xa0\x80z", "a\nz\n");     /* surrogate U+D800 */
    ASSERT_WORDS("a\xed\xbf\xbfz", "a\nz\n");     /* surrogate U+DFFF */
    ASSERT_WORDS("a\xf4\x90\x80\x80z", "a\nz\n"); /* U+110000 */
    ASSERT_WORDS("a\xf5\x80\x80\x80z", "a\nz\n"); /* F5: beyond Unicode */
    ASSERT_WORDS("a\xffz\xfez", "a\nz\nz\n");     /* FF, FE */
    ASSERT_WORDS("a\x80z\xbfz", "a\nz\nz\n");     /* stray continuations */
    ASSERT_WORDS("a\xd0z", "a\nz\n");         /* lead byte, no continuation */
    ASSERT_WORDS("a\xe2\x82z", "a\nz\n");     /* truncated 3-byte */
    ASSERT_WORDS("a\xf0\x9f\x98z", "a\nz\n"); /* truncated 4-byte */
    ASSERT_WORDS("ab\xd0", "ab\n");           /* truncated at the end */
    ASSERT_WORDS("\xd0\xd0\x9f", "п\n");      /* bad lead, then a valid П */
    /* An invalid byte inside a Cyrillic word splits it in two. */
    ASSERT_WORDS("При\xffвет", "при\nвет\n");
}

Test(lab05_words, the_decoder_accepts_exactly_rfc3629)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp; /* 0: must be rejected */
    } cases[] = {
        {"\x7f", 1, 0x7f},
        {"\xc2\x80", 2, 0x80},
        {"\xdf\xbf", 2, 0x7ff},
        {"\xe0\xa0\x80", 3, 0x800},
        {"\xed\x9f\xbf", 3, 0xd7ff},
        {"\xee\x80\x80", 3, 0xe000},
        {"\xef\xbf\xbf", 3, 0xffff},
        {"\xf0\x90\x80\x80", 4, 0x10000},
        {"\xf4\x8f\xbf\xbf", 4, 0x10ffff},
        {"\xc0\x80", 2, 0},
        {"\xc1\xbf", 2, 0},
        {"\xe0\x9f\xbf", 3, 0},
        {"\xed\xa0\x80", 3, 0},
        {"\xf0\x8f\xbf\xbf", 4, 0},
        {"\xf4\x90\x80\x80", 4, 0},
        {"\xf8\x88\x80\x80\x80", 5, 0},
        {"\x80", 1, 0},
        {"\xc3", 1, 0},
        {"\xc3\x28", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0xdead;
        size_t k = words_utf8_decode((const unsigned char *)cases[i].s,
                                     cases[i].len, &cp);
        if (cases[i].cp) {
            cr_assert_eq(k, cases[i].len, "case %zu: valid sequence rejected",
                         i);
            cr_assert_eq(cp, cases[i].cp, "case %zu: U+%04X decoded as U+%04X",
                         i, cases[i].cp, cp);
            unsigned char enc[4];
            cr_assert_eq(words_utf8_encode(cp, enc), k);
            cr_assert(memcmp(enc, cases[i].s, k) == 0,
                      "case %zu: re-encoding differs", i);
        } else {
            cr_assert_eq(k, 0, "case %zu: invalid sequence accepted as U+%04X",
                         i, cp);
        }
    }
}

Test(lab05_words, nul_bytes_crlf_and_a_missing_final_newline)
{
    ASSERT_WORDS("one\0two\0\0three", "one\ntwo\nthree\n");
    ASSERT_WORDS("Line One\r\nLine Two\r\n", "line\none\nline\ntwo\n");
    ASSERT_WORDS("last word", "last\nword\n");
    ASSERT_WORDS("", "");
    ASSERT_WORDS(" \t\r\n\0!?", "");
    ASSERT_WORDS("x", "x\n");
}

Test(lab05_words, lowercasing_may_change_the_length_of_a_word)
{
    /* U+023A (2 bytes) lowercases to U+2C65 (3 bytes); U+0130 (2 bytes) to
     * 'i' (1 byte).  200 of them cross the tokenizer's on-stack scratch
     * buffer into the heap: a regression test for losing the bytes
     * already written when the buffer moved. */
    ASSERT_WORDS("\xc8\xba", "\xe2\xb1\xa5\n");
    ASSERT_WORDS("\xc4\xb0stanbul", "istanbul\n");
    char in[400 + 1], want[600 + 2];
    for (int i = 0; i < 200; i++) {
        in[2 * i] = '\xc8'; /* U+023A */
        in[2 * i + 1] = '\xba';
        want[3 * i] = '\xe2'; /* U+2C65 */
        want[3 * i + 1] = '\xb1';
        want[3 * i + 2] = '\xa5';
    }
    want[600] = '\n';
    want[601] = '\0';
    assert_words(in, 400, want);
}

Test(lab05_words, a_very_long_word_is_one_word)
{
    /* 8 MiB of mixed-case ASCII, then 2 MiB of Cyrillic, in one word. */
    size_t a = 8u << 20, c = 2u << 20;
    char *buf = malloc(a + c + 1);
    for (size_t i = 0; i < a; i++)
        buf[i] = (i & 1) ? 'B' : 'a';
    for (size_t i = 0; i < c; i += 2)
        buf[a + i] = '\xd0', buf[a + i + 1] = '\x96'; /* Ж */
    buf[a + c] = ' ';
    size_t count = 0;
    char *got = words_of(buf, a + c + 1, &count);
    cr_assert_eq(count, 1);
    cr_assert_eq(strlen(got), a + c + 1);
    for (size_t i = 0; i < a; i++)
        if (got[i] != ((i & 1) ? 'b' : 'a'))
            cr_assert_fail("byte %zu of the long word is wrong", i);
    cr_assert(memcmp(got + a, "\xd0\xb6", 2) == 0, "Ж must become ж");
    free(got);
    free(buf);
}

Test(lab05_words, words_cut_never_splits_a_word)
{
    static const char text[] = "Привет мир_hello, wörld!\xff"
                               "abc\xe2\x82 x٣y end";
    size_t n = sizeof text - 1;
    char *all = words_of(text, n, NULL);
    for (size_t off = 0; off <= n; off++) {
        size_t cut = words_cut(text, n, off);
        cr_assert(cut >= off && cut <= n);
        cr_assert(cut == n || ((unsigned char)text[cut] < 0x80 &&
                               strchr("_ ,!", text[cut]) != NULL),
                  "cut at %zu is not an ASCII separator", cut);
        ref_words w = {0};
        words_scan(text, cut, ref_collect, &w);
        words_scan(text + cut, n - cut, ref_collect, &w);
        cr_assert_str_eq(w.s ? w.s : "", all,
                         "cutting at %zu (from %zu) changed the words", cut,
                         off);
        free(w.s);
    }
    cr_assert_eq(words_cut("abc", 3, 0), 3, "no separator: the end");
    cr_assert_eq(words_cut("ab cd", 5, 1), 2);
    cr_assert_eq(words_cut("ab cd", 5, 2), 2, "already at a separator");
    cr_assert_eq(words_cut("", 0, 0), 0);
    free(all);
}

Test(lab05_words, words_cut_back_finds_the_last_separator)
{
    cr_assert_eq(words_cut_back("ab cd", 5), 3);
    cr_assert_eq(words_cut_back("ab cd ", 6), 6);
    cr_assert_eq(words_cut_back("abcd", 4), 0, "no separator at all");
    cr_assert_eq(words_cut_back("ab \xd0", 4), 3,
                 "a split UTF-8 sequence is carried over");
    cr_assert_eq(words_cut_back("", 0), 0);
}

Test(lab05_words, agrees_with_the_slow_reference_on_random_inputs)
{
    /* Fragments chosen to hit every branch: ASCII of each class, valid
     * 2/3/4-byte letters, non-letters, and every kind of invalid byte. */
    static const char *const frag[] = {
        "a",
        "Z",
        "7",
        " ",
        "_",
        "\n",
        "\0",
        "\xc3\xa9",
        "\xc3\x89",
        "\xd0\x81",
        "\xd1\x91",
        "\xc8\xba",
        "\xc4\xb0",
        "\xe4\xb8\xad",
        "\xe2\x80\x94",
        "\xd9\xa3",
        "\xf0\x90\x90\x80",
        "\xf0\x9f\x98\x80",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\x80",
        "\xff",
        "\xe2\x82",
        "\xf0",
        "\xcc\x81",
        "\xef\xbf\xbd",
    };
    static const size_t flen[] = {1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3,
                                  3, 2, 4, 4, 2, 3, 4, 1, 1, 2, 1, 2, 3};
    enum { NF = sizeof frag / sizeof frag[0] };
    _Static_assert(sizeof flen / sizeof flen[0] == NF,
                   "one length per fragment");
    uint32_t x = 2024;
    char buf[256];
    for (int round = 0; round < 5000; round++) {
        size_t n = 0;
        while (n < sizeof buf - 4) {
            x = x * 1664525u + 1013904223u;
            if ((x >> 28) == 0)
                break;
            size_t f = (x >> 8) % NF;
            memcpy(buf + n, frag[f], flen[f]);
            n += flen[f];
        }
        char *got = words_of(buf, n, NULL);
        char *want = ref_words_of(buf, n);
        cr_assert_str_eq(got, want, "round %d: tokenizer vs reference", round);
        free(got);
        free(want);
    }
}

struct scan_job {
    const char *buf;
    size_t n;
    char *out;
};

static void *scan_thread(void *arg)
{
    struct scan_job *j = arg;
    ref_words w = {0};
    for (int i = 0; i < 20; i++) {
        free(w.s);
        w = (ref_words){0};
        words_scan(j->buf, j->n, ref_collect, &w);
    }
    j->out = w.s;
    return NULL;
}

Test(lab05_words, threads_scanning_at_once_get_the_same_words)
{
    static const char text[] =
        "Привет МИР hello WORLD straße \xc8\xba\xc8\xba x";
    char *want = words_of(text, sizeof text - 1, NULL);
    pthread_t t[4];
    struct scan_job j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (struct scan_job){text, sizeof text - 1, NULL};
        cr_assert_eq(pthread_create(&t[i], NULL, scan_thread, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_str_eq(j[i].out, want, "thread %d", i);
        free(j[i].out);
    }
    free(want);
}

/* ---- lab05_streaming: the two programs ---------------------------------- */

TestSuite(lab05_streaming, .timeout = 60);

Test(lab05_streaming, the_lecture_example_gives_the_slide_counts)
{
    char *out = pipeline(lecture, 0, MAPPER("--max-distinct", "65536"));
    cr_assert_str_eq(out, lecture_counts);
    free(out);
}

Test(lab05_streaming, the_mapper_combines_each_word_to_one_line)
{
    run_result r = RUN_IN("b a B b A c", "wc_mapper");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(count_substr(r.out, "\n"), 3, "one line per distinct word: %s",
                 r.out);
    cr_assert(strstr(r.out, "a\t2\n") && strstr(r.out, "b\t3\n") &&
                  strstr(r.out, "c\t1\n"),
              "got: %s", r.out);
    run_free(&r);
}

Test(lab05_streaming, the_textbook_mapper_emits_one_for_every_word)
{
    run_result r = RUN_IN("b a B b", "wc_mapper", "--max-distinct", "0");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "b\t1\na\t1\nb\t1\nb\t1\n");
    run_free(&r);
}

Test(lab05_streaming, empty_input_gives_empty_output)
{
    run_result m = RUN_IN("", "wc_mapper");
    cr_assert_eq(m.exit_code, 0);
    cr_assert_eq(m.out_len, 0);
    run_result r = RUN_IN("", "wc_reducer");
    cr_assert_eq(r.exit_code, 0);
    cr_assert_eq(r.out_len, 0);
    run_free(&m);
    run_free(&r);
}

Test(lab05_streaming, the_mapper_counts_words_across_read_boundaries)
{
    /* 3 MiB of text: words straddle every read(2) and pipe-buffer edge. */
    static const char unit[] = "alpha Beta gamma\xd0\x96 ";
    size_t ulen = sizeof unit - 1, reps = (3u << 20) / ulen;
    char *buf = malloc(reps * ulen);
    for (size_t i = 0; i < reps; i++)
        memcpy(buf + i * ulen, unit, ulen);
    char *out = pipeline(buf, reps * ulen, MAPPER("--max-distinct", "65536"));
    char want[200];
    snprintf(want, sizeof want, "alpha\t%zu\nbeta\t%zu\ngamma\xd0\xb6\t%zu\n",
             reps, reps, reps);
    cr_assert_str_eq(out, want);
    free(out);
    free(buf);
}

Test(lab05_streaming, a_single_word_longer_than_the_read_buffer_is_counted_once)
{
    size_t n = 5u << 20;
    char *buf = malloc(n);
    memset(buf, 'W', n);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_mapper", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(r.out_len, n + 3, "want one line 'www...w<TAB>1'");
    cr_assert(r.out[0] == 'w' && r.out[n - 1] == 'w' &&
              memcmp(r.out + n, "\t1\n", 3) == 0);
    run_free(&r);
    free(buf);
}

/* Pseudo-random bytes, all 256 values (binary input). */
static char *random_bytes(size_t n, uint32_t seed)
{
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (char)(seed >> 24);
    }
    return buf;
}

Test(lab05_streaming, the_mappers_output_on_binary_input_is_well_formed)
{
    size_t n = 1u << 20;
    char *buf = random_bytes(n, 7);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_mapper", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* Every line is word<TAB>count, the word valid UTF-8 made of word
     * characters only, and the counts add up to the number of words. */
    size_t words = 0;
    free(words_of(buf, n, &words));
    uint64_t total = 0;
    size_t lines = 0;
    for (char *p = r.out; p < r.out + r.out_len;) {
        char *nl = memchr(p, '\n', (size_t)(r.out + r.out_len - p));
        cr_assert(nl != NULL, "the last line has no newline");
        kvline kv;
        cr_assert_eq(kvline_parse(p, (size_t)(nl - p), &kv), KVLINE_OK,
                     "line %zu is not word<TAB>count", lines + 1);
        size_t nw = 0;
        char *again = words_of(kv.key, kv.key_len, &nw);
        cr_assert_eq(nw, 1, "key of line %zu is not one word", lines + 1);
        cr_assert(strlen(again) == kv.key_len + 1 &&
                      memcmp(again, kv.key, kv.key_len) == 0,
                  "key of line %zu is not a lowercased word", lines + 1);
        free(again);
        total += kv.value;
        lines++;
        p = nl + 1;
    }
    cr_assert_eq(total, words, "the counts must add up to the %zu words",
                 words);
    run_free(&r);
    free(buf);
}

Test(lab05_streaming, the_reducer_fails_cleanly_on_binary_input)
{
    size_t n = 1u << 16;
    char *buf = random_bytes(n, 11);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_reducer", NULL});
    cr_assert_eq(r.exit_code, 1,
                 "binary input is malformed: exit 1, got %d (signal %d)",
                 r.exit_code, r.signal);
    cr_assert(strstr(r.err, "wc_reducer: line 1: "), "got: %s", r.err);
    cr_assert_eq(count_substr(r.err, "\n"), 1, "one line on stderr: %s", r.err);
    run_free(&r);
    free(buf);
}

Test(lab05_streaming, the_mapper_ignores_the_users_locale)
{
    static const char text[] = "Привет МИР straße ÀÉ";
    const char *envs[][2] = {{"LC_ALL=C", NULL},
                             {"LC_ALL=C.UTF-8", NULL},
                             {"LC_ALL=tr_TR.UTF-8", NULL}};
    char *first = NULL;
    for (int i = 0; i < 3; i++) {
        run_result r = run_with(
            &(run_opts){.argv = (const char *const[]){"wc_mapper", NULL},
                        .in = text,
                        .env = envs[i]});
        cr_assert_eq(r.exit_code, 0, "%s: %s", envs[i][0], r.err);
        cr_assert(strstr(r.out, "привет\t1\n") && strstr(r.out, "àé\t1\n"),
                  "%s: got %s", envs[i][0], r.out);
        if (first == NULL) {
            first = r.out;
            r.out = NULL;
        } else {
            cr_assert_str_eq(r.out, first, "output depends on %s", envs[i][0]);
        }
        run_free(&r);
    }
    free(first);
}

/* The fixtures the pipeline must get exactly right. */
static const struct {
    const char *name;
    const char *data;
    size_t len;
} fixtures[] = {
    {"lecture", lecture, sizeof lecture - 1},
    {"ascii", ascii_fixture, sizeof ascii_fixture - 1},
    {"cyrillic", "Привет, МИР! Ёлка и ёжик. привет мир\r\n", 0},
    {"invalid-utf8", "a\xc0\xafz \xed\xa0\x80 a\xffz \xe2\x82", 0},
    {"nul-bytes", "one\0two\0one", 11},
    {"empty", "", 0},
    {"one-word", "word", 0},
};

Test(lab05_streaming, the_pipeline_equals_wordcount_byte_for_byte)
{
    cr_assert(
        file_exists(bin_path("wordcount")),
        "%s is not built: make wordcount (the pipeline is checked against it)",
        bin_path("wordcount"));
    char *dir = make_tmpdir();
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        size_t len =
            fixtures[i].len ? fixtures[i].len : strlen(fixtures[i].data);
        char *path = path_join(dir, fixtures[i].name);
        write_file(path, fixtures[i].data, len);
        run_result w = RUN("wordcount", path);
        cr_assert_eq(w.exit_code, 0, "wordcount %s: %s", fixtures[i].name,
                     w.err);
        char *p =
            pipeline(fixtures[i].data, len, MAPPER("--max-distinct", "65536"));
        cr_assert_str_eq(p, w.out, "%s: pipeline vs ./wordcount",
                         fixtures[i].name);
        free(p);
        free(path);
        run_free(&w);
    }
    rm_rf(dir);
    free(dir);
}

Test(lab05_streaming, the_reducer_rejects_malformed_lines_with_the_line_number)
{
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"a\t1\nb\tx\n", "wc_reducer: line 2: value 'x' is not a count"},
        {"a\t1\nb\t2\nno tab here\n",
         "wc_reducer: line 3: no TAB between key and value"},
        {"\t5\n", "wc_reducer: line 1: empty key"},
        {"a\t-3\n", "wc_reducer: line 1: value '-3' is negative"},
        {"a\t\n", "wc_reducer: line 1: value '' is not a count"},
        {"a\t+1\n", "line 1: value '+1' is not a count"},
        {"a\t 1\n", "line 1: value ' 1' is not a count"},
        {"a\t1 \n", "line 1: value '1 ' is not a count"},
        {"a\t0x10\n", "line 1: value '0x10' is not a count"},
        {"a\t1e3\n", "line 1: value '1e3' is not a count"},
        {"a\t4\r\n", "line 1: value '4?' is not a count"},
        {"a\t1\t2\n", "line 1: value '1?2' is not a count"},
        {"a\t18446744073709551616\n",
         "line 1: value '18446744073709551616' does not fit in a 64-bit count"},
        {"a\t99999999999999999999\n", "does not fit in a 64-bit count"},
        {"\n", "line 1: no TAB"},
        {"b\t1\na\t1\n",
         "line 2: key 'a' comes after 'b': the input must be sorted"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN_IN(bad[i].in, "wc_reducer");
        cr_assert_eq(r.exit_code, 1, "input %zu ('%s'): want exit 1, got %d", i,
                     bad[i].in, r.exit_code);
        cr_assert(strstr(r.err, bad[i].msg),
                  "input %zu: want '%s' on stderr, got: %s", i, bad[i].msg,
                  r.err);
        cr_assert_eq(count_substr(r.err, "\n"), 1, "one line on stderr: %s",
                     r.err);
        run_free(&r);
    }
}

Test(lab05_streaming, the_reducer_accepts_the_edges_of_the_format)
{
    struct {
        const char *in, *out;
    } ok[] = {
        {"a\t18446744073709551615\n", "a\t18446744073709551615\n"}, /* 2^64-1 */
        {"a\t007\n", "a\t7\n"}, /* leading zeros */
        {"a\t0\n", "a\t0\n"},
        {"last\t3", "last\t3\n"}, /* no final newline */
        {"a b\t1\n", "a b\t1\n"}, /* a key may hold spaces */
        {"\xd0\xbc\xd0\xb8\xd1\x80\t2\n", "\xd0\xbc\xd0\xb8\xd1\x80\t2\n"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        run_result r = RUN_IN(ok[i].in, "wc_reducer");
        cr_assert_eq(r.exit_code, 0, "input %zu: %s", i, r.err);
        cr_assert_str_eq(r.out, ok[i].out, "input %zu", i);
        run_free(&r);
    }
}

Test(lab05_streaming, the_reducer_takes_keys_of_any_length)
{
    size_t k = 1u << 20;
    char *in = malloc(k + 4);
    memset(in, 'k', k);
    memcpy(in + k, "\t1\n", 3);
    run_result r =
        prog_in(in, k + 3, (const char *const[]){"wc_reducer", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(r.out_len, k + 3);
    cr_assert(memcmp(r.out, in, k + 3) == 0);
    run_free(&r);
    free(in);
}

Test(lab05_streaming, the_line_parser_is_strict)
{
    kvline kv;
    cr_assert_eq(kvline_parse("w\t12", 4, &kv), KVLINE_OK);
    cr_assert_eq(kv.key_len, 1);
    cr_assert_eq(kv.value, 12);
    cr_assert_eq(kvline_parse("w12", 3, &kv), KVLINE_NO_TAB);
    cr_assert_eq(kvline_parse("\t1", 2, &kv), KVLINE_EMPTY_KEY);
    cr_assert_eq(kvline_parse("w\t-1", 4, &kv), KVLINE_NEGATIVE);
    cr_assert_eq(kvline_parse("w\t", 2, &kv), KVLINE_NOT_COUNT);
    cr_assert_eq(kvline_parse("w\t99999999999999999999x", 23, &kv),
                 KVLINE_NOT_COUNT);
    cr_assert_eq(kvline_parse("w\t18446744073709551616", 22, &kv),
                 KVLINE_OVERFLOW);
    cr_assert_eq(kvline_parse("w\t18446744073709551615", 22, &kv), KVLINE_OK);
    cr_assert_eq(kv.value, UINT64_MAX);
    /* The parser reads only [0, len): a digit past the end is not seen. */
    cr_assert_eq(kvline_parse("w\t19", 3, &kv), KVLINE_OK);
    cr_assert_eq(kv.value, 1);
    uint64_t s = UINT64_MAX - 1;
    cr_assert(kvline_add(&s, 1));
    cr_assert_eq(s, UINT64_MAX);
    cr_assert(!kvline_add(&s, 1), "2^64 must overflow");
    cr_assert_eq(s, UINT64_MAX, "an overflowing add must leave the sum alone");
    char num[20];
    cr_assert_eq(kvline_format_u64(UINT64_MAX, num), 20);
    cr_assert(memcmp(num, "18446744073709551615", 20) == 0);
    cr_assert_eq(kvline_format_u64(0, num), 1);
    cr_assert_eq(num[0], '0');
}

Test(lab05_streaming, help_prints_an_example_and_exits_0)
{
    const char *progs[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        run_result r = RUN(progs[i], "--help");
        cr_assert_eq(r.exit_code, 0);
        cr_assert(strstr(r.out, "usage: ") && strstr(r.out, "Example"), "%s",
                  r.out);
        cr_assert_eq(r.err_len, 0);
        run_free(&r);
    }
}

Test(lab05_streaming, bad_arguments_exit_2_naming_the_option)
{
    static const char *const bad_values[] = {
        "abc", "-1", "99999999999999999999", "1e3", "", "100000001", "2.5"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        run_result r = RUN("wc_mapper", "--max-distinct", bad_values[i]);
        assert_usage_error(&r, "--max-distinct");
        run_free(&r);
    }
    run_result r = RUN("wc_mapper", "-c", "x");
    assert_usage_error(&r, "--max-distinct");
    run_free(&r);
    r = RUN("wc_mapper", "--max-distinct");
    assert_usage_error(&r, "--max-distinct");
    run_free(&r);
    const char *progs[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        r = RUN(progs[i], "--frobnicate");
        assert_usage_error(&r, "--frobnicate");
        run_free(&r);
        r = RUN(progs[i], "-x");
        assert_usage_error(&r, "-x");
        run_free(&r);
        r = RUN(progs[i], "input.txt");
        assert_usage_error(&r, "input.txt");
        run_free(&r);
    }
}

/* ---- ex05_reducer: exercise 05.3, summing runs of equal keys -------------- */

EXERCISE(ex05_reducer, "05", "the streaming reducer", 4);

Test(ex05_reducer, sums_a_run_of_equal_keys)
{
    run_result r = RUN_IN("a\t1\na\t2\nb\t5\nc\t1\nc\t1\nc\t1\n", "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "a\t3\nb\t5\nc\t3\n",
        "equal keys arrive one after another: add their values and print "
        "each key once, when its run ends (TODO 05.3 in wc_reducer.c)");
    run_free(&r);
}

Test(ex05_reducer, prints_the_last_run_at_end_of_input)
{
    run_result r = RUN_IN("x\t1\nx\t1", "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "x\t2\n",
        "the last key has no successor to close its run: print it at EOF");
    run_free(&r);
}

Test(ex05_reducer, the_textbook_mapper_pipeline_gives_the_totals)
{
    char *out = pipeline(lecture, 0, MAPPER("--max-distinct", "0"));
    cr_assert_str_eq(
        out, lecture_counts,
        "with 'word<TAB>1' per word the reducer does all the summing");
    free(out);
}

Test(ex05_reducer, partial_counts_from_many_map_tasks_add_up)
{
    /* As on a cluster: several map tasks (here: a mapper that flushes
     * after every 2 distinct words, on two inputs), one sort, one reduce. */
    run_result m1 = RUN_IN("Deer Bear River Deer", "wc_mapper", "-c", "2");
    run_result m2 =
        RUN_IN("Car Car River Deer Car Bear", "wc_mapper", "-c", "2");
    cr_assert_eq(m1.exit_code + m2.exit_code, 0);
    size_t n = m1.out_len + m2.out_len;
    char *both = malloc(n + 1);
    memcpy(both, m1.out, m1.out_len);
    memcpy(both + m1.out_len, m2.out, m2.out_len);
    both[n] = '\0';
    run_result s = sh_in(both, n, "LC_ALL=C exec sort");
    run_result r = RUN_IN(s.out, "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "bear\t2\ncar\t3\ndeer\t3\nriver\t2\n",
                     "the reducer must add up every partial count of a key");
    free(both);
    run_free(&m1);
    run_free(&m2);
    run_free(&s);
    run_free(&r);
}

Test(ex05_reducer, a_total_beyond_2_to_the_64_is_an_error_naming_the_line)
{
    run_result r =
        RUN_IN("a\t18446744073709551615\na\t0\na\t1\n", "wc_reducer");
    cr_assert_eq(
        r.exit_code, 1,
        "18446744073709551615 + 1 does not fit in 64 bits: exit 1, never wrap "
        "around to 0 (use kvline_add)");
    cr_assert(strstr(r.err, "line 3:") && strstr(r.err, "'a'"),
              "the message names the line and the key, got: %s", r.err);
    run_free(&r);
}
