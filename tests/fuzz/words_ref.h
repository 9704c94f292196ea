/*
 * words_ref.h - a slow, obviously-correct reference for the word rule of
 * 05-mapreduce/words.h, for the fuzzer (fuzz_words.c) and the tests
 * (test_05_words.c) to compare the fast tokenizer against.
 *
 * Written differently from words.c on purpose, so the two do not share a
 * mistake: the decoder reads the sequence length from the lead byte's bit
 * pattern, assembles the code point, and only then rejects what RFC 3629
 * forbids (overlong, surrogate, above U+10FFFF); classification asks the
 * C library about one code point at a time (no tables, no ASCII shortcut).
 *
 * Header-only (static functions), because the fuzz targets are built from
 * one .c file each.
 */
#ifndef KIT_WORDS_REF_H
#define KIT_WORDS_REF_H

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

/* The words, each lowercased, joined with '\n' after every word. */
typedef struct {
    char *s;
    size_t len, cap;
    size_t count; /* number of words */
} ref_words;

static void ref_put(ref_words *w, const void *p, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        w->cap = (w->len + n + 1) * 2;
        w->s = realloc(w->s, w->cap);
        if (w->s == NULL)
            abort();
    }
    memcpy(w->s + w->len, p, n);
    w->len += n;
    w->s[w->len] = '\0';
}

/* Callback for words_scan: append the word and a '\n'. */
static void ref_collect(const char *word, size_t len, void *ctx)
{
    ref_words *w = ctx;
    ref_put(w, word, len);
    ref_put(w, "\n", 1);
    w->count++;
}

static locale_t ref_locale(void)
{
    static locale_t loc;
    if (loc == (locale_t)0)
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (loc == (locale_t)0)
        loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
    if (loc == (locale_t)0) {
        fprintf(stderr, "words_ref: no UTF-8 locale\n");
        abort();
    }
    return loc;
}

/* Decode one code point at s[0..n); returns its length, 0 if invalid. */
static size_t ref_decode(const unsigned char *s, size_t n, uint32_t *out)
{
    unsigned b = s[0];
    size_t len;
    uint32_t cp;
    if ((b & 0x80) == 0x00) {
        len = 1, cp = b;
    } else if ((b & 0xe0) == 0xc0) {
        len = 2, cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
        len = 3, cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
        len = 4, cp = b & 0x07;
    } else {
        return 0; /* 10xxxxxx (continuation) or 11111xxx */
    }
    if (len > n)
        return 0; /* truncated */
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len])
        return 0; /* overlong */
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0; /* surrogate */
    if (cp > 0x10ffff)
        return 0;
    *out = cp;
    return len;
}

static void ref_encode(uint32_t cp, ref_words *w)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    ref_put(w, b, n);
}

/* The reference tokenizer: same output format as ref_collect. */
static void ref_scan(const char *buf, size_t n, ref_words *w)
{
    locale_t loc = ref_locale();
    const unsigned char *s = (const unsigned char *)buf;
    int in_word = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = ref_decode(s + i, n - i, &cp);
        int wordchar = k > 0 && iswalnum_l((wint_t)cp, loc);
        if (wordchar) {
            ref_encode((uint32_t)towlower_l((wint_t)cp, loc), w);
            in_word = 1;
        } else if (in_word) {
            ref_put(w, "\n", 1);
            w->count++;
            in_word = 0;
        }
        i += k > 0 ? k : 1;
    }
    if (in_word) {
        ref_put(w, "\n", 1);
        w->count++;
    }
}

#endif
