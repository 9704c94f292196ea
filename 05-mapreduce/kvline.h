/*
 * kvline.h - one line of Hadoop Streaming reducer input, parsed strictly.
 *
 * Hadoop Streaming hands a reducer its input as text lines
 * "key<TAB>value\n", sorted by key.  For word count the value is a count:
 * a decimal unsigned 64-bit integer.  A reducer is a task like any other:
 * bad input must fail it loudly (non-zero exit, a message saying which
 * line), never be skipped or summed into a wrong total.
 *
 * Accepted:  key  = one or more bytes, none of them TAB or '\n' (the first
 *                   TAB ends the key);
 *            value = one or more ASCII digits '0'..'9' whose number fits in
 *                   uint64_t (leading zeros allowed), nothing after them.
 * Rejected:  no TAB, empty key, empty value, a sign (+ or -), spaces, a
 *            second TAB, "\r" (a CRLF line), anything not a digit, and a
 *            number above 18446744073709551615.
 *
 * Pure functions of their arguments: no allocation, no globals -- usable
 * from tests and fuzzers.
 */
#ifndef LAB05_KVLINE_H
#define LAB05_KVLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kvline_status {
    KVLINE_OK = 0,
    KVLINE_NO_TAB,    /* no TAB between key and value */
    KVLINE_EMPTY_KEY, /* the line starts with TAB */
    KVLINE_NEGATIVE,  /* value starts with '-' */
    KVLINE_NOT_COUNT, /* value empty or not all digits */
    KVLINE_OVERFLOW,  /* all digits, but > UINT64_MAX */
};

typedef struct {
    const char *key; /* points into the parsed line; NOT NUL-terminated */
    size_t key_len;  /* >= 1 */
    uint64_t value;  /* the count */
    const char *val; /* the value's text, into the line (for messages) */
    size_t val_len;
} kvline;

/* Parse line[0..len) -- without its '\n'.  On KVLINE_OK fills *out; on an
 * error fills out->val/val_len (when a value was found) and nothing else. */
enum kvline_status kvline_parse(const char *line, size_t len, kvline *out);

/* What went wrong, as a phrase for "line N: <phrase>" ("no TAB between key
 * and value").  For the value errors the caller prints the value itself. */
const char *kvline_strerror(enum kvline_status s);

/* *sum += v unless that overflows uint64_t: then false and *sum untouched. */
bool kvline_add(uint64_t *sum, uint64_t v);

/* Write v in decimal into buf (at least 20 bytes); returns the length.
 * The inverse of the value parser: used to print totals and by the
 * round-trip fuzzer. */
size_t kvline_format_u64(uint64_t v, char buf[20]);

/* Write "key<TAB>v\n" to f with fwrite (a key may hold NUL bytes or be
 * longer than INT_MAX, so no printf).  false if a write failed (errno set
 * by stdio). */
bool kvline_write(FILE *f, const char *key, size_t key_len, uint64_t v);

#endif
