/*
 * lab05_support.h - helpers shared by lab 05's test files:
 *   test_05_words.c      the word rule (words.h)
 *   test_05_words_fast.c the fast tokenizer's internals (words_internal.h)
 *   test_05_streaming.c  ./wc_mapper and ./wc_reducer
 *   test_05_exercises.c  the graded 05.1 and 05.2
 *   test_05.c, test_05_rooms.c  the programs and the runtime
 */
#ifndef KIT_TESTS_LAB05_SUPPORT_H
#define KIT_TESTS_LAB05_SUPPORT_H

#include "harness.h"

#include <stddef.h>

/* The words of buf[0..n) by words_scan, each followed by '\n' (malloc'd);
 * asserts that its count matches the callbacks.  *count gets it (may be
 * NULL). */
char *words_of(const char *buf, size_t n, size_t *count);
/* The same by the slow reference (tests/fuzz/words_ref.h). */
char *ref_words_of(const char *buf, size_t n);

/* A file dir/name holding data[0..len): its path (malloc'd). */
char *fixture(const char *dir, const char *name, const char *data, size_t len);

/* Run a command line through /bin/sh with stdin (may hold NUL bytes). */
run_result sh_in(const char *in, size_t len, const char *cmd);
/* Run a program (argv) with stdin in[0..len). */
run_result prog_in(const char *in, size_t len, const char *const *argv);
/* mapper (with its options) | LC_ALL=C sort | reducer, one stage at a time
 * so that each stage's exit status is checked.  Returns reducer output. */
char *pipeline(const char *in, size_t len, const char *const *mapper);
#define MAPPER(...) ((const char *const[]){"wc_mapper", __VA_ARGS__, NULL})

/* A byte string with its length (it may hold NULs): LIT("...") */
typedef struct {
    const char *s;
    size_t len;
} bytes_lit;
#define LIT(lit) \
    { \
        (lit), sizeof(lit) - 1 \
    }

/* Fragments for random inputs, chosen to hit every branch (see the .c);
 * the definition's length must match NRF, or the build fails. */
enum { NRF = 27 };
extern const bytes_lit random_frags[NRF];

/* The lecture's example and its counts. */
#define LAB05_LECTURE "Deer Bear River\nCar Car River\nDeer Car Bear\n"
#define LAB05_LECTURE_COUNTS "bear\t2\ncar\t3\ndeer\t2\nriver\t2\n"
extern const char lecture[sizeof LAB05_LECTURE];
extern const char lecture_counts[sizeof LAB05_LECTURE_COUNTS];

/* A text with every kind of ASCII separator the tr pipeline must agree on. */
#define LAB05_ASCII_FIXTURE \
    "The quick brown fox -- jumps_over the LAZY dog's back!\r\n" \
    "It's 2024: HTTP/2, x86_64, C11 & POSIX.1-2008; e-mail@host.org\t(tab)\n" \
    "\"Quoted\" [brackets] {braces} <angle> a+b=c*d/e%f^g|h~i`j\\k\n" \
    "\x01\x02\x1b[31mred\x1b[0m \x7f del  trailing   spaces   \n" \
    "no trailing newline ENDS here"
extern const char ascii_fixture[sizeof LAB05_ASCII_FIXTURE];

#endif
