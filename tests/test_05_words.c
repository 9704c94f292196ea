/*
 * test_05_words.c - lab 05's word rule and its Hadoop Streaming pair.
 *
 *   lab05_words      the tokenizer (words.h) on its own: the ASCII rule
 *                    against the coreutils `tr` pipeline, hand-checked
 *                    Cyrillic / mixed / invalid UTF-8 fixtures, NUL, CRLF,
 *                    long words, the cut functions, a comparison with the
 *                    slow reference of tests/fuzz/words_ref.h, and the
 *                    regressions found by the fuzzer; then the fast path:
 *                    the 64-byte block classifier (SIMD and portable), the
 *                    WORDS_PAD promise, and words on every block and
 *                    window edge against the reference.
 *   lab05_streaming  ./wc_mapper and ./wc_reducer as programs: the local
 *                    pipeline `wc_mapper | LC_ALL=C sort | wc_reducer`,
 *                    equality with ./wordcount, malformed reducer input
 *                    (line numbers, exit 1), bad arguments (exit 2).
 *   ex05_reducer     graded exercise 05.2: summing runs of equal keys.
 */
#include "harness.h"

#include "../05-mapreduce/kvline.h"
#include "../05-mapreduce/words.h"
#include "../05-mapreduce/words_internal.h"
#include "err.h"
#include "fuzz/words_ref.h"

#include <pthread.h>
#include <stdarg.h>
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

/* A byte string with its length (it may hold NULs): LIT("...") */
typedef struct {
    const char *s;
    size_t len;
} bytes_lit;
#define LIT(lit) \
    { \
        (lit), sizeof(lit) - 1 \
    }

/* Fragments for random inputs, chosen to hit every branch: ASCII of each
 * class, valid 2/3/4-byte letters, non-letters, and every kind of invalid
 * byte. */
static const bytes_lit random_frags[] = {
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
enum { NRF = sizeof random_frags / sizeof random_frags[0] };

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

/* ---- lab05_words: the fast path's edges ---------------------------------- */

/* The fast path (words.c) classifies 64-byte blocks, lowercases 4096 bytes
 * at a time, and falls back to a byte-at-a-time loop for non-ASCII words
 * and runs of 4096 word bytes: the tests below put words on every one of
 * those edges and compare with the slow reference. */
enum { BLK = WORDS_BLOCK, WIN = WORDS_WINDOW }; /* words_internal.h */

/* The classifier's contract, one byte at a time. */
static void classify_ref(const unsigned char *b, unsigned char *low,
                         uint64_t *word, uint64_t *high)
{
    *word = *high = 0;
    for (unsigned i = 0; i < BLK; i++) {
        unsigned c = b[i];
        int upper = c >= 'A' && c <= 'Z';
        int alnum = upper || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alnum || c >= 0x80)
            *word |= (uint64_t)1 << i;
        if (c >= 0x80)
            *high |= (uint64_t)1 << i;
        low[i] = (unsigned char)(upper ? c + ('a' - 'A') : c);
    }
}

static unsigned lowest_bit(uint64_t x) /* x != 0 */
{
    unsigned i = 0;
    while (!(x >> i & 1))
        i++;
    return i;
}

static const char *version_name(int portable)
{
    return portable ? "portable (SWAR)" : "default (SIMD)";
}

/* Fail, naming the first bit where mask got differs from want.  (The
 * message is built first: cppcheck's model of cr_assert_fail drops its
 * arguments and would call every variable they use unread.) */
static void mask_fail(const char *mask, const char *what, unsigned k,
                      const char *ver, const unsigned char *block, uint64_t got,
                      uint64_t want)
{
    unsigned i = lowest_bit(got ^ want);
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s %u, %s version: bit %u of the %s mask is %d for byte "
             "0x%02x (mask %016llx, want %016llx)",
             what, k, ver, i, mask, (int)(got >> i & 1), block[i],
             (unsigned long long)got, (unsigned long long)want);
    cr_assert_fail("%s", msg);
}

/* Classify block[0..64) with both versions, the input and the output at
 * the given misalignments (the input ending where its heap block does, for
 * AddressSanitizer), and compare with classify_ref(). */
