/*
 * test_python_twins.c - every lab's Python twin (NN-topic/NAME.py) runs, prints
 * valid JSON with the keys its C program uses, and gets the lesson right.
 *
 * One suite per lab (lab01_twin ... lab05_twin), so `make test LAB=03` runs
 * that lab's twin too.  What is certain is tested, never a timing: race.py's
 * slow-motion mode loses updates and its lock mode is exact; queue.py
 * delivers every item exactly once over both queues; wordcount.py's output
 * is byte-identical to ./wordcount's (Cyrillic, mixed scripts, invalid
 * UTF-8, every byte value, and a text long enough to be split across a
 * Pool).  The twins run on Debian's python3 ($KIT_PYTHON, default
 * /usr/bin/python3, where python3-joblib installs); without it, or without
 * joblib for the twin that needs it, the test is skipped and says why.
 */
#include "harness.h"
#include "tjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(lab01_twin, .timeout = 120);
TestSuite(lab02_twin, .timeout = 120);
TestSuite(lab03_twin, .timeout = 120);
TestSuite(lab04_twin, .timeout = 120);
TestSuite(lab05_twin, .timeout = 120);

/* ---- helpers --------------------------------------------------------------- */

static const char *python(void)
{
    const char *p = getenv("KIT_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

/* The script's path: the sources are the working directory (make test runs
 * from the top of the kit), or $KIT_SRC_DIR. */
static const char *script(const char *rel)
{
    static char buf[4096];
    const char *src = getenv("KIT_SRC_DIR");
    snprintf(buf, sizeof buf, "%s/%s", src && *src ? src : ".", rel);
    return buf;
}

/* Skip, with the reason in one line, when the twins cannot run here. */
static void need_python(bool joblib)
{
    char reason[512];
    if (access(python(), X_OK) != 0) {
        snprintf(reason, sizeof reason,
                 "the Python twins need %s, which is not installed: "
                 "sudo apt-get install -y python3 python3-joblib",
                 python());
        skip_because(reason);
    }
    if (joblib) {
        run_result r = RUN(python(), "-c", "import joblib");
        bool ok = r.exit_code == 0;
        run_free(&r);
        if (!ok) {
            snprintf(reason, sizeof reason,
                     "the joblib twins need joblib for %s, which is not "
                     "installed: sudo apt-get install -y python3-joblib",
                     python());
            skip_because(reason);
        }
    }
}

static void assert_json(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung", what);
    cr_assert_eq(r->exit_code, 0, "%s: status %d (signal %d); stderr: %s", what,
                 r->exit_code, r->signal, r->err);
    cr_assert(tj_valid(r->out), "%s: not one JSON document: %s", what, r->out);
    cr_assert_eq(r->leftover, 0, "%s left a process behind", what);
}

static double num(const char *doc, const char *path)
{
    double v = 0;
    cr_assert(tj_num(doc, path, &v), "no number at %s in: %s", path, doc);
    return v;
}

static bool flag(const char *doc, const char *path)
{
    bool v = false;
    cr_assert(tj_bool(doc, path, &v), "no true/false at %s in: %s", path, doc);
    return v;
}

static void expect_str(const char *doc, const char *path, const char *want)
{
    char got[64];
    cr_assert(tj_str(doc, path, got, sizeof got), "no string at %s in: %s",
              path, doc);
    cr_expect_str_eq(got, want, "%s in: %s", path, doc);
}

/* ---- lab 01: spawn.py ---------------------------------------------------- */

Test(lab01_twin, spawn_py_prints_the_keys_of_spawn)
{
    need_python(false);
    run_result r =
        RUN(python(), script("01-processes/spawn.py"), "-n", "5", "--json");
    assert_json(&r, "spawn.py");
    cr_expect_eq(num(r.out, "count"), 5);
    cr_expect_gt(num(r.out, "fork_us"), 0);
    cr_expect_gt(num(r.out, "thread_us"), 0);
    cr_expect_gt(num(r.out, "ratio"), 0);
    run_free(&r);
}

/* ---- lab 02: gil.py, parallel.py ----------------------------------------- */

Test(lab02_twin, gil_py_runs_cpu_threads_cpu_processes_and_io_threads)
{
    need_python(false);
    run_result r = RUN(python(), script("02-threads/gil.py"), "-t", "2",
                       "--cpu-ms", "20", "--json");
    assert_json(&r, "gil.py");
    cr_assert_eq(tj_len(r.out, "runs"), 3, "%s", r.out);
    expect_str(r.out, "runs.0.work", "cpu");
    expect_str(r.out, "runs.1.work", "cpu");
    expect_str(r.out, "runs.2.work", "io");
    cr_expect(flag(r.out, "runs.0.gil") && !flag(r.out, "runs.1.gil") &&
                  flag(r.out, "runs.2.gil"),
              "threads share the GIL, processes do not: %s", r.out);
    for (int i = 0; i < 3; i++) {
        char p[32];
        snprintf(p, sizeof p, "runs.%d.speedup", i);
        cr_expect_gt(num(r.out, p), 0);
        snprintf(p, sizeof p, "runs.%d.seconds", i);
        cr_expect_gt(num(r.out, p), 0);
    }
    cr_expect_eq(num(r.out, "threads"), 2);
    run_free(&r);
}

Test(lab02_twin, parallel_py_gives_the_loops_results_with_joblib_and_pool)
{
    need_python(true);
    run_result r = RUN(python(), script("02-threads/parallel.py"), "-j", "2",
                       "--tasks", "4", "--size", "2000", "--json");
    assert_json(&r, "parallel.py");
    cr_assert_eq(tj_len(r.out, "runs"), 2, "%s", r.out);
    expect_str(r.out, "runs.0.backend", "joblib");
    expect_str(r.out, "runs.1.backend", "pool");
    cr_expect(flag(r.out, "runs.0.ok"), "joblib's results differ: %s", r.out);
    cr_expect(flag(r.out, "runs.1.ok"), "Pool.map's results differ: %s", r.out);
    run_free(&r);
}

/* ---- lab 03: race.py ------------------------------------------------------- */

Test(lab03_twin, race_py_slow_motion_loses_updates)
{
    need_python(false);
    run_result r = RUN(python(), script("03-race-conditions/race.py"), "-m",
                       "yield", "-t", "4", "-n", "3000", "--json");
    assert_json(&r, "race.py -m yield");
    expect_str(r.out, "results.0.mode", "yield");
    cr_expect_eq(num(r.out, "results.0.expected"), 12000);
    cr_expect_gt(num(r.out, "results.0.lost"), 0,
                 "read, sleep(0), write from 4 threads: the GIL is let go "
                 "between the read and the write, updates must be lost: %s",
                 r.out);
    cr_expect_eq(num(r.out, "results.0.got") + num(r.out, "results.0.lost"),
                 12000);
    run_free(&r);
}

Test(lab03_twin, race_py_lock_mode_is_exact)
{
    need_python(false);
    run_result r = RUN(python(), script("03-race-conditions/race.py"), "-m",
                       "lock", "-t", "4", "-n", "3000", "--json");
    assert_json(&r, "race.py -m lock");
    expect_str(r.out, "results.0.mode", "lock");
    cr_expect_eq(num(r.out, "results.0.got"), 12000, "%s", r.out);
    cr_expect_eq(num(r.out, "results.0.lost"), 0, "%s", r.out);
    run_free(&r);
}

Test(lab03_twin, race_py_all_modes_print_the_keys_of_race)
{
    need_python(false);
    run_result r = RUN(python(), script("03-race-conditions/race.py"), "-n",
                       "2000", "--json");
    assert_json(&r, "race.py");
    cr_assert_eq(tj_len(r.out, "results"), 3, "%s", r.out);
    expect_str(r.out, "results.0.mode", "unsafe");
    for (int i = 0; i < 3; i++) {
        char e[32], g[32], l[32];
        snprintf(e, sizeof e, "results.%d.expected", i);
        snprintf(g, sizeof g, "results.%d.got", i);
        snprintf(l, sizeof l, "results.%d.lost", i);
        cr_expect_eq(num(r.out, e), 4000);
        cr_expect_eq(num(r.out, g) + num(r.out, l), 4000, "%s", r.out);
    }
    run_free(&r);
}

/* ---- lab 04: queue.py ------------------------------------------------------ */

Test(lab04_twin, queue_py_delivers_every_item_exactly_once_over_both_queues)
{
    need_python(false);
    run_result r = RUN(python(), script("04-pipes-queues/queue.py"), "-p", "3",
                       "-c", "2", "-n", "3001", "--capacity", "4", "--json");
    assert_json(&r, "queue.py");
    cr_assert_eq(tj_len(r.out, "runs"), 2, "%s", r.out);
    expect_str(r.out, "runs.0.queue", "queue.Queue");
    expect_str(r.out, "runs.1.queue", "multiprocessing.Queue");
    for (int i = 0; i < 2; i++) {
        char p[40];
        snprintf(p, sizeof p, "runs.%d.delivered", i);
        cr_expect_eq(num(r.out, p), 3001, "%s", r.out);
        snprintf(p, sizeof p, "runs.%d.missing", i);
        cr_expect_eq(num(r.out, p), 0, "%s", r.out);
        snprintf(p, sizeof p, "runs.%d.duplicates", i);
        cr_expect_eq(num(r.out, p), 0, "%s", r.out);
        snprintf(p, sizeof p, "runs.%d.exactly_once", i);
        cr_expect(flag(r.out, p), "%s", r.out);
        snprintf(p, sizeof p, "runs.%d.items_per_sec", i);
        cr_expect_gt(num(r.out, p), 0);
    }
    run_free(&r);
}

/* ---- lab 05: wordcount.py ------------------------------------------------- */

/* ./wordcount and wordcount.py -j JOBS on the same bytes: identical. */
static void same_as_wordcount(const char *in, size_t len, const char *what)
{
    run_result c =
        run_with(&(run_opts){.argv = (const char *const[]){"wordcount", NULL},
                             .in = in,
                             .in_len = len});
    cr_assert_eq(c.exit_code, 0, "./wordcount: %s", c.err);
    const char *jobs[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        run_result p = run_with(&(run_opts){
            .argv = (const char *const[]){python(),
                                          script("05-mapreduce/wordcount.py"),
                                          "-j", jobs[i], NULL},
            .in = in,
            .in_len = len});
        cr_expect_eq(p.exit_code, 0, "wordcount.py -j %s: %s", jobs[i], p.err);
        cr_expect(p.out_len == c.out_len &&
                      memcmp(p.out, c.out, c.out_len) == 0,
                  "%s: wordcount.py -j %s differs from ./wordcount\n"
                  "--- ./wordcount:\n%.600s\n--- wordcount.py:\n%.600s",
                  what, jobs[i], c.out, p.out);
        cr_expect_eq(p.leftover, 0);
        run_free(&p);
    }
    run_free(&c);
}

Test(lab05_twin, wordcount_py_is_byte_identical_on_russian_and_mixed_text)
{
    need_python(false);
    static const char *const texts[] = {
        "Привет, мир! ПРИВЕТ мир.\nЁлка ёлка\n",
        "Hello мир hello МИР café CAFÉ naïve 42 x_y\n",
        "Deer Bear River\nCar Car River\nDeer Car Bear\n",
        "ΟΔΟΣ οδος İstanbul ISTANBUL\n",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        same_as_wordcount(texts[i], strlen(texts[i]), texts[i]);
}

Test(lab05_twin, wordcount_py_is_byte_identical_on_invalid_utf8_and_every_byte)
{
    need_python(false);
    static const char bad[] =
        "ab\xff"
        "cd \xc0\xafxy \xed\xa0\x80z \xf4\x90\x80\x80w q\xd0";
    same_as_wordcount(bad, sizeof bad - 1, "invalid UTF-8");
    char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i % 256);
    same_as_wordcount(all, sizeof all, "every byte value");
}

Test(lab05_twin, wordcount_py_pool_splits_never_cut_a_word)
{
    need_python(false);
    /* Many lines, so -j 2 cuts the text into several splits for the Pool. */
    size_t cap = 200000, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    static const char *const words[] = {"Олень", "bear", "RIVER", "ёлка",
                                        "car42", "Река", "x_y",   "naïve"};
    for (int i = 0; len + 64 < cap; i++) {
        int n = snprintf(text + len, cap - len, "%s %s, %s.\n", words[i % 8],
                         words[(i * 3) % 8], words[(i * 5 + 1) % 8]);
        len += (size_t)n;
    }
    same_as_wordcount(text, len, "a 200 KB text");
    free(text);
}
