/*
 * words_window.c - the fast path of the tokenizer (words.h has the rule):
 * a buffer is cut into 4 KiB windows, each window classified 64 bytes at
 * a time (words_block.h), and every run of word bytes is handed to the
 * callback straight from the window's lowercased copy.  Words with a byte
 * >= 0x80 go to the per-byte path, words_scan_region() in words.c.
 *
 * Before: words.c (words_scan() calls words_scan_fast() here).
 */
#include "words_block.h"
#include "words_internal.h"

#include <stdbool.h>
#include <string.h>

void words_classify_block(const unsigned char block[64], int portable,
                          unsigned char lowered[64], uint64_t *word,
                          uint64_t *high)
{
#if defined(__SSE2__)
    blockmask m = portable ? classify64_swar(block, lowered)
                           : classify64_sse2(block, lowered);
#else
    (void)portable;
    blockmask m = classify64_swar(block, lowered);
#endif
    *word = m.word;
    *high = m.high;
}
static inline unsigned ctz64(uint64_t x) /* x != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* One run of word bytes, w[0..len) in the window buffer, followed by an
 * ASCII separator.  Returns the number of words it was. */
static inline size_t window_word(const unsigned char *w, size_t len, bool high,
                                 words_scratch *s, words_fn fn, void *ctx)
{
    if (!high) { /* ASCII, already lowercased: most words */
        fn((const char *)w, len, ctx);
        return 1;
    }
    return words_scan_region(w, w + len + 1, s, fn,
                             ctx); /* the separator too */
}

/* Scan in[0..n), n <= WINDOW, whose last byte is an ASCII separator, via
 * its lowercased copy in low[].  A word may span blocks: `start` is then
 * where it began and `whigh` whether it has had a high byte so far. */
static size_t scan_window(const unsigned char *in, size_t n, unsigned char *low,
                          words_scratch *s, words_fn fn, void *ctx)
{
    size_t count = 0, start = 0;
    bool open = false, whigh = false;
    uint64_t carry = 0; /* 1 if the previous block ended inside a word */
    size_t base;
    for (base = 0; base < n; base += BLOCK) {
        blockmask m;
        if (n - base >= BLOCK) {
            m = classify64(in + base, low + base);
        } else { /* the last block: pad it with separators */
            unsigned char pad[BLOCK];
            memset(pad, ' ', sizeof pad);
            memcpy(pad, in + base, n - base);
            m = classify64(pad, low + base);
        }
        uint64_t prev = m.word << 1 | carry;
        uint64_t starts = m.word & ~prev; /* a word byte after a non-word */
        uint64_t ends = ~m.word & prev;   /* a non-word byte after a word */
        carry = m.word >> 63;
        if (open) {
            if (ends == 0) { /* the word goes on through this block */
                whigh |= m.high != 0;
                continue;
            }
            uint64_t before = (ends & (0 - ends)) - 1; /* bits below its end */
            size_t e = base + ctz64(ends);
            ends &= ends - 1;
            count += window_word(low + start, e - start,
                                 whigh || (m.high & before), s, fn, ctx);
            open = false;
        }
        while (starts) {
            unsigned i = ctz64(starts);
            uint64_t from = 0 - (starts & (0 - starts)); /* bits i..63 */
            starts &= starts - 1;
            if (ends == 0) { /* it goes on into the next block */
                start = base + i;
                whigh = (m.high & from) != 0;
                open = true;
                break;
            }
            unsigned j = ctz64(ends);
            uint64_t in_word = from & ((ends & (0 - ends)) - 1); /* i..j-1 */
            ends &= ends - 1;
            count += window_word(low + base + i, j - i, (m.high & in_word) != 0,
                                 s, fn, ctx);
        }
    }
    return count;
}

/* Scan p[0..n) whose last byte is an ASCII separator (or n == 0): window
 * by window, each cut just after a separator so no word spans two. */
size_t words_scan_fast(const unsigned char *p, size_t n, words_scratch *s,
                       words_fn fn, void *ctx)
{
    /* The window's lowercased copy (WINDOW is a whole number of blocks,
     * so even a last, partial block is written inside it), and after it
     * room for the WORDS_PAD bytes behind the last word. */
    unsigned char low[WINDOW + WORDS_PAD];
    const unsigned char *limit = s->limit; /* s->limit points into low[] */
    size_t count = 0, at = 0;
    while (at < n) {
        size_t w = n - at;
        if (w > WINDOW) {
            w = words_cut_back((const char *)p + at, WINDOW);
            if (w == 0) { /* WINDOW word bytes in a row: a very long word
                             (or several non-ASCII ones): byte by byte */
                w = words_cut((const char *)p + at, n - at, WINDOW) + 1;
                s->limit = p + n;
                count += words_scan_region(p + at, p + at + w, s, fn, ctx);
                at += w;
                continue;
            }
        }
        /* behind the last block: the bytes a word's WORDS_PAD may reach */
        size_t used = (w + BLOCK - 1) / BLOCK * BLOCK;
        memset(low + used, ' ', WORDS_PAD);
        s->limit = low + used + WORDS_PAD;
        count += scan_window(p + at, w, low, s, fn, ctx);
        at += w;
    }
    s->limit = limit; /* ... until here */
    return count;
}
