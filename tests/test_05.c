/*
 * test_05.c - lab 05's programs: ./wordcount and ./invindex, and the
 * MapReduce runtime as they drive it.
 *
 * The answer is checked against an oracle that cannot share our bugs (the
 * coreutils pipeline, on ASCII) and against hand-checked expectations
 * (Cyrillic, mixed scripts, invalid UTF-8, binary).  Then: the answer must
 * not depend on how the job is run (jobs, reducers, worker kind, block
 * size, crashing workers); errors must leave nothing behind (no output
 * file, no temp dir, no child).  Timings are never asserted.
 * (The runtime's rooms and its module API are tested in test_05_rooms.c,
 * the Hadoop Streaming pair in test_05_streaming.c, the graded exercises in
 * test_05_exercises.c.)
 */
#include "lab05_support.h"
#include "tjson.h"

#include "../05-mapreduce/mr.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------- */

/* The issue's oracle, reformatted to word<TAB>count. */
static char *oracle(const char *path)
{
    static const char script[] =
        "LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' < \"$1\" | tr 'A-Z' 'a-z' | "
        "grep -v '^$' | LC_ALL=C sort | uniq -c | "
        "awk '{ printf \"%s\\t%s\\n\", $2, $1 }'";
    run_result r = RUN("/bin/sh", "-c", script, "oracle", path);
    cr_assert_eq(r.exit_code, 0, "the oracle pipeline failed: %s", r.err);
    free(r.err);
    return r.out;
}

/* Run wordcount with args and expect exit 0, no leftover child. */
static char *wc_ok(const char *const *argv)
{
    run_result r = run_with(&(run_opts){.argv = argv, .timeout = 30});
    cr_assert(!r.timed_out, "wordcount hung");
    cr_assert_eq(r.exit_code, 0, "wordcount failed (exit %d, signal %d): %s",
                 r.exit_code, r.signal, r.err);
    cr_assert_eq(r.leftover, 0, "wordcount left %d process(es) behind",
                 r.leftover);
    free(r.err);
    return r.out;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    cr_assert(d, "opendir %s", path);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n == 0;
}

/* An ASCII text with everything the word rule must handle: punctuation,
 * digits, underscores, apostrophes, CRLF, tabs, NUL bytes, no final
 * newline. */
static const char ascii_text[] =
    "The quick brown fox jumps over the lazy dog.\r\n"
    "THE DOG'S bowl: 42 bones, 7 cats; snake_case and CamelCase.\r\n"
    "It's 2024-06-01 -- x86_64 vs. arm64!\tTabs\tand   spaces\n"
    "\0nul\0bytes\0in\0the\0middle\0of\0words\0\n"
    "a a a b b c the THE The tHe\n"
    "end without a newline";

/* ---- the answer ---------------------------------------------------------- */
TestSuite(lab05_wordcount, .timeout = 120);

Test(lab05_wordcount, ascii_output_equals_the_coreutils_pipeline)
{
    char *dir = make_tmpdir();
    struct {
        const char *name, *data;
        size_t len;
    } fx[] = {
        {"mixed", ascii_text, sizeof ascii_text - 1},
        {"one-word", "word\n", 5},
        {"no-newline", "alpha beta alpha", 16},
        {"crlf", "one two\r\ntwo three\r\nthree three\r\n", 33},
        {"nul", "a\0b\0a\0\0\0c", 9},
        {"punct-only", "... ,,, !!! ---\n", 16},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        char *p = fixture(dir, fx[i].name, fx[i].data, fx[i].len);
        char *want = oracle(p);
        char *got = wc_ok((const char *const[]){"wordcount", p, NULL});
        cr_assert_str_eq(got, want,
                         "fixture '%s': wordcount differs from the coreutils "
                         "pipeline\n--- got ---\n%s--- want ---\n%s",
                         fx[i].name, got, want);
        free(got);
        free(want);
        free(p);
    }
    rm_rf(dir);
    free(dir);
}

/* The combiner keeps keys of up to 16 bytes as two zero-padded words and
 * longer ones as bytes: words of every length around those edges, each
 * with twins that differ in one byte only (or are its prefix), must still
 * be counted apart. */
