/*
 * words_internal.h - what the fast tokenizer's files share (words.c: the
 * tables, the per-byte path and words_scan; words_window.c: the 64-byte
 * window scan; words_block.h: the block classifier), and the tests of its
 * internals; nothing an application needs.
 */
#ifndef LAB05_WORDS_INTERNAL_H
#define LAB05_WORDS_INTERNAL_H

#include "words.h"

#include <stddef.h>

/* Bytes classified at a time (one SSE2 pass, eight SWAR words). */
#define WORDS_BLOCK 64
/* Bytes lowercased at a time: stays in the L1 cache.  Runs of WORDS_WINDOW
 * or more word bytes take the byte-at-a-time path. */
#define WORDS_WINDOW 4096

/*
 * Scratch space for lowercased words: a buffer on the caller's stack that
 * moves to the heap when a word outgrows it.  Local to one words_scan()
 * call, so threads never share it.  `limit` is where the bytes that may be
 * handed out in place end: a word w[0..len) can be passed as it is only if
 * w + len + WORDS_PAD <= limit (the promise of words.h), else it is copied
 * here first.
 */
typedef struct {
    unsigned char *p;           /* stack_buf or a malloc'd block */
    size_t cap;                 /* bytes available at p */
    unsigned char *heap;        /* == p when on the heap, else NULL (to free) */
    const unsigned char *limit; /* end of the readable bytes around words */
} words_scratch;

/* The per-byte path (words.c): scan p[0..end-p), whose last byte is an
 * ASCII separator (or which is empty).  Returns the number of words. */
size_t words_scan_region(const unsigned char *p, const unsigned char *end,
                         words_scratch *s, words_fn fn, void *ctx);

/* The fast path (words_window.c): scan p[0..n), whose last byte is an
 * ASCII separator (or n == 0), window by window. */
size_t words_scan_fast(const unsigned char *p, size_t n, words_scratch *s,
                       words_fn fn, void *ctx);

#endif
