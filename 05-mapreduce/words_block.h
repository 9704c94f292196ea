/*
 * words_block.h - the fast tokenizer's block classifier: 64 bytes of text
 * in, two bitmasks and the block lowercased out (SSE2, or portable 64-bit
 * arithmetic).  Used by words_window.c, which walks the bitmasks; the
 * rest of the tokenizer is in words.c.
 *
 * Static inline in a header, not a .c file of its own: it runs once per
 * 64 bytes, and a call there (no inlining across files without LTO) would
 * cost the scan a few percent.
 */
#ifndef LAB05_WORDS_BLOCK_H
#define LAB05_WORDS_BLOCK_H

#include "words_internal.h"

#include <stdint.h>
#include <string.h>

/*
 * The fast path: 64 bytes at a time.
 *
 * A byte-at-a-time loop pays one mispredicted branch per word, where its
 * letter loop exits (word lengths vary, so the predictor cannot know when),
 * and another per capitalised word.  Instead, classify a whole 64-byte
 * block at once into two bitmasks -- bit i describes byte i:
 *
 *   word   the byte may be part of a word: an ASCII letter or digit, or any
 *          byte >= 0x80 (which scan_region decides about, if it comes)
 *   high   the byte is >= 0x80
 *
 * and, in the same pass, write the block lowercased ('A'..'Z' | 0x20) into
 * a window buffer.  The words are then the runs of 1s in `word`: a word
 * starts where a 1 follows a 0 and ends where a 0 follows a 1; both sets of
 * positions are a shift and a mask away, and a loop walks their bits
 * (count trailing zeros).  Its one hard-to-predict branch is the end of a
 * block, once per ~7 words.  A word with no high byte -- nearly every word
 * of an English text -- goes to the callback in place, from the window
 * buffer; one with a high byte goes to scan_region(), which decodes it (it
 * may turn out to be several words, or none).
 *
 * classify64() has two versions that compute the same thing: SSE2 (every
 * x86-64 CPU has it: 16 bytes per instruction) and portable C that works
 * on 8 bytes in a uint64_t ("SWAR": SIMD within a register).  On x86-64
 * both are compiled, and the tests compare them (words_classify_block).
 */
#define BLOCK WORDS_BLOCK /* see words_internal.h */
#define WINDOW WORDS_WINDOW
_Static_assert(WINDOW % BLOCK == 0, "a window is a whole number of blocks");

typedef struct {
    uint64_t word, high;
} blockmask;

#define ONES 0x0101010101010101ULL /* 0x01 in every byte */

/* One 0x80-or-0x00 flag per byte of m -> 8 bits (byte i -> bit i): the
 * multiply moves every flag into the top byte, no two on the same bit. */
static inline uint64_t swar_bits(uint64_t m)
{
    return ((m >> 7) * 0x0102040810204080ULL) >> 56;
}

/* The bytes of x (each < 0x80) in lo..hi: the 0x80 bit of each byte.
 * Adding 0x80 - lo sets a byte's top bit iff it is >= lo; adding 0x7f - hi
 * iff it is > hi.  No sum passes 0xff, so no carry crosses bytes. */
static inline uint64_t swar_in(uint64_t x, unsigned lo, unsigned hi)
{
    uint64_t ge = x + (0x80u - lo) * ONES, gt = x + (0x7fu - hi) * ONES;
    return ge & ~gt & (0x80 * ONES);
}

/* 8 bytes as a number with byte 0 in the low bits, and back: a plain
 * load where the byte order is known to be little-endian, else shifts
 * (which any compiler turns into a load and a byte swap where it can). */
static inline uint64_t load_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
#endif
}

static inline void store_le64(unsigned char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
#endif
}

static blockmask classify64_swar(const unsigned char *in, unsigned char *low)
{
    blockmask m = {0, 0};
    for (int i = 0; i < BLOCK / 8; i++) {
        uint64_t v = load_le64(in + 8 * i);
        uint64_t high = v & (0x80 * ONES);
        uint64_t x = v & (0x7f * ONES); /* (a high byte's top bit cleared) */
        uint64_t up = swar_in(x, 'A', 'Z') & ~high;
        uint64_t alnum =
            (up | swar_in(x, 'a', 'z') | swar_in(x, '0', '9')) & ~high;
        store_le64(low + 8 * i, v | up >> 2); /* 0x80 >> 2 == 0x20 */
        m.word |= swar_bits(alnum | high) << (8 * i);
        m.high |= swar_bits(high) << (8 * i);
    }
    return m;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* SSE2 compares signed bytes only: adding 0x80 - lo maps lo..hi onto
 * -128..-128+(hi-lo), so "in range" is one signed less-than. */
static inline __m128i sse_in(__m128i x, unsigned lo, unsigned hi)
{
    __m128i t = _mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - lo)));
    return _mm_cmplt_epi8(t, _mm_set1_epi8((char)(-128 + (int)(hi - lo) + 1)));
}

static blockmask classify64_sse2(const unsigned char *in, unsigned char *low)
{
    blockmask m = {0, 0};
    for (int i = 0; i < BLOCK / 16; i++) {
        __m128i x = _mm_loadu_si128((const void *)(in + 16 * i));
        __m128i up = sse_in(x, 'A', 'Z');
        __m128i alnum = _mm_or_si128(
            up, _mm_or_si128(sse_in(x, 'a', 'z'), sse_in(x, '0', '9')));
        _mm_storeu_si128(
            (void *)(low + 16 * i),
            _mm_or_si128(x, _mm_and_si128(up, _mm_set1_epi8(0x20))));
        uint64_t high = (unsigned)_mm_movemask_epi8(x); /* the top bits */
        uint64_t an = (unsigned)_mm_movemask_epi8(alnum);
        m.word |= (an | high) << (16 * i);
        m.high |= high << (16 * i);
    }
    return m;
}
#define classify64 classify64_sse2
#else
#define classify64 classify64_swar
#endif

#endif
