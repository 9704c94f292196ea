/*
 * lab03_support.h - helpers shared by tests/test_03.c (./race and
 * ./deadlock) and tests/test_03_exercises.c (the graded 03.1-03.3).
 */
#ifndef KIT_TESTS_LAB03_SUPPORT_H
#define KIT_TESTS_LAB03_SUPPORT_H

#include "harness.h"

#include <stdbool.h>

/* What ./race reported for one mode. */
struct row {
    char mode[16];
    long long expected, got, lost;
};

/* Run ./race -m MODE -t T -n N [--yield] --json. */
run_result run_race(const char *mode, int threads, long long n, bool yield);
/* Row i of the JSON document, or a failed assertion. */
struct row json_row(const char *doc, int i);
/* A run of fixes only must be exact, and clean under every sanitizer:
 * returns its row; the exit status is checked after the caller's own
 * (teaching) message would have been. */
struct row fixed_count(const char *mode, int threads, long long n, bool yield);
/* More racers than CPUs, so two of them always share a CPU (see the .c). */
int more_racers_than_cpus(void);

/* Run ./deadlock with argv, 10 s at most (its watchdog gives up after about
 * a second). */
run_result run_deadlock(const char *const *argv);
/* deadlock --fix FIX -n TRANSFERS -p PAUSE must finish with status 0, every
 * transfer done, money conserved. */
void assert_fix_conserves_money(const char *fix, const char *transfers,
                                const char *pause);

#endif