Test(lab05_wordcount, near_twin_words_of_every_length_are_counted_apart)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789abcdefgh";
    char *text = malloc(64 * 1024);
    cr_assert(text);
    size_t n = 0;
    for (size_t len = 1; len <= 40; len++) {
        for (size_t i = 0; i <= len; i++) { /* i == len: the word itself */
            for (int rep = 0; rep < (i == len ? 3 : 1); rep++) {
                memcpy(text + n, alpha, len);
                if (i < len)
                    text[n + i] = text[n + i] == 'q' ? 'r' : 'q';
                n += len;
                text[n++] = rep % 2 ? '\n' : ' ';
            }
        }
    }
    char *dir = make_tmpdir();
    char *p = fixture(dir, "twins", text, n);
    char *want = oracle(p);
    char *got = wc_ok((const char *const[]){"wordcount", "-j", "2", p, NULL});
    cr_assert_str_eq(got, want,
                     "words that differ in one byte were merged or split\n"
                     "--- got ---\n%s--- want ---\n%s",
                     got, want);
    free(got);
    free(want);
    free(p);
    free(text);
    rm_rf(dir);
    free(dir);
}

Test(lab05_wordcount, empty_input_gives_empty_output_and_exit_0)
{
    char *dir = make_tmpdir();
    char *p = fixture(dir, "empty", "", 0);
    char *got = wc_ok((const char *const[]){"wordcount", p, NULL});
    cr_assert_str_eq(got, "");
    free(got);
    got = wc_ok(
        (const char *const[]){"wordcount", "--workers", "processes", p, NULL});
    cr_assert_str_eq(got, "");
    free(got);
    run_result r = RUN("wordcount"); /* standard input: /dev/null */
    cr_assert_eq(r.exit_code, 0);
    cr_assert_str_eq(r.out, "");
    run_free(&r);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(lab05_wordcount, standard_input_and_dash_match_the_file)
{
    run_result a = RUN_IN("b a b\nc", "wordcount");
    run_result b = RUN_IN("b a b\nc", "wordcount", "-");
    cr_assert_eq(a.exit_code, 0, "%s", a.err);
    cr_assert_str_eq(a.out, "a\t1\nb\t2\nc\t1\n");
    cr_assert_str_eq(b.out, a.out);
    run_free(&a);
    run_free(&b);
}

Test(lab05_wordcount, cyrillic_is_counted_and_lowercased)
{
    run_result r = RUN_IN("Привет, мир! ПРИВЕТ мир.\nЁлка ёлка\n", "wordcount");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* bytewise order: мир (d0 bc) < привет (d0 bf) < ёлка (d1 91) */
    cr_assert_str_eq(r.out, "мир\t2\nпривет\t2\nёлка\t2\n");
    run_free(&r);
}

Test(lab05_wordcount, mixed_scripts_follow_the_word_rule)
{
    run_result r =
        RUN_IN("Hello мир hello МИР café CAFÉ naïve 42 x_y\n", "wordcount");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(
        r.out, "42\t1\ncafé\t2\nhello\t2\nnaïve\t1\nx\t1\ny\t1\nмир\t2\n",
        "'_' separates, É lowercases to é, bytewise order; got:\n%s", r.out);
    run_free(&r);
}

Test(lab05_wordcount, invalid_utf8_bytes_separate_words)
{
    /* a stray byte, an overlong '/', a surrogate, a code point > U+10FFFF,
     * a truncated sequence at the very end */
    static const char in[] =
        "ab\xff"
        "cd \xc0\xafxy \xed\xa0\x80z \xf4\x90\x80\x80w q\xd0";
    run_result r =
        run_with(&(run_opts){.argv = (const char *const[]){"wordcount", NULL},
                             .in = in,
                             .in_len = sizeof in - 1});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "ab\t1\ncd\t1\nq\t1\nw\t1\nxy\t1\nz\t1\n",
                     "got:\n%s", r.out);
    run_free(&r);
}