static void check_block(const unsigned char *block, unsigned in_at,
                        unsigned out_at, const char *what, unsigned k)
{
    unsigned char *in = malloc(in_at + BLK), want_low[BLK];
    uint64_t want_word, want_high;
    cr_assert(in != NULL);
    memcpy(in + in_at, block, BLK);
    classify_ref(block, want_low, &want_word, &want_high);
    for (int portable = 0; portable <= 1; portable++) {
        const char *ver = version_name(portable);
        unsigned char out[BLK + 32];
        memset(out, 0xa5, sizeof out);
        uint64_t word = ~want_word, high = ~want_high;
        words_classify_block(in + in_at, portable, out + out_at, &word, &high);
        if (word != want_word)
            mask_fail("word", what, k, ver, block, word, want_word);
        if (high != want_high)
            mask_fail("high", what, k, ver, block, high, want_high);
        for (unsigned i = 0; i < BLK; i++)
            cr_assert_eq(out[out_at + i], want_low[i],
                         "%s %u, %s version: byte %u (0x%02x) lowered to "
                         "0x%02x, want 0x%02x",
                         what, k, ver, i, block[i], out[out_at + i],
                         want_low[i]);
        for (unsigned i = 0; i < sizeof out; i++)
            if (i < out_at || i >= out_at + BLK)
                cr_assert_eq(out[i], 0xa5,
                             "%s %u, %s version: wrote outside lowered[0..64) "
                             "(at %d)",
                             what, k, ver, (int)i - (int)out_at);
    }
    free(in);
}

Test(lab05_words,
     the_block_classifier_matches_a_byte_by_byte_rule_in_both_versions)
{
    unsigned char b[BLK];
    /* Every byte value at every position, with three neighbour orders
     * (byte i of block k is k + step*i: as k goes round, position i sees
     * all 256 values; an odd step also makes the 64 bytes of one block
     * all different). */
    static const unsigned steps[] = {1, 255, 101};
    for (unsigned s = 0; s < 3; s++)
        for (unsigned k = 0; k < 256; k++) {
            for (unsigned i = 0; i < BLK; i++)
                b[i] = (unsigned char)(k + steps[s] * i);
            check_block(b, k % 16, (k / 16) % 16, "stride block", k);
        }
    /* A block of one value, for each value. */
    for (unsigned k = 0; k < 256; k++) {
        memset(b, (int)k, sizeof b);
        check_block(b, 0, 0, "uniform block of byte", k);
    }
    /* Random blocks, half of their bytes on the edges of the classes. */
    static const unsigned char edge[] = {
        0x00, 0x01, 0x1f, 0x20, 0x2f, '0',  '9',  0x3a, 0x40, 'A',  'Z',  0x5b,
        0x5f, 0x60, 'a',  'z',  0x7b, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc1, 0xc2,
        0xd0, 0xda, 0xdb, 0xe0, 0xe1, 0xef, 0xf0, 0xfa, 0xfb, 0xff};
    uint32_t x = 77;
    for (unsigned k = 0; k < 2000; k++) {
        for (unsigned i = 0; i < BLK; i++) {
            x = x * 1664525u + 1013904223u;
            unsigned r = x >> 24;
            b[i] = (x & 0x8000) ? edge[r % sizeof edge] : (unsigned char)r;
        }
        check_block(b, k % 16, (k * 7) % 32, "random block", k);
    }
}

/* The callback of check_exact(): collects the words like ref_collect, and
 * reads the WORDS_PAD bytes after each (AddressSanitizer reports a read
 * past the end of the input or of a scratch buffer).  A word handed in
 * place, i.e. pointing into the scanned buffer, must end WORDS_PAD bytes
 * before its end: that is checked without a sanitizer too. */
typedef struct {
    ref_words w;
    uintptr_t lo, hi; /* the scanned buffer */
    size_t short_pads, first_short, empty;
    volatile unsigned sink;
} pad_ctx;

