/*
 * lab01_support.h - helpers shared by tests/test_01.c (./fork and ./spawn)
 * and tests/test_01_exercises.c (the graded 01.1 and 01.2).
 */
#ifndef KIT_TESTS_LAB01_SUPPORT_H
#define KIT_TESTS_LAB01_SUPPORT_H

#include "harness.h"

/* The run ended normally with exit 0 and left no child behind. */
void assert_clean_exit(const run_result *r, const char *what);

#endif