Test(lab05_wordcount, binary_input_with_every_byte_is_exact)
{
    char all[512];
    for (int i = 0; i < 512; i++)
        all[i] = (char)(i % 256); /* every byte twice, in order */
    run_result r =
        run_with(&(run_opts){.argv = (const char *const[]){"wordcount", NULL},
                             .in = all,
                             .in_len = sizeof all});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* 0x80..0xff in ascending order never form a valid sequence */
    cr_assert_str_eq(r.out, "0123456789\t2\nabcdefghijklmnopqrstuvwxyz\t4\n",
                     "got:\n%s", r.out);
    run_free(&r);
}

Test(lab05_wordcount, words_across_tiny_blocks_are_never_cut_or_doubled)
{
    char *dir = make_tmpdir();
    char *p = fixture(dir, "text", ascii_text, sizeof ascii_text - 1);
    char *want = oracle(p);
    for (int bs = 1; bs <= 9; bs++) {
        char b[16];
        snprintf(b, sizeof b, "%d", bs);
        char *got = wc_ok(
            (const char *const[]){"wordcount", "--block-size", b, p, NULL});
        cr_assert_str_eq(got, want,
                         "--block-size %d: words were cut or doubled at block "
                         "boundaries\n--- got ---\n%s",
                         bs, got);
        free(got);
    }
    /* Cyrillic across tiny blocks: boundaries must not fall inside a letter */
    const char *ru = "один два три два три три\n";
    char *q = fixture(dir, "ru", ru, strlen(ru));
    char *got =
        wc_ok((const char *const[]){"wordcount", "--block-size", "3", q, NULL});
    cr_assert_str_eq(got, "два\t2\nодин\t1\nтри\t3\n");
    free(got);
    free(q);
    free(want);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(lab05_wordcount, a_word_longer_than_a_block_is_one_word)
{
    size_t n =
        3 * (1u << 20) + 5; /* longer than the map's 1 MiB read buffer too */
    char *big = malloc(n + 16);
    cr_assert(big);
    memset(big, 'A', n);
    snprintf(big + n, 16, " b a\n"); /* 5 bytes and a NUL */
    char *dir = make_tmpdir();
    char *p = fixture(dir, "long", big, n + 5);
    /* expected: "a\t1\n" sorts before "aaaa...\t1\n" */
    char *exp = malloc(n + 32);
    int k = sprintf(exp, "a\t1\n");
    memset(exp + k, 'a', n);
    strcpy(exp + k + n, "\t1\nb\t1\n");
    for (int w = 0; w < 2; w++) {
        char *got = wc_ok((const char *const[]){
            "wordcount", "--block-size", "16", "--workers",
            w ? "processes" : "threads", p, NULL});
        cr_assert(strcmp(got, exp) == 0,
                  "a %zu-byte word in 16-byte blocks must be "
                  "counted once, whole (got %zu bytes of output)",
                  n, strlen(got));
        free(got);
    }
    free(exp);
    free(big);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(lab05_wordcount, several_files_are_one_job)
{
    char *dir = make_tmpdir();
    char *a = fixture(dir, "a", "x y\n", 4);
    char *b = fixture(dir, "b", "y z", 3);
    run_result r = RUN_IN("z z\n", "wordcount", a, "-", b);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "x\t1\ny\t2\nz\t3\n");
    run_free(&r);
    free(a);
    free(b);
    rm_rf(dir);
    free(dir);
}

Test(lab05_wordcount, top_k_orders_by_count_then_word)
{
    run_result r = RUN_IN("b c a c b c d d e\n", "wordcount", "--top", "3");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "c\t3\nb\t2\nd\t2\n");
    run_free(&r);
    r = RUN_IN("x\n", "wordcount", "--top", "10");
    cr_assert_str_eq(r.out, "x\t1\n",
                     "--top larger than the vocabulary prints all");
    run_free(&r);
}

