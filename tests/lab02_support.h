/*
 * lab02_support.h - helpers shared by tests/test_02.c (the programs and the
 * pool module) and tests/test_02_exercises.c (the graded 02.1 and 02.2).
 */
#ifndef KIT_TESTS_LAB02_SUPPORT_H
#define KIT_TESTS_LAB02_SUPPORT_H

#include "harness.h"

/* The number at `path` in a JSON document (asserted present). */
double num(const char *doc, const char *path);
/* The program ended with exit 0 and printed one valid JSON document. */
void assert_json_ok(const run_result *r, const char *what);
/* A pool task whose cost grows with x, and whose answer (x*x + 1) is easy to
 * check. */
long long spin_square(long long x, void *arg);
/* No child of the test process is left: neither running nor a zombie. */
void assert_no_children(void);

#endif