static void pad_reader(const char *word, size_t len, void *ctx)
{
    pad_ctx *c = ctx;
    uintptr_t p = (uintptr_t)word;
    if (p >= c->lo && p < c->hi && c->hi - p < len + WORDS_PAD &&
        c->short_pads++ == 0)
        c->first_short = (size_t)(p - c->lo);
    if (len == 0)
        c->empty++;
    unsigned sum = 0;
    for (size_t i = 0; i < len + WORDS_PAD; i++)
        sum += (unsigned char)word[i];
    c->sink = c->sink + sum;
    ref_collect(word, len, &c->w);
}

/* Fail, showing where two word lists ('\n' after each word) first differ. */
static void assert_same_words(const char *got, const char *want,
                              const char *what)
{
    if (strcmp(got, want) == 0)
        return;
    size_t i = 0, word = 0;
    for (; got[i] && got[i] == want[i]; i++)
        word += got[i] == '\n';
    size_t from = i > 24 ? i - 24 : 0;
    char msg[512]; /* built first: see mask_fail() */
    snprintf(msg, sizeof msg,
             "%s: tokenizer vs reference differ in word %zu (byte %zu of the "
             "list; %zu vs %zu bytes in all)\n got: ...%.64s\nwant: ...%.64s",
             what, word, i, strlen(got), strlen(want), got + from, want + from);
    cr_assert_fail("%s", msg);
}

/* Scan an exact-size heap copy of buf[0..n) (n > 0) with pad_reader and
 * compare with the reference; fmt... names the input in a failure. */
static void check_exact(const char *buf, size_t n, const char *fmt, ...)
    KIT_PRINTF(3, 4);

