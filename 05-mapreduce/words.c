/*
 * words.c - the UTF-8 word tokenizer of lab 05 (see words.h for the rule).
 *
 * Two paths through the bytes, in three files:
 *   fast      64 bytes at a time (words_scan_fast, in words_window.c): the
 *             block classifier (words_block.h: SSE2 or portable 64-bit
 *             arithmetic) finds where every word starts and ends and
 *             lowercases ASCII capitals, into a 4 KiB window buffer from
 *             which an ASCII word is handed out in place.
 *   per byte  (words_scan_region, this file) for words with a byte >= 0x80, runs of 4 KiB
 *             with no ASCII separator, and a last word with none after it:
 *             a 256-entry class table (separator, lowercase letter or
 *             digit, uppercase letter, "not ASCII"), a strict RFC 3629
 *             decoder, then one lookup in a table built at words_init()
 *             from iswalnum_l()/towlower_l() in the "C.UTF-8" locale for
 *             the whole BMP (U+0000..U+FFFF); the rare code point above it
 *             asks the locale directly.
 * Both give the same words; the tests compare them with a slow reference
 * (tests/fuzz/words_ref.h), and so does `make fuzz`.
 *
 * Why newlocale() and the *_l functions instead of setlocale(): setlocale
 * changes the whole process (and would make the answer depend on whatever
 * the user's LANG is); a locale_t object is private to us and, once made,
 * only read -- safe to share between threads.
 */
#include "words.h"
#include "words_internal.h"

#include "err.h"
#include "xpthread.h"

#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* Code points are handed to iswalnum_l()/towlower_l() as wint_t: that
 * needs wchar_t to be Unicode (UCS-4), true on glibc and musl (which define
 * __STDC_ISO_10646__) and on macOS. */

/* ASCII classes.  SEP must be 0 and the word classes must not overlap, so
 * that `flags |= class` over a word says what kind of word it was. */
enum { SEP = 0, LOW = 1, UP = 2, HIGH = 4 };

/* Class of every byte value: [A-Z] UP, [a-z0-9] LOW, 0x80.. HIGH, else SEP.
 * Compiled in (not built at run time) so words_cut() needs no init. */
static const unsigned char ascii_class[256] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    /* 0x40 */ 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    /* 0x50 */ 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0,
    /* 0x60 */ 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    /* 0x80 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0x90 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xa0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xb0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xc0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xd0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xe0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xf0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* The BMP table: bmp[cp] = lowercase(cp) | WORDCHAR if cp is a letter or
 * digit.  Written once inside words_init() (under pthread_once), read-only
 * afterwards.  256 KiB of BSS; only the pages for scripts in use are ever
 * touched by a lookup, all of them by the init loop. */
#define WORDCHAR 0x80000000u
#define CP_MASK 0x001fffffu
static uint32_t bmp[0x10000];
static locale_t utf8; /* the private UTF-8 locale; never changed after init */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8",
                                        "en_US.utf8", NULL};
    for (int i = 0; names[i] && utf8 == (locale_t)0; i++)
        utf8 = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
    if (utf8 == (locale_t)0)
        die("words: no UTF-8 locale found (tried C.UTF-8 and en_US.UTF-8); "
            "install one (Debian: apt-get install locales-all)");
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        uint32_t lower = (uint32_t)towlower_l((wint_t)cp, utf8);
        if (lower > 0x10ffff || (lower >= 0xd800 && lower <= 0xdfff))
            lower = cp; /* never produce something we could not encode */
        bmp[cp] = lower | (iswalnum_l((wint_t)cp, utf8) ? WORDCHAR : 0);
    }
    /* ASCII is decided by ascii_class[] (the tr rule); keep the table in
     * step so words_is_wordchar() and words_lower() agree with the scan. */
    for (uint32_t cp = 0; cp < 0x80; cp++) {
        uint32_t c = ascii_class[cp];
        bmp[cp] = (c == UP ? cp + ('a' - 'A') : cp) | (c ? WORDCHAR : 0);
    }
}

void words_init(void)
{
    int e = pthread_once(&init_once, build_tables);
    if (e != 0)
        die_code(e, "words: pthread_once");
}