Test(lab05_wordcount, stats_report_exactly_the_issues_keys)
{
    run_result r =
        RUN_IN("a b a\nc\n", "wordcount", "--stats", "-", "-j", "2", "-r", "3");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert(tj_valid(r.err),
              "--stats - must print one JSON object on stderr: %s", r.err);
    double v;
    struct {
        const char *key;
        double want;
    } k[] = {
        {"bytes", 8},     {"words", 4},        {"distinct", 3},
        {"map_tasks", 1}, {"reduce_tasks", 3}, {"failed_attempts", 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        cr_assert(tj_num(r.err, k[i].key, &v), "missing key %s in %s", k[i].key,
                  r.err);
        cr_assert_eq(v, k[i].want, "%s: want %g, got %g", k[i].key, k[i].want,
                     v);
    }
    const char *phases[] = {"split",  "map",   "shuffle",
                            "reduce", "merge", "total"};
    for (size_t i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof path, "seconds.%s", phases[i]);
        cr_assert(tj_num(r.err, path, &v) && v >= 0, "missing %s", path);
    }
    cr_assert_eq(tj_len(r.err, "seconds"), 6, "seconds has exactly six phases");
    cr_assert_str_eq(r.out, "a\t2\nb\t1\nc\t1\n",
                     "the result still goes to stdout");
    run_free(&r);
}

Test(lab05_wordcount, plan_shows_the_phases_and_hdfs_block_size)
{
    run_result r = RUN_IN("a b a\n", "wordcount", "--plan");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "a\t2\nb\t1\n");
    const char *want[] = {"128 MiB", "split", "map",  "shuffle",
                          "reduce",  "merge", "total"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(r.err, want[i]), "--plan should mention '%s': %s",
                  want[i], r.err);
    run_free(&r);
}

Test(lab05_wordcount, explain_prints_the_slides_phases)
{
    run_result r = RUN_IN("Deer Bear River\nCar Car River\nDeer Car Bear\n",
                          "wordcount", "--explain", "-r", "2");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    const char *want[] = {
        "SPLITTING",
        "\"Deer Bear River\\n\"",
        "\"Car Car River\\n\"",
        "\"Deer Car Bear\\n\"",
        "MAPPING",
        "map 1: (car, 1) (car, 1) (river, 1)",
        "COMBINING",
        "map 1: (car, 2) (river, 1)",
        "SHUFFLING",
        "car [2, 1]",
        "REDUCING",
        "(car, 3)",
        "FINAL RESULT",
        "bear\t2\ncar\t3\ndeer\t2\nriver\t2\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(r.out, want[i]), "--explain should show '%s':\n%s",
                  want[i], r.out);
    run_free(&r);
}

Test(lab05_wordcount, explain_refuses_a_large_input_politely)
{
    char *big = malloc(10000);
    memset(big, 'a', 10000);
    for (int i = 5; i < 10000; i += 6)
        big[i] = ' ';
    big[9999] = '\0';
    run_result r = RUN_IN(big, "wordcount", "--explain");
    assert_usage_error(&r, "--explain");
    cr_assert(strstr(r.err, "--plan"), "it should suggest --plan: %s", r.err);
    run_free(&r);
    free(big);
}

/* ---- the answer does not depend on how the job runs ------------------- */
TestSuite(lab05_runtime, .timeout = 180);

