/*
 * test_05_words.c - lab 05's word rule: the tokenizer (words.h) on its own.
 *
 *   lab05_words      the ASCII rule against the coreutils `tr` pipeline,
 *                    hand-checked Cyrillic / mixed / invalid UTF-8 fixtures,
 *                    NUL, CRLF, long words, the cut functions, a comparison
 *                    with the slow reference of tests/fuzz/words_ref.h, and
 *                    the regressions found by the fuzzer.
 *
 * The fast path's internals (the same suite, lab05_words) are tested in
 * test_05_words_fast.c, the streaming programs in test_05_streaming.c, the
 * graded exercises in test_05_exercises.c.
 */
#include "lab05_support.h"

#include "../05-mapreduce/words.h"
#include "fuzz/words_ref.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------- */

static void assert_words(const char *in, size_t n, const char *want)
{
    char *got = words_of(in, n, NULL);
    cr_assert_str_eq(got, want, "words of '%.*s':\n got: %s\nwant: %s", (int)n,
                     in, got, want);
    free(got);
}
#define ASSERT_WORDS(lit, want) assert_words((lit), sizeof(lit) - 1, (want))

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
    uint32_t x = 2024;
    char buf[256];
    for (int round = 0; round < 5000; round++) {
        size_t n = 0;
        while (n < sizeof buf - 4) {
            x = x * 1664525u + 1013904223u;
            if ((x >> 28) == 0)
                break;
            const bytes_lit *f = &random_frags[(x >> 8) % NRF];
            memcpy(buf + n, f->s, f->len);
            n += f->len;
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