/* Table entry for a code point (init already done). */
static inline uint32_t lookup(uint32_t cp)
{
    if (cp < 0x10000)
        return bmp[cp];
    uint32_t lower = (uint32_t)towlower_l((wint_t)cp, utf8);
    if (lower > 0x10ffff || (lower >= 0xd800 && lower <= 0xdfff))
        lower = cp;
    return lower | (iswalnum_l((wint_t)cp, utf8) ? WORDCHAR : 0);
}

int words_is_wordchar(uint32_t cp)
{
    words_init();
    return cp <= 0x10ffff && (lookup(cp) & WORDCHAR) != 0;
}

uint32_t words_lower(uint32_t cp)
{
    words_init();
    return cp <= 0x10ffff ? (lookup(cp) & CP_MASK) : cp;
}

/*
 * RFC 3629, section 4, as code: the valid byte sequences are
 *   00..7F
 *   C2..DF 80..BF
 *   E0     A0..BF 80..BF          (E0 80..9F would be overlong)
 *   E1..EC 80..BF 80..BF
 *   ED     80..9F 80..BF          (ED A0..BF would be a surrogate)
 *   EE..EF 80..BF 80..BF
 *   F0     90..BF 80..BF 80..BF   (F0 80..8F would be overlong)
 *   F1..F3 80..BF 80..BF 80..BF
 *   F4     80..8F 80..BF 80..BF   (F4 90.. would be above U+10FFFF)
 * C0, C1 and F5..FF never appear.
 */
size_t words_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    uint32_t c;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
        c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        c = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        c = b & 0x07;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0; /* stray continuation byte, C0, C1, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    c = (c << 6) | (s[1] & 0x3fu);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3fu);
    }
    *cp = c;
    return len;
}

size_t words_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t words_cut(const char *buf, size_t n, size_t off)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = off;
    while (i < n && ascii_class[s[i]] != SEP)
        i++;
    return i < n ? i : n;
}

size_t words_cut_back(const char *buf, size_t n)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = n;
    while (i > 0 && ascii_class[s[i - 1]] != SEP)
        i--;
    return i;
}

static void scratch_reserve(words_scratch *s, size_t need)
{
    if (need <= s->cap)
        return;
    size_t cap = s->cap * 2 > need ? s->cap * 2 : need;
    bool was_on_stack = s->heap == NULL;
    s->heap = xrealloc(s->heap, cap);
    if (was_on_stack) /* keep what is already written */
        memcpy(s->heap, s->p, s->cap);
    s->p = s->heap;
    s->cap = cap;
}

/* Hand the len bytes at s->p to the callback, with WORDS_PAD initialised
 * bytes after them (room was reserved). */
static void hand_out(words_scratch *s, size_t len, words_fn fn, void *ctx)
{
    memset(s->p + len, 0, WORDS_PAD);
    fn((const char *)s->p, len, ctx);
}

/* Hand one word, bytes w[0..len), to the callback; `flags` is the OR of
 * the classes of its bytes other than LOW. */
static void emit(const unsigned char *w, size_t len, unsigned flags,
                 words_scratch *s, words_fn fn, void *ctx)
{
    if (flags == 0) { /* already lowercase ASCII: no copy, if it has room */
        if (len + WORDS_PAD <= (size_t)(s->limit - w)) {
            fn((const char *)w, len, ctx);
            return;
        }
        scratch_reserve(s, len + WORDS_PAD);
        memcpy(s->p, w, len);
        hand_out(s, len, fn, ctx);
        return;
    }
    if (!(flags & HIGH)) { /* ASCII with capitals: set bit 0x20 */
        scratch_reserve(s, len + WORDS_PAD);
        for (size_t i = 0; i < len; i++)
            s->p[i] =
                (unsigned char)(w[i] | (ascii_class[w[i]] == UP ? 0x20 : 0));
        hand_out(s, len, fn, ctx);
        return;
    }
    /* Non-ASCII: decode again (every sequence in the word is valid and a
     * word character: scan_region checked), lowercase, re-encode.  A
     * lowercase form can be longer than its capital (U+023A, 2 bytes ->
     * U+2C65, 3 bytes), so reserve room as we go. */
    size_t out = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = words_utf8_decode(w + i, len - i, &cp);
        if (k == 0) { /* cannot happen (see above); never loop forever */
            i++;
            continue;
        }
        scratch_reserve(s, out + 4 + WORDS_PAD);
        out += words_utf8_encode(lookup(cp) & CP_MASK, s->p + out);
        i += k;
    }
    hand_out(s, out, fn, ctx);
}

