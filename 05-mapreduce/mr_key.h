/*
 * mr_key.h - keys as machine words, and their hash: shared by the
 * partition step (mr_partition.c), the fast combiner (mr_combiner.c) and
 * the reducers' key groups (mr_reduce.c).  Inline, because each runs once
 * per pair.  Private to the runtime.
 *
 * Read mr_partition.c first: mr_hash() is hash_key() below.
 */
#ifndef LAB05_MR_KEY_H
#define LAB05_MR_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The bytes of a key of 0..8 bytes as one 64-bit word, with no loop and
 * no read past its end: 4..8 bytes are two 4-byte loads that overlap in
 * the middle (first four, last four); 1..3 bytes are the first, middle and
 * last byte.  For a given length that is one-to-one (every byte is in the
 * word), so two keys of the same length are equal iff their words are. */
static inline uint64_t load_upto8(const unsigned char *p, size_t len)
{
    if (len >= 4) {
        uint32_t first, last;
        memcpy(&first, p, 4);
        memcpy(&last, p + len - 4, 4);
        return (uint64_t)first | (uint64_t)last << 32;
    }
    if (len == 0)
        return 0;
    return (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
           (uint64_t)p[len - 1] << 16;
}

/*
 * A key of up to SHORT_KEY bytes -- nearly every word -- as two 64-bit
 * words: its bytes in order, zero-padded to 16 (w[0] = bytes 0..7, w[1] =
 * bytes 8..15, in memory order).  For a given length that is one-to-one, so
 * two short keys of the same length are equal iff their words are: the
 * combiner compares a key with two compares instead of a branch on its
 * length, and the hash below mixes them with no loop (README, "How fast").  Loaded with no read past
 * the key's end.
 */
#define SHORT_KEY 16

typedef struct {
    uint64_t w[2];
} key16;

static inline key16 key16_load(const unsigned char *p, size_t len)
{
    key16 k = {{0, 0}};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* In registers: byte i of the key is bits 8i..8i+7 of its word; pieces
     * that overlap hold the same bytes, so OR-ing them is harmless (why
     * not memcpy into a zeroed buffer: README, "How fast"). */
    if (len > 8) { /* 9..16: first eight, then the last eight shifted down */
        uint64_t last;
        memcpy(&k.w[0], p, 8);
        memcpy(&last, p + len - 8, 8);
        k.w[1] = last >> (8 * (16 - len));
    } else if (len >= 4) { /* 4..8: first four, last four */
        uint32_t first, last;
        memcpy(&first, p, 4);
        memcpy(&last, p + len - 4, 4);
        k.w[0] = (uint64_t)first | (uint64_t)last << (8 * (len - 4));
    } else if (len > 0) { /* 1..3: first, middle and last byte */
        k.w[0] = (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
                 (uint64_t)p[len - 1] << (8 * (len - 1));
    }
#else
    /* Any byte order: a zeroed buffer, the bytes, then the words. */
    unsigned char b[SHORT_KEY] = {0};
    memcpy(b, p, len);
    memcpy(k.w, b, sizeof b);
#endif
    return k;
}

/* The hash of a short key: the words folded in one multiply each, then a
 * finalizer.  Bit j of a product depends only on bits 0..j of its input, so
 * after the two multiplies only the TOP bits have seen every byte of the
 * key; the final xor-shift / multiply / xor-shift carries them down to the
 * low bits too, which mr_partition uses (hash % R: without it, keys such as
 * "user00001".."user99999" crowded into a few partitions).  Each step is a
 * bijection of each word, so two keys of one length that differ in one word
 * never collide.  No branch at all. */
static inline uint64_t hash_key16(key16 k, size_t len)
{
    uint64_t h = (k.w[0] ^ (uint64_t)len * 0x9E3779B97F4A7C15ULL) *
                 0xBF58476D1CE4E5B9ULL;
    h = (h ^ k.w[1]) * 0x94D049BB133111EBULL;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ h >> 32;
}

/* Any key: a short one as above; a longer one eight bytes at a time, the
 * last 1..8 bytes as one load_upto8().  Every output bit depends on every
 * input bit, which both the tables and mr_partition rely on. */
static inline uint64_t hash_key(const void *key, size_t len)
{
    const unsigned char *p = key;
    if (len <= SHORT_KEY)
        return hash_key16(key16_load(p, len), len);
    uint64_t h =
        0x243F6A8885A308D3ULL ^ ((uint64_t)len * 0x9E3779B97F4A7C15ULL);
    while (len > 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    h = (h ^ load_upto8(p, len)) * 0x94D049BB133111EBULL;
    h ^= h >> 29;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return h;
}

/* Equal keys of n bytes?  Called once per pair, and most keys are
 * short: up to 16 bytes take two fixed-size loads per side (overlapping,
 * as in load_upto8) instead of a byte loop or a call to memcmp. */
static inline bool same_key(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a,
                        *y = (const unsigned char *)b;
    if (n <= 8)
        return load_upto8(x, n) == load_upto8(y, n);
    if (n <= 16) {
        uint64_t x0, x1, y0, y1;
        memcpy(&x0, x, 8);
        memcpy(&y0, y, 8);
        memcpy(&x1, x + n - 8, 8);
        memcpy(&y1, y + n - 8, 8);
        return x0 == y0 && x1 == y1;
    }
    return memcmp(a, b, n) == 0;
}

#endif
