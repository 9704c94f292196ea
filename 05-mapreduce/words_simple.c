/*
 * words_simple.c - the word rule of words.h, one code point at a time: the
 * plain twin of the fast tokenizer (words.c), and the reference the tests
 * and the fuzzer (tests/fuzz/fuzz_words.c) compare it with.  `make
 * SIMPLE=1` builds lab 05 with this one; `make bench LAB=05` shows what the
 * fast one buys.
 *
 * Read this first.  Written differently from words.c on purpose, so the two
 * do not share a mistake: the decoder reads a sequence's length from the
 * lead byte's bit pattern, assembles the code point, and only then rejects
 * what RFC 3629 forbids; each code point is classified by the C library
 * (no tables, no ASCII shortcut).
 */
#include "words.h"

#include "err.h"
#include "xpthread.h" /* xmalloc */

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

static locale_t utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void make_locale(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (utf8_locale == (locale_t)0)
        utf8_locale = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    if (utf8_locale == (locale_t)0)
        die("no UTF-8 locale (C.UTF-8 or en_US.UTF-8) on this system");
}

/* The code point at s[0..n) into *out; its length, or 0 if invalid. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *out)
{
    unsigned b = s[0];
    size_t len = b < 0x80             ? 1
                 : (b & 0xe0) == 0xc0 ? 2
                 : (b & 0xf0) == 0xe0 ? 3
                 : (b & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n)
        return 0; /* a continuation byte, 11111xxx, or truncated */
    uint32_t cp = len == 1 ? b : b & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp > 0x10ffff)
        return 0; /* overlong, a surrogate, or past Unicode */
    *out = cp;
    return len;
}

size_t words_simple_scan(const char *buf, size_t n, words_fn fn, void *ctx)
{
    pthread_once(&locale_once, make_locale);
    const unsigned char *s = (const unsigned char *)buf;
    size_t cap = 64, len = 0, count = 0;
    char *word = xmalloc(cap + WORDS_PAD); /* the promise of words.h */
    for (size_t i = 0; i <= n;) {
        uint32_t cp = 0;
        size_t k = i < n ? decode(s + i, n - i, &cp) : 0;
        if (k > 0 && iswalnum_l((wint_t)cp, utf8_locale)) {
            if (len + 4 > cap)
                word = xrealloc(word, (cap *= 2) + WORDS_PAD);
            len +=
                words_utf8_encode((uint32_t)towlower_l((wint_t)cp, utf8_locale),
                                  (unsigned char *)word + len);
        } else if (len > 0) { /* a separator (or the end) ends the word */
            memset(word + len, 0, WORDS_PAD);
            fn(word, len, ctx);
            count++;
            len = 0;
        }
        i += k > 0 ? k : 1;
    }
    free(word);
    return count;
}
