/*
 * test_05_exercises.c - lab 05's graded exercises:
 *   ex05_partition  05.1  the partition function, hash -> reducer
 *                         (mr_partition in 05-mapreduce/mr_partition.c)
 *   ex05_reducer    05.2  the streaming reducer: summing runs of equal keys
 *                         (05-mapreduce/wc_reducer.c)
 *
 * Behaviour only.  The runtime and the programs are tested in test_05.c,
 * test_05_rooms.c and test_05_streaming.c.
 */
#include "lab05_support.h"

#include "../05-mapreduce/mr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- exercise 05.1: the partition function ------------------------------- */
EXERCISE(ex05_partition, "05", "the partition function (hash -> reducer)", 4);

Test(ex05_partition, every_key_lands_in_a_valid_partition_always_the_same)
{
    for (unsigned R = 1; R <= 9; R++)
        for (int i = 0; i < 1000; i++) {
            char k[32];
            int n = snprintf(k, sizeof k, "key%d", i);
            uint64_t h = mr_hash(k, (size_t)n);
            unsigned p = mr_partition(h, R);
            cr_assert_lt(
                p, R,
                "mr_partition(hash of '%s', %u) = %u: it must be in 0..%u", k,
                R, p, R - 1);
            cr_assert_eq(mr_partition(h, R), p,
                         "the same key must always go to the "
                         "same reducer, or its counts are split between two");
        }
}

Test(ex05_partition, keys_are_spread_evenly_over_the_reducers)
{
    enum { N = 20000 };
    const unsigned Rs[] = {2, 3, 4, 7, 8};
    for (size_t t = 0; t < sizeof Rs / sizeof Rs[0]; t++) {
        unsigned R = Rs[t];
        unsigned count[8] = {0};
        for (int i = 0; i < N; i++) {
            char k[32];
            int n = snprintf(k, sizeof k, "w%d", i);
            unsigned p = mr_partition(mr_hash(k, (size_t)n), R);
            cr_assert_lt(p, R);
            count[p]++;
        }
        double mean = (double)N / R;
        for (unsigned p = 0; p < R; p++)
            cr_assert(count[p] > 0.8 * mean && count[p] < 1.2 * mean,
                      "with %u reducers, reducer %u got %u of %d keys "
                      "(expected about "
                      "%.0f): an uneven partition makes one reduce task do the "
                      "work of "
                      "several -- use the hash's remainder modulo the number "
                      "of reducers",
                      R, p, count[p], N, mean);
    }
}

/* ---- ex05_reducer: exercise 05.2, summing runs of equal keys -------------- */

EXERCISE(ex05_reducer, "05", "the streaming reducer", 4);

Test(ex05_reducer, sums_a_run_of_equal_keys)
{
    run_result r = RUN_IN("a\t1\na\t2\nb\t5\nc\t1\nc\t1\nc\t1\n", "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "a\t3\nb\t5\nc\t3\n",
        "equal keys arrive one after another: add their values and print "
        "each key once, when its run ends (TODO 05.2 in wc_reducer.c)");
    run_free(&r);
}

Test(ex05_reducer, prints_the_last_run_at_end_of_input)
{
    run_result r = RUN_IN("x\t1\nx\t1", "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "x\t2\n",
        "the last key has no successor to close its run: print it at EOF");
    run_free(&r);
}

Test(ex05_reducer, the_textbook_mapper_pipeline_gives_the_totals)
{
    char *out = pipeline(lecture, 0, MAPPER("--max-distinct", "0"));
    cr_assert_str_eq(
        out, lecture_counts,
        "with 'word<TAB>1' per word the reducer does all the summing");
    free(out);
}

Test(ex05_reducer, partial_counts_from_many_map_tasks_add_up)
{
    /* As on a cluster: several map tasks (here: a mapper that flushes
     * after every 2 distinct words, on two inputs), one sort, one reduce. */
    run_result m1 =
        RUN_IN("Deer Bear River Deer", "wc_mapper", "--max-distinct", "2");
    run_result m2 = RUN_IN("Car Car River Deer Car Bear", "wc_mapper",
                           "--max-distinct", "2");
    cr_assert_eq(m1.exit_code + m2.exit_code, 0);
    size_t n = m1.out_len + m2.out_len;
    char *both = malloc(n + 1);
    memcpy(both, m1.out, m1.out_len);
    memcpy(both + m1.out_len, m2.out, m2.out_len);
    both[n] = '\0';
    run_result s = sh_in(both, n, "LC_ALL=C exec sort");
    run_result r = RUN_IN(s.out, "wc_reducer");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "bear\t2\ncar\t3\ndeer\t3\nriver\t2\n",
                     "the reducer must add up every partial count of a key");
    free(both);
    run_free(&m1);
    run_free(&m2);
    run_free(&s);
    run_free(&r);
}

Test(ex05_reducer, a_total_beyond_2_to_the_64_is_an_error_naming_the_line)
{
    run_result r =
        RUN_IN("a\t18446744073709551615\na\t0\na\t1\n", "wc_reducer");
    cr_assert_eq(
        r.exit_code, 1,
        "18446744073709551615 + 1 does not fit in 64 bits: exit 1, never wrap "
        "around to 0 (use kvline_add)");
    cr_assert(strstr(r.err, "line 3:") && strstr(r.err, "'a'"),
              "the message names the line and the key, got: %s", r.err);
    run_free(&r);
}
