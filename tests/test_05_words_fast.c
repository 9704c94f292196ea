/*
 * test_05_words_fast.c - lab 05: the fast tokenizer's internals (words.c),
 * with its sizes from 05-mapreduce/words_internal.h: the 64-byte block
 * classifier (SIMD and portable), the WORDS_PAD promise, and words on every
 * block and window edge against the slow reference
 * (tests/fuzz/words_ref.h).
 *
 * These tests belong to the suite lab05_words, declared (with its timeout)
 * in test_05_words.c, where the word rule itself is tested.
 */
#include "lab05_support.h"

#include "../05-mapreduce/words.h"
#include "../05-mapreduce/words_internal.h"
#include "err.h"
#include "fuzz/words_ref.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
