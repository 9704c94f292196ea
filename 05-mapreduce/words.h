/*
 * words.h - the word rule of lab 05: one UTF-8 tokenizer shared by
 * wordcount, invindex and the Hadoop Streaming mapper.
 *
 * A word is a maximal run of Unicode letters and digits in UTF-8, read
 * strictly (RFC 3629): every byte that is not part of a valid sequence --
 * overlong forms, surrogates (U+D800..U+DFFF), anything above U+10FFFF,
 * stray continuation bytes, truncated sequences -- separates words, as does
 * every other character: punctuation, '_', spaces, controls, NUL.  Words are
 * lowercased with towlower() semantics in a UTF-8 locale ("C.UTF-8"),
 * whatever the user's own locale is, so the answer never depends on $LANG.
 * "letter or digit" is iswalnum() in that locale: Cyrillic, Greek, CJK,
 * Unicode decimal digits (Nd) all count.
 *
 * For pure ASCII input the words are exactly those of
 *     LC_ALL=C tr -cs 'A-Za-z0-9' '\n' < F | tr 'A-Z' 'a-z' | grep -v '^$'
 *
 * Speed: text is classified 64 bytes at a time (SSE2 where the CPU has
 * it, portable C elsewhere) and an ASCII word is handed to the callback
 * from a lowercased window buffer, with no copy of its own.  Byte by byte
 * go only words with bytes >= 0x80, runs of 4 KiB or more with no ASCII
 * separator (CJK text without spaces, say), and a buffer's last word when
 * no separator follows it.
 *
 * Thread safety: words_init() builds read-only tables once (pthread_once);
 * after that words_scan() and words_cut() touch no shared mutable state, so
 * any number of threads may scan at the same time.
 */
#ifndef LAB05_WORDS_H
#define LAB05_WORDS_H

#include <stddef.h>
#include <stdint.h>

/* Called for every word.  `word` is lowercased UTF-8, `len` bytes, NOT
 * NUL-terminated and valid only during the call (copy it to keep it).
 * The WORDS_PAD bytes after it, word[len .. len+WORDS_PAD), are readable
 * too (their values are unspecified): a hash table may load a short word
 * as two 8-byte words and a mask, with no branch on its length. */
#define WORDS_PAD 16

typedef void (*words_fn)(const char *word, size_t len, void *ctx);

/* Build the tables.  Call once before any thread uses the tokenizer;
 * calling it again (from any thread) is harmless.  Dies with a clear
 * message (exit 1) if the system has no UTF-8 locale at all. */
void words_init(void);

/* Call fn for every word in buf[0..n), in order.  The buffer's edges are
 * word edges.  Returns the number of words.  NUL bytes are separators like
 * any other control character.  Calls words_init() itself if needed. */
size_t words_scan(const char *buf, size_t n, words_fn fn, void *ctx);

/* The smallest i >= off with i == n or buf[i] an ASCII byte that is not a
 * letter or digit.  Cutting a buffer there never splits a word (nor a UTF-8
 * sequence: ASCII bytes never occur inside one), so [0, i) and [i, n) can be
 * scanned separately -- this is how input splits (HDFS blocks) are aligned.
 * Needs no words_init(). */
size_t words_cut(const char *buf, size_t n, size_t off);

/* The other way round, for a reader that must stop mid-buffer: the largest
 * i <= n with i == 0 or buf[i-1] an ASCII byte that is not a letter or
 * digit.  [0, i) ends at a separator and can be scanned now; [i, n) may be
 * an unfinished word (or an unfinished UTF-8 sequence) to carry over to
 * the next read.  0 means: no separator at all, read more. */
size_t words_cut_back(const char *buf, size_t n);

/* The simple twin (words_simple.c): the same words as words_scan(), found
 * one code point at a time.  Needs no words_init().  words_scan() is this
 * one in a `make SIMPLE=1` build. */
size_t words_simple_scan(const char *buf, size_t n, words_fn fn, void *ctx);

/* --- the building blocks, exported for tests, fuzzers and the README --- */

/* Strict RFC 3629 decoder: if buf[0..n) starts with a valid UTF-8 sequence,
 * store its code point in *cp and return its length (1..4); otherwise
 * return 0 (the first byte is then a separator on its own). */
size_t words_utf8_decode(const unsigned char *buf, size_t n, uint32_t *cp);

/* Encode a code point (<= U+10FFFF, not a surrogate) into out[0..4);
 * returns the length. */
size_t words_utf8_encode(uint32_t cp, unsigned char out[4]);

/* The fast path's classifier, on the 64 bytes of block: bit i of *word is
 * set if byte i is an ASCII letter or digit or >= 0x80, bit i of *high if
 * it is >= 0x80; lowered[] receives the block with 'A'..'Z' lowercased.
 * portable != 0 asks for the portable C version even where a SIMD one is
 * used (the tests compare the two). */
void words_classify_block(const unsigned char block[64], int portable,
                          unsigned char lowered[64], uint64_t *word,
                          uint64_t *high);

/* The rule for one code point, from the tables: is it a word character,
 * and its lowercase form. */
int words_is_wordchar(uint32_t cp);
uint32_t words_lower(uint32_t cp);

#endif