/*
 * The byte-at-a-time path, for what the fast path below hands it -- words
 * with bytes >= 0x80, runs of word bytes longer than its window -- and for
 * a buffer's last word when no ASCII separator follows it (words_scan).
 *
 * Scan p[0..end-p) whose last byte is an ASCII separator (or which is
 * empty).  That byte is a sentinel: the loop over a word's letters stops
 * at it at the latest, so it needs no "p < end" test.  (A UTF-8 sequence
 * never contains an ASCII byte, so it cannot run past it either.)
 */
size_t words_scan_region(const unsigned char *p, const unsigned char *end,
                         words_scratch *s, words_fn fn, void *ctx)
{
    size_t count = 0;
    while (p < end) {
        /* Separators: the region may end with several, so check the end. */
        while (p < end && ascii_class[*p] == SEP)
            p++;
        if (p == end)
            break;
        const unsigned char *start = p;
        unsigned flags = 0; /* UP and HIGH bytes seen in this word */
        size_t skip = 0;    /* bytes of the non-word character that ended it */
        for (;;) {
            /* Lowercase ASCII letters and digits: most bytes of a text. */
            while (ascii_class[*p] == LOW)
                p++;
            unsigned c = ascii_class[*p];
            if (c == SEP)
                break;
            if (c == UP) { /* a capital: note it, go on */
                flags |= UP;
                p++;
                continue;
            }
            /* A byte >= 0x80: a word character only if it starts a valid
             * sequence whose code point is a letter or digit. */
            uint32_t cp;
            size_t k = words_utf8_decode(p, (size_t)(end - p), &cp);
            if (k == 0) {
                skip = 1; /* invalid: this one byte separates */
                break;
            }
            if (!(lookup(cp) & WORDCHAR)) {
                skip = k; /* a valid non-word character: punctuation etc. */
                break;
            }
            flags |= HIGH;
            p += k;
        }
        if (p > start) {
            emit(start, (size_t)(p - start), flags, s, fn, ctx);
            count++;
        }
        p += skip;
    }
    return count;
}

/* `make SIMPLE=1` compiles with WORDS_SIMPLE=1: words_scan is then the
 * plain twin, and everything below it goes unused. */
#ifndef WORDS_SIMPLE
#define WORDS_SIMPLE 0
#endif

size_t words_scan(const char *buf, size_t n, words_fn fn, void *ctx)
{
    if (WORDS_SIMPLE)
        return words_simple_scan(buf, n, fn, ctx);
    words_init(); /* one atomic load once initialised */
    const unsigned char *p = (const unsigned char *)buf;
    unsigned char stack_buf[256];
    words_scratch s = {stack_buf, sizeof stack_buf, NULL, p + n};
    /* Everything up to the last ASCII separator has its sentinel. */
    size_t safe = words_cut_back(buf, n);
    size_t count = words_scan_fast(p, safe, &s, fn, ctx);
    if (safe < n) {
        /* The rest has no ASCII separator (usually: the last word of a
         * file without a final newline): scan a copy with one added, and
         * WORDS_PAD bytes after that. */
        size_t len = n - safe;
        unsigned char small[64];
        unsigned char *tail = len + 1 + WORDS_PAD <= sizeof small
                                  ? small
                                  : xmalloc(len + 1 + WORDS_PAD);
        memcpy(tail, p + safe, len);
        memset(tail + len, ' ', 1 + WORDS_PAD);
        s.limit = tail + len + 1 + WORDS_PAD;
        count += words_scan_region(tail, tail + len + 1, &s, fn, ctx);
        if (tail != small)
            free(tail);
    }
    free(s.heap);
    return count;
}