static void check_exact(const char *buf, size_t n, const char *fmt, ...)
{
    char *copy = malloc(n);
    cr_assert(copy != NULL);
    memcpy(copy, buf, n);
    pad_ctx c = {.lo = (uintptr_t)copy, .hi = (uintptr_t)copy + n};
    size_t count = words_scan(copy, n, pad_reader, &c);
    char *want = ref_words_of(buf, n);
    const char *got = c.w.s ? c.w.s : "";
    if (count != c.w.count || c.short_pads || c.empty ||
        strcmp(got, want) != 0) {
        char what[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        cr_assert_eq(count, c.w.count,
                     "%s: words_scan returned %zu but called back %zu times",
                     what, count, c.w.count);
        cr_assert_eq(c.empty, 0, "%s: %zu empty words were handed out", what,
                     c.empty);
        cr_assert_eq(c.short_pads, 0,
                     "%s (%zu bytes): %zu words handed in place with fewer "
                     "than WORDS_PAD bytes of the buffer after them, the "
                     "first at offset %zu",
                     what, n, c.short_pads, c.first_short);
        assert_same_words(got, want, what);
    }
    free(want);
    free(c.w.s);
    free(copy);
}

/* Copy the bytes of s (no NUL) to dst; returns how many. */
static size_t put_text(char *dst, const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        dst[n] = s[n];
    return n;
}

/* Fill w[0..len) with word bytes of one kind (a multi-byte letter is never
 * cut: an odd Cyrillic length ends with an ASCII letter). */
enum { LOWER, CAPS, DIGITS, CYRILLIC, CYR_CAPS, KINDS };
static const char *const kind_name[KINDS] = {
    "lowercase", "capitalised", "digits", "Cyrillic", "capital Cyrillic"};

static void fill_word(char *w, size_t len, int kind, size_t seed)
{
    for (size_t i = 0; i < len; i++) {
        size_t v = seed + i;
        switch (kind) {
        case LOWER: w[i] = (char)('a' + v % 26); break;
        case CAPS: w[i] = (char)((v % 3 ? 'a' : 'A') + v % 26); break;
        case DIGITS: w[i] = (char)('0' + v % 10); break;
        default:
            if (i + 1 < len) { /* Ж/ж (d0 96 / d0 b6), Я/я (d0 af / d1 8f) */
                int cap = kind == CYR_CAPS || v % 4 == 0;
                int ya = v % 5 == 0;
                w[i] = ya && !cap ? '\xd1' : '\xd0';
                w[i + 1] =
                    (char)(ya ? (cap ? 0xaf : 0x8f) : (cap ? 0x96 : 0xb6));
                i++;
            } else {
                w[i] = 'Q';
            }
        }
    }
}

/* What separates, in turn: ASCII of several kinds, NUL, an invalid byte
 * (a high byte in the run: the slow path), a Unicode dash. */
static const char *const seps[] = {" ",    "\n",           "\0",   "_",
                                   "\xff", "\xe2\x80\x94", ".\r\n"};
static const size_t sep_len[] = {1, 1, 1, 1, 1, 3, 3};
enum { NSEPS = sizeof seps / sizeof seps[0] };

Test(lab05_words, every_word_has_words_pad_readable_bytes_after_it)
{
    static const bytes_lit small[] = {
        LIT("a"),
        LIT("A"),
        LIT("abc"),
        LIT("abc "),
        LIT(" abc"),
        LIT("ABC"),
        LIT("ABC."),
        LIT("Abc"),
        LIT("\xd0\x96"),
        LIT("\xd0\x96 "),
        LIT("мир"),
        LIT("Мир"),
        LIT("мир "),
        LIT("a\xff"),
        LIT("\xffz"),
        LIT("ab\xd0"),
        LIT("ab\xd0 "),
        LIT("x\0"),
        LIT("x\0y"),
        LIT("Straße"),
        LIT("x٣y"),
        LIT("\xc8\xba"),
        LIT("\xc8\xba\xc8\xba "),
    };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        check_exact(small[i].s, small[i].len, "small input %zu ('%s')", i,
                    small[i].s);

    /* A word of each kind ending at each of the last bytes of buffers of
     * 1..140 bytes (the 64-byte block edges), with 0..2 separators after. */
    static const size_t lens[] = {1, 2, 5, 16, 17, 63, 64, 65};
    char buf[2 * WIN + 64];
    for (size_t n = 1; n <= 140; n++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (int kind = 0; kind < KINDS; kind++)
                for (size_t after = 0; after <= 2; after++) {
                    if (lens[l] + after > n)
                        continue;
                    memset(buf, ' ', n);
                    fill_word(buf + n - after - lens[l], lens[l], kind, n);
                    check_exact(buf, n,
                                "%s word of %zu bytes, %zu separators before "
                                "the end of %zu",
                                kind_name[kind], lens[l], after, n);
                }

    /* The same around the window edges: words ending at 4090..4100 and
     * 8188..8196, the buffer ending 0..3 or 15..17 bytes after them. */
    for (size_t end = WIN - 6; end <= 2 * WIN + 4; end++) {
        if (end == WIN + 5)
            end = 2 * WIN - 4;
        for (int kind = 0; kind < KINDS; kind++)
            for (size_t after = 0; after <= 17; after += after == 3 ? 12 : 1) {
                for (size_t i = 0; i < end + after; i++)
                    buf[i] = (char)(i % 7 == 6 ? ' ' : 'a' + i % 26);
                memset(buf + end - 20, ' ', 20 + after);
                fill_word(buf + end - 19, 19, kind, end);
                check_exact(buf, end + after,
                            "%s word ending at %zu, %zu separators after it",
                            kind_name[kind], end, after);
            }
    }

    /* Runs of WINDOW or more word bytes take the byte-at-a-time path on
     * the input itself: the short words in them may be handed in place. */
    static const char *const fill[] = {"\xff", "\xe2\x80\x94", "\x80",
                                       "\xd0\x96"};
    for (size_t f = 0; f < sizeof fill / sizeof fill[0]; f++)
        for (size_t after = 0; after <= 20; after++) {
            size_t n = 0, fl = strlen(fill[f]);
            while (n < WIN + 10) {
                memcpy(buf + n, fill[f], fl);
                n += fl;
            }
            n += put_text(buf + n, "abc");
            memset(buf + n, ' ', after);
            n += after;
            check_exact(buf, n,
                        "word after a %zu-byte run of '%s', %zu spaces after",
                        n - 3 - after, fill[f], after);
            buf[n - after - 4] = ' '; /* "... abc" */
            check_exact(buf, n, "the same with a space before the word");
        }
    /* And long words of every kind at the end, with and without a tail. */
    char *big = malloc(10050);
    cr_assert(big != NULL, "out of memory");
    for (int kind = 0; kind < KINDS; kind++)
        for (size_t len = 4094; len <= 10000; len += len < 4100 ? 1 : 5900)
            for (size_t after = 0; after <= 17; after += 17) {
                fill_word(big, len, kind, 3);
                memset(big + len, ' ', after);
                check_exact(big, len + after,
                            "%s word of %zu bytes, %zu spaces after it",
                            kind_name[kind], len, after);
            }
    free(big);
}

Test(lab05_words, words_straddling_blocks_at_every_offset_match_the_reference)
{
    /* Words of 1..200 bytes at offsets 0..130, after a prefix of other
     * words and before a separator and 80 more bytes (or the buffer's end):
     * every way a word can start, end and span 64-byte blocks. */
    char buf[512];
    static const char tail[] = "Then SOME more words, to pass the next "
                               "block edge: Ëлка 42 x";
    for (size_t off = 0; off <= 130; off++)
        for (size_t len = 1; len <= 200; len++) {
            int kind = (int)((off + len) % KINDS);
            size_t s = (off * 7 + len) % NSEPS;
            for (size_t i = 0; i < off; i++)
                buf[i] = "aBc9z "[i % 5 == 4 ? 5 : i % 5];
            if (off > 0)
                buf[off - 1] = '\n';
            fill_word(buf + off, len, kind, off);
            size_t n = off + len;
            memcpy(buf + n, seps[s], sep_len[s]);
            n += sep_len[s];
            memcpy(buf + n, tail, sizeof tail - 1);
            n += sizeof tail - 1;
            check_exact(buf, n,
                        "%s word of %zu bytes at offset %zu, then separator "
                        "%zu",
                        kind_name[kind], len, off, s);
            check_exact(buf, off + len,
                        "%s word of %zu bytes at offset %zu ending the buffer",
                        kind_name[kind], len, off);
        }
}

Test(lab05_words, words_of_4095_4096_4097_and_10000_bytes_are_one_word)
{
    static const size_t lens[] = {4095, 4096, 4097, 10000};
    static const size_t offs[] = {0, 1, 63, 64, 65, 4095};
    size_t cap = 4095 + 10000 + 64;
    char *buf = malloc(cap);
    cr_assert(buf != NULL, "out of memory");
    for (size_t l = 0; l < 4; l++)
        for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++)
            for (int kind = 0; kind < KINDS; kind++) {
                size_t off = offs[o], len = lens[l], n = off;
                for (size_t i = 0; i < off; i++)
                    buf[i] = i % 4 == 3 ? ' ' : 'K';
                if (off > 0)
                    buf[off - 1] = ' ';
                fill_word(buf + off, len, kind, l);
                n += len;
                put_text(buf + n, " and Two more"); /* 13 bytes */
                size_t pre = (off + 1) / 4; /* the words of the prefix */
                ref_words w = {0};
                words_scan(buf, n + 13, ref_collect, &w);
                cr_assert_eq(w.count, pre + 4,
                             "%s word of %zu bytes at offset %zu: %zu words, "
                             "want %zu",
                             kind_name[kind], len, off, w.count, pre + 4);
                free(w.s);
                check_exact(buf, n + 13, "%s word of %zu bytes at offset %zu",
                            kind_name[kind], len, off);
                check_exact(buf, n,
                            "%s word of %zu bytes at offset %zu ending the "
                            "buffer",
                            kind_name[kind], len, off);
            }
    free(buf);
}

Test(lab05_words, a_window_without_an_ascii_separator_is_scanned_exactly)
{
    /* 4096 bytes and more with no ASCII separator: one Cyrillic word, or
     * many words separated only by invalid bytes or Unicode punctuation. */
    static const char *const units[] = {
        "\xd0\x96",                         /* Ж: one long word */
        "zq\xffYZ\xff",                     /* invalid bytes separate */
        "мир\xe2\x80\x94Мир",               /* an em dash separates */
        "\x80",                             /* nothing but invalid bytes */
        "Ab\xd0\x96z\xc3\x28q\xed\xa0\x80", /* bad continuation, surrogate */
        "x\xe2\x82",                        /* truncated sequences */
    };
    char *buf = malloc(9100);
    cr_assert(buf != NULL, "out of memory");
    static const size_t sizes[] = {4095, 4096, 4097, 4100, 4160, 9000};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
            for (size_t pre = 0; pre < 3; pre++) {
                static const char *const prefix[] = {"", "A ", "x Ab\n"};
                size_t ul = strlen(units[u]), n = strlen(prefix[pre]);
                memcpy(buf, prefix[pre], n);
                size_t end = n + sizes[z];
                while (n < end) {
                    size_t k = end - n < ul ? end - n : ul;
                    memcpy(buf + n, units[u], k);
                    n += k;
                }
                check_exact(buf, n, "unit %zu, %zu bytes, prefix %zu", u,
                            sizes[z], pre);
                put_text(buf + n, " Tail"); /* 5 bytes */
                check_exact(buf, n + 5,
                            "unit %zu, %zu bytes, prefix %zu, "
                            "then ' Tail'",
                            u, sizes[z], pre);
            }
    free(buf);
}

Test(lab05_words, mixed_scripts_and_invalid_bytes_across_window_edges_match)
{
    /* ASCII text with one unit in it starting at 4072..4104 or
     * 8180..8200: a Cyrillic word starting at 4090 spans the first window's
     * edge, and so on. */
    static const bytes_lit units[] = {
        LIT("Привет"),
        LIT("Жук\xffЖУК"),
        LIT("ÀB\xe2\x82x"),
        LIT("abc\xe2\x80\x94Wxy"),
        LIT("\xd0"),
        LIT("Ёлка\0Ёж"),
        LIT("x\xf0\x90\x90\x80y"),
        LIT("\xc8\xba\xc8\xba"),
        LIT("ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ"),
    };
    char *buf = malloc(2 * WIN + 120);
    cr_assert(buf != NULL, "out of memory");
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (size_t at = WIN - 24; at <= 2 * WIN + 8; at++) {
            if (at == WIN + 9)
                at = 2 * WIN - 12;
            size_t ul = units[u].len, n = at + ul + 60;
            for (int glue = 0; glue <= 1; glue++) {
                /* glue 0: spaces around the unit; 1: glued to the text */
                for (size_t i = 0; i < n; i++)
                    buf[i] = "LoRem1psu "[i % 9 == 8 ? 9 : i % 9];
                if (glue == 0)
                    buf[at - 1] = buf[at + ul] = ' ';
                memcpy(buf + at, units[u].s, ul);
                check_exact(buf, n, "unit %zu at %zu, %s", u, at,
                            glue ? "glued to the text" : "between spaces");
                check_exact(buf, at + ul,
                            "unit %zu at %zu ending the buffer (%s)", u, at,
                            glue ? "glued" : "after a space");
            }
        }
    free(buf);
}

/* An ASCII separator, as words_cut_back() sees it. */
static int ascii_sep(unsigned char c)
{
    return c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9'));
}

Test(lab05_words, splitting_at_every_cut_back_point_keeps_the_words)
{
    /* 11.5 KB of mixed text, a 5000-byte word and a 4200-byte Cyrillic one
     * included: for every length m a reader may have, cut_back(m) must be a
     * safe place to split, and scanning the two sides apart must give the
     * words of the whole. */
    size_t cap = 20000, n = 0;
    char *text = malloc(cap);
    cr_assert(text != NULL, "out of memory");
    static const char *const parts[] = {
        "Hello, World! ", "Привет\xffМИР ", "x\0y ",    "a\xe2\x82 b ",
        "ÀÉÎ-x٣y\n",      "CamelCaseWord ", "_under_ ", "12345 ",
    };
    uint32_t x = 99;
    while (n < 11500) {
        x = x * 1664525u + 1013904223u;
        if (n > 1000 && n < 1100) {
            memset(text + n, 'Z', 5000);
            n += 5000;
        } else if (n > 6500 && n < 6600) {
            fill_word(text + n, 4200, CYRILLIC, 0);
            n += 4200;
        }
        size_t p = (x >> 24) % (sizeof parts / sizeof parts[0]);
        size_t pl = p == 2 ? 4 : strlen(parts[p]);
        memcpy(text + n, parts[p], pl);
        n += pl;
    }
    char *all = ref_words_of(text, n);
    size_t last = (size_t)-1;
    for (size_t m = 0; m <= n; m++) {
        size_t c = words_cut_back(text, m);
        cr_assert(c <= m, "cut_back(%zu) = %zu is past its end", m, c);
        cr_assert(
            c == 0 || ascii_sep((unsigned char)text[c - 1]),
            "cut_back(%zu) = %zu does not follow an ASCII separator (0x%02x)",
            m, c, (unsigned char)text[c - 1]);
        for (size_t i = c; i < m; i++)
            cr_assert(!ascii_sep((unsigned char)text[i]),
                      "cut_back(%zu) = %zu: byte %zu (0x%02x) is a later "
                      "separator",
                      m, c, i, (unsigned char)text[i]);
        if (c == last)
            continue;
        last = c;
        ref_words w = {0};
        /* exact sizes (malloc(0) aside), so over-reads are seen */
        char *left = malloc(c + (c == 0)), *right = malloc(n - c + (c == n));
        cr_assert(left != NULL && right != NULL, "out of memory");
        memcpy(left, text, c);
        memcpy(right, text + c, n - c);
        size_t k = words_scan(left, c, ref_collect, &w);
        k += words_scan(right, n - c, ref_collect, &w);
        cr_assert_eq(k, w.count,
                     "split at %zu: the counts add up to %zu, "
                     "not the %zu words called back",
                     c, k, w.count);
        char what[64];
        snprintf(what, sizeof what, "split at %zu (cut_back(%zu))", c, m);
        assert_same_words(w.s ? w.s : "", all, what);
        free(w.s);
        free(left);
        free(right);
    }
    free(all);
    free(text);
}

Test(lab05_words, agrees_with_the_slow_reference_on_inputs_of_several_windows)
{
    /* As agrees_with_the_slow_reference_on_random_inputs, on 10 KiB inputs
     * that cross windows, with longer ASCII runs and now and then a run of
     * 1000..4999 word bytes. */
    static const bytes_lit ascii[] = {LIT("abcdefghijklmnopqrstuvwxyz"),
                                      LIT("THE QUICK BROWN FOX ")};
    enum { NF = NRF + 2, N = 10240 };
    char *buf = malloc(N + 5000);
    cr_assert(buf != NULL, "out of memory");
    uint32_t x = 4242;
    for (int round = 0; round < 60; round++) {
        size_t n = 0;
        while (n < N) {
            x = x * 1664525u + 1013904223u;
            size_t f = (x >> 8) % NF;
            if ((x >> 27) == 0 && (x >> 20 & 1)) { /* a run of 1000..4999 */
                size_t r = 1000 + (x >> 12) % 4000;
                fill_word(buf + n, r, (int)((x >> 4) % KINDS), x);
                n += r;
                continue;
            }
            const bytes_lit *fr = f < NRF ? &random_frags[f] : &ascii[f - NRF];
            memcpy(buf + n, fr->s, fr->len);
            n += fr->len;
        }
        check_exact(buf, n, "round %d (%zu bytes)", round, n);
    }
    free(buf);
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
    run_result r = RUN("wc_mapper", "--max-distinct=x");
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

/* ---- ex05_reducer: exercise 05.2, summing runs of equal keys -------------- */

EXERCISE(ex05_reducer, "05", "the streaming reducer", 4);

Test(ex05_reducer, sums_a_run_of_equal_keys)
{
    run_result r = RUN_IN("a\t1\na\t2\nb\t5\nc\t1\nc\t1\nc\t1\n", "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "a\t3\nb\t5\nc\t3\n",
        "equal keys arrive one after another: add their values and print "
        "each key once, when its run ends (TODO 05.2 in wc_reducer.c)");
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
    run_result m1 =
        RUN_IN("Deer Bear River Deer", "wc_mapper", "--max-distinct", "2");
    run_result m2 = RUN_IN("Car Car River Deer Car Bear", "wc_mapper",
                           "--max-distinct", "2");
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
