/*
 * words_ref.h - the reference for the word rule of 05-mapreduce/words.h,
 * for the fuzzer (fuzz_words.c) and the tests (test_05_words*.c) to compare
 * the fast tokenizer against: the lab's own simple twin,
 * words_simple_scan() (05-mapreduce/words_simple.c, written differently
 * from words.c on purpose), and a collector for the words either finds.
 *
 * Header-only (static inline functions, so a file that uses some of them
 * builds without warnings), because the fuzz targets are built from one .c
 * file each (plus the modules).
 */
#ifndef KIT_WORDS_REF_H
#define KIT_WORDS_REF_H

#include "../../05-mapreduce/words.h"

#include <stdlib.h>
#include <string.h>

/* The words, each lowercased, joined with '\n' after every word. */
typedef struct {
    char *s;
    size_t len, cap;
    size_t count; /* number of words */
} ref_words;

static inline void ref_put(ref_words *w, const void *p, size_t n)
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
static inline void ref_collect(const char *word, size_t len, void *ctx)
{
    ref_words *w = ctx;
    ref_put(w, word, len);
    ref_put(w, "\n", 1);
    w->count++;
}

/* The reference tokenizer: same output format as ref_collect. */
static inline void ref_scan(const char *buf, size_t n, ref_words *w)
{
    words_simple_scan(buf, n, ref_collect, w);
}

#endif