Test(lab05_runtime, output_is_identical_for_every_jobs_reducers_and_worker_kind)
{
    char *dir = make_tmpdir();
    /* a few hundred KiB, so that 4K blocks make ~100 map tasks */
    size_t n = 0, cap = 300000;
    char *text = malloc(cap);
    while (n + sizeof ascii_text < cap) {
        memcpy(text + n, ascii_text, sizeof ascii_text - 1);
        n += sizeof ascii_text - 1;
        n += (size_t)sprintf(text + n, " w%zu\n", n % 997);
    }
    char *p = fixture(dir, "text", text, n);
    char *want = oracle(p);
    const char *kinds[] = {"threads", "processes"};
    for (int k = 0; k < 2; k++) {
        for (int j = 1; j <= 8; j++) {
            char js[8];
            snprintf(js, sizeof js, "%d", j);
            char *got = wc_ok(
                (const char *const[]){"wordcount", "-j", js, "--workers",
                                      kinds[k], "--block-size", "4K", p, NULL});
            cr_assert(strcmp(got, want) == 0,
                      "-j %d --workers %s differs from the oracle", j,
                      kinds[k]);
            free(got);
        }
        for (int r = 1; r <= 7; r++) {
            char rs[8];
            snprintf(rs, sizeof rs, "%d", r);
            char *got = wc_ok((const char *const[]){
                "wordcount", "-j", "3", "-r", rs, "--workers", kinds[k],
                "--block-size", "16K", p, NULL});
            cr_assert(strcmp(got, want) == 0,
                      "-r %d --workers %s differs from the oracle", r,
                      kinds[k]);
            free(got);
        }
    }
    free(want);
    free(text);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(lab05_runtime, crashing_workers_change_nothing_in_either_kind)
{
    char *dir = make_tmpdir();
    size_t n = 0, cap = 120000;
    char *text = malloc(cap);
    while (n + sizeof ascii_text < cap) {
        memcpy(text + n, ascii_text, sizeof ascii_text - 1);
        n += sizeof ascii_text - 1;
    }
    char *p = fixture(dir, "text", text, n);
    char *want = wc_ok((const char *const[]){"wordcount", p, NULL});
    double total_failed = 0;
    const char *seeds[] = {"1", "2", "3", "42"};
    for (size_t s = 0; s < 4; s++) {
        double failed[2];
        for (int k = 0; k < 2; k++) {
            run_result r = run_with(&(run_opts){
                .argv =
                    (const char *const[]){"wordcount", "--crash-rate", "0.3",
                                          "--seed", seeds[s], "--workers",
                                          k ? "processes" : "threads",
                                          "--block-size", "8K", "-j", "3",
                                          "--stats", "-", p, NULL},
                .timeout = 60});
            cr_assert(!r.timed_out, "a crash run hung");
            cr_assert_eq(r.exit_code, 0, "seed %s, %s: exit %d: %s", seeds[s],
                         k ? "processes" : "threads", r.exit_code, r.err);
            cr_assert_eq(r.leftover, 0, "a crash run left a worker behind");
            cr_assert(strcmp(r.out, want) == 0,
                      "seed %s, --workers %s: the output differs "
                      "from the fault-free run (a task counted twice or lost?)",
                      seeds[s], k ? "processes" : "threads");
            cr_assert(tj_num(r.err, "failed_attempts", &failed[k]),
                      "no stats: %s", r.err);
            run_free(&r);
        }
        cr_assert_eq(failed[0], failed[1],
                     "seed %s: the same attempts must fail in both "
                     "kinds (%g vs %g)",
                     seeds[s], failed[0], failed[1]);
        total_failed += failed[0];
    }
    cr_assert_gt(total_failed, 0,
                 "--crash-rate 0.3 never made an attempt fail");
    free(want);
    free(text);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(lab05_runtime, crash_rate_1_ends_with_an_error_not_a_hang)
{
    char *dir = make_tmpdir();
    char *out = path_join(dir, "out.txt");
    for (int k = 0; k < 2; k++) {
        run_result r = run_with(&(run_opts){
            .argv =
                (const char *const[]){"wordcount", "--crash-rate", "1",
                                      "--workers", k ? "processes" : "threads",
                                      "-o", out, NULL},
            .in = "some words here\n",
            .timeout = 30});
        cr_assert(!r.timed_out, "--crash-rate 1 hung (%s)",
                  k ? "processes" : "threads");
        cr_assert_eq(r.exit_code, 1, "--crash-rate 1 must fail with exit 1: %s",
                     r.err);
        cr_assert(strstr(r.err, "giving up"), "the error should say why: %s",
                  r.err);
        cr_assert_eq(r.leftover, 0);
        cr_assert(dir_is_empty(dir), "a failed job left a file behind");
        run_free(&r);
    }
    free(out);
    rm_rf(dir);
    free(dir);
}

static void interrupt_leaves_nothing(int sig)
{
    char *dir = make_tmpdir();
    char *tmp = path_join(dir, "tmp");
    cr_assert(mkdir(tmp, 0700) == 0);
    size_t n = 0, cap = 4u << 20;
    char *text = malloc(cap);
    while (n + sizeof ascii_text < cap) {
        memcpy(text + n, ascii_text, sizeof ascii_text - 1);
        n += sizeof ascii_text - 1;
    }
    char *p = fixture(dir, "text", text, n);
    char env[4200];
    snprintf(env, sizeof env, "TMPDIR=%s", tmp);
    /* 4K blocks make ~1000 map tasks, each writing R files: long enough to
     * be interrupted in the middle, once the first worker is forked */
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"wordcount", "--workers", "processes",
                                      "-j", "2", "--block-size", "4K", p, NULL},
        .env = (const char *const[]){env, NULL},
        .timeout = 60,
        .signal_at_workers = 1,
        .signal = sig});
    cr_assert(!r.timed_out, "the interrupted run hung");
    cr_assert_eq(r.leftover, 0,
                 "%d worker(s) outlived the interrupted coordinator",
                 r.leftover);
    cr_assert(r.signal == sig || r.exit_code != 0 || r.out_len > 0,
              "it neither died of the signal nor finished");
    cr_assert(dir_is_empty(tmp), "the temp dir under TMPDIR was left behind");
    run_free(&r);
    free(text);
    free(p);
    free(tmp);
    rm_rf(dir);
    free(dir);
}

