/*
 * words_internal.h - the fast tokenizer's sizes (words.c), for words.c and
 * for the tests of its internals; nothing an application needs.
 */
#ifndef LAB05_WORDS_INTERNAL_H
#define LAB05_WORDS_INTERNAL_H

/* Bytes classified at a time (one SSE2 pass, eight SWAR words). */
#define WORDS_BLOCK 64
/* Bytes lowercased at a time: stays in the L1 cache.  Runs of WORDS_WINDOW
 * or more word bytes take the byte-at-a-time path. */
#define WORDS_WINDOW 4096

#endif
