/*
 * test_03_exercises.c - lab 03's graded exercises: the two fixes of the
 * race (03.1 mutex, 03.2 local, in race.c) and deadlock's lock-ordering fix
 * (03.3, in deadlock.c).
 *
 * Behaviour only, never timings: a fix must be exact in slow motion (more
 * racers than CPUs, a yield between load and store) and for 1 to 64
 * threads; the ordered locks must never deadlock and must conserve money.
 * The programs' other tests are in test_03.c.
 */
#include "lab03_support.h"

#include <stdbool.h>

/* ---- graded exercises -------------------------------------------------- */

EXERCISE(ex03_mutex, "03", "the mutex fix: lock around the increment", 5);

static void assert_fix_exact(const char *mode, int threads, long long n,
                             bool yield, const char *hint)
{
    struct row r = fixed_count(mode, threads, n, yield);
    cr_assert_eq(r.got, r.expected,
                 "%s mode lost %lld of %lld updates (-t %d -n %lld%s) — %s",
                 mode, r.expected - r.got, r.expected, threads, n,
                 yield ? " --yield" : "", hint);
}

static const char mutex_hint[] =
    "is the whole load, add and store inside the lock?";

Test(ex03_mutex, mutex_mode_is_exact_in_slow_motion)
{
    assert_fix_exact("mutex", more_racers_than_cpus(), 2000, true, mutex_hint);
}

Test(ex03_mutex, mutex_mode_is_exact_for_1_to_64_threads_and_1_to_500000)
{
    assert_fix_exact("mutex", 1, 1, false, mutex_hint);
    assert_fix_exact("mutex", 1, 100000, false, mutex_hint);
    assert_fix_exact("mutex", 8, 3, false, mutex_hint);
    assert_fix_exact("mutex", 64, 2000, false, mutex_hint);
    assert_fix_exact("mutex", 2, 500000, false, mutex_hint);
}

EXERCISE(ex03_local, "03", "the local fix: count privately, merge once", 4);

static const char local_hint[] =
    "does each thread count in its own variable and add it to the shared total "
    "once, under the lock?";

Test(ex03_local, local_mode_is_exact_in_slow_motion)
{
    assert_fix_exact("local", more_racers_than_cpus(), 2000, true, local_hint);
}

Test(ex03_local, local_mode_is_exact_for_1_to_64_threads_and_1_to_500000)
{
    assert_fix_exact("local", 1, 1, false, local_hint);
    assert_fix_exact("local", 1, 100000, false, local_hint);
    assert_fix_exact("local", 8, 3, false, local_hint);
    assert_fix_exact("local", 64, 2000, false, local_hint);
    assert_fix_exact("local", 2, 500000, false, local_hint);
}

EXERCISE(ex03_order, "03", "deadlock's lock-ordering fix", 4);

Test(ex03_order, order_fix_completes_every_transfer_and_conserves_money)
{
    assert_fix_conserves_money("order", "100", "1");
    assert_fix_conserves_money("order", "20000", "0");
}