Test(lab05_runtime, sigint_during_a_process_run_leaves_no_temp_dir_and_no_child)
{
    interrupt_leaves_nothing(SIGINT);
}

Test(lab05_runtime,
     sigterm_during_a_process_run_leaves_no_temp_dir_and_no_child)
{
    interrupt_leaves_nothing(SIGTERM);
}

/* ---- errors and -o ------------------------------------------------------- */
TestSuite(lab05_errors, .timeout = 60);

Test(lab05_errors, a_missing_file_or_a_directory_is_named_and_exits_1)
{
    char *dir = make_tmpdir();
    char *missing = path_join(dir, "no-such-file");
    char *ok = fixture(dir, "ok", "a b\n", 4);
    run_result r = RUN("wordcount", ok, missing);
    cr_assert_eq(r.exit_code, 1);
    cr_assert(strstr(r.err, "no-such-file"), "the error must name the file: %s",
              r.err);
    cr_assert_eq(r.out_len, 0, "no partial result on stdout");
    run_free(&r);
    r = RUN("wordcount", "--workers", "processes", dir);
    cr_assert_eq(r.exit_code, 1);
    cr_assert(strstr(r.err, "directory"), "%s", r.err);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
    r = RUN("invindex", ok, missing);
    cr_assert_eq(r.exit_code, 1);
    cr_assert(strstr(r.err, "no-such-file"), "%s", r.err);
    run_free(&r);
    free(missing);
    free(ok);
    rm_rf(dir);
    free(dir);
}

Test(lab05_errors, output_file_is_never_left_half_written)
{
    char *dir = make_tmpdir();
    char *out = path_join(dir, "out.txt");
    char *missing = path_join(dir, "missing");
    /* an error: no output file at all, no temp file next to it */
    run_result r = RUN("wordcount", "-o", out, missing);
    cr_assert_eq(r.exit_code, 1);
    cr_assert(dir_is_empty(dir),
              "an error left a file in the output's directory");
    run_free(&r);
    /* an error with an old output present: the old file is untouched */
    write_file(out, "old\t1\n", 6);
    r = RUN("wordcount", "-o", out, "--workers", "processes", missing);
    cr_assert_eq(r.exit_code, 1);
    size_t len;
    char *old = read_file(out, &len);
    cr_assert_str_eq(old, "old\t1\n",
                     "a failed run must not touch the old output");
    free(old);
    run_free(&r);
    /* success: the whole file, nothing on stdout */
    r = RUN_IN("b a b\n", "wordcount", "-o", out);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(r.out_len, 0);
    char *got = read_file(out, &len);
    cr_assert_str_eq(got, "a\t1\nb\t2\n");
    free(got);
    run_free(&r);
    unlink(out);
    cr_assert(dir_is_empty(dir), "a temp file was left next to the output");
    /* a directory that does not exist */
    char *bad = path_join(missing, "out.txt");
    r = RUN_IN("a\n", "wordcount", "-o", bad);
    cr_assert_eq(r.exit_code, 1);
    cr_assert(strstr(r.err, "missing"), "%s", r.err);
    run_free(&r);
    free(bad);
    free(out);
    free(missing);
    rm_rf(dir);
    free(dir);
}

Test(lab05_errors, bad_arguments_exit_2_naming_the_option)
{
    struct {
        const char *opt, *val;
    } bad[] = {
        {"--jobs", "abc"},        {"--jobs", "-1"},
        {"--jobs", "0"},          {"--jobs", "99999999999999999999"},
        {"--jobs", "1e3"},        {"--jobs", ""},
        {"--jobs", "257"},        {"--reducers", "0"},
        {"--reducers", "x"},      {"--reducers", "1000"},
        {"--block-size", "0"},    {"--block-size", "-4K"},
        {"--block-size", "2G"},   {"--block-size", "1e3"},
        {"--block-size", ""},     {"--top", "0"},
        {"--top", "-3"},          {"--top", "ten"},
        {"--crash-rate", "1.5"},  {"--crash-rate", "-0.1"},
        {"--crash-rate", "1e-1"}, {"--crash-rate", "nan"},
        {"--seed", "-1"},         {"--seed", "99999999999999999999"},
        {"--workers", "fibers"},  {"--workers", ""},
        {"--stats", ""},          {"--output", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("wordcount", bad[i].opt, bad[i].val);
        assert_usage_error(&r, bad[i].opt);
        run_free(&r);
    }
    run_result r = RUN("wordcount", "--frobnicate");
    assert_usage_error(&r, "--frobnicate");
    run_free(&r);
    r = RUN("wordcount", "--jobs");
    assert_usage_error(&r, "--jobs");
    run_free(&r);
    r = RUN("wordcount", "--explain", "--workers", "processes");
    assert_usage_error(&r, "--explain");
    run_free(&r);
    r = RUN("invindex");
    assert_usage_error(&r, "FILE");
    run_free(&r);
    r = RUN("invindex", "-j", "0", "x");
    assert_usage_error(&r, "--jobs");
    run_free(&r);
    r = RUN("invindex", "--workers", "x", "f");
    assert_usage_error(&r, "--workers");
    run_free(&r);
}

Test(lab05_errors, help_prints_an_example_and_exits_0)
{
    const char *progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        run_result r = RUN(progs[i], "--help");
        cr_assert_eq(r.exit_code, 0);
        cr_assert(strstr(r.out, "Usage:") && strstr(r.out, "./"), "%s", r.out);
        run_free(&r);
    }
}

/* ---- the second application ----------------------------------------------- */
TestSuite(lab05_invindex, .timeout = 60);

Test(lab05_invindex, three_small_files_give_each_words_files_in_order)
{
    char *dir = make_tmpdir();
    char *a = fixture(dir, "a.txt", "Apple banana\ncherry apple", 25);
    char *b = fixture(dir, "b.txt", "banana DATE\n", 12);
    char *c = fixture(dir, "c.txt", "cherry apple elderberry\n", 24);
    char want[1024];
    snprintf(want, sizeof want,
             "apple\t%s,%s\nbanana\t%s,%s\ncherry\t%s,%s\ndate\t%"
             "s\nelderberry\t%s\n",
             a, c, a, b, a, c, b, c);
    const char *kinds[] = {"threads", "processes"};
    for (int k = 0; k < 2; k++)
        for (int bs = 0; bs < 2; bs++) {
            run_result r = run_with(&(run_opts){
                .argv = (const char *const[]){"invindex", "--workers", kinds[k],
                                              "-r", "3", "--block-size",
                                              bs ? "4" : "1M", a, b, c, NULL}});
            cr_assert_eq(r.exit_code, 0, "%s", r.err);
            cr_assert_eq(r.leftover, 0);
            cr_assert_str_eq(r.out, want, "--workers %s, block %s:\n%s",
                             kinds[k], bs ? "4" : "1M", r.out);
            run_free(&r);
        }
    free(a);
    free(b);
    free(c);
    rm_rf(dir);
    free(dir);
}
