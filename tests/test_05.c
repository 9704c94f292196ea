/*
 * test_05.c - lab 05: the MapReduce runtime, ./wordcount and ./invindex.
 *
 * The answer is checked against an oracle that cannot share our bugs (the
 * coreutils pipeline, on ASCII) and against hand-checked expectations
 * (Cyrillic, mixed scripts, invalid UTF-8, binary).  Then: the answer must
 * not depend on how the job is run (jobs, reducers, worker kind, block
 * size, crashing workers); errors must leave nothing behind (no output
 * file, no temp dir, no child).  Timings are never asserted.
 * (The Hadoop Streaming pair is tested in test_05_streaming.c, the graded
 * exercises in test_05_exercises.c.)
 */
#include "harness.h"
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
    static const char pipeline[] =
        "LC_ALL=C tr -cs 'A-Za-z0-9' '\\n' < \"$1\" | tr 'A-Z' 'a-z' | "
        "grep -v '^$' | LC_ALL=C sort | uniq -c | "
        "awk '{ printf \"%s\\t%s\\n\", $2, $1 }'";
    run_result r = RUN("/bin/sh", "-c", pipeline, "oracle", path);
    cr_assert_eq(r.exit_code, 0, "the oracle pipeline failed: %s", r.err);
    free(r.err);
    return r.out;
}

static char *fixture(const char *dir, const char *name, const char *data,
                     size_t len)
{
    char *p = path_join(dir, name);
    write_file(p, data, len);
    return p;
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

/* ---- the runtime as a module ------------------------------------------------ */
TestSuite(lab05_module, .timeout = 30);

Test(lab05_module, the_hash_is_deterministic_and_length_sensitive)
{
    cr_assert_eq(mr_hash("word", 4), mr_hash("word", 4));
    cr_assert_neq(mr_hash("word", 4), mr_hash("word", 3));
    cr_assert_neq(mr_hash("", 0), mr_hash("\0", 1));
    cr_assert_neq(mr_hash("abcdefgh1", 9), mr_hash("abcdefgh2", 9));
    /* every byte counts, at every length (short keys are hashed as two
     * zero-padded words, long ones eight bytes at a time) */
    char key[41], twin[41];
    for (size_t len = 1; len <= sizeof key - 1; len++)
        for (size_t i = 0; i < len; i++) {
            for (size_t k = 0; k < len; k++)
                key[k] = twin[k] = (char)('a' + k % 26);
            twin[i] = '\0';
            cr_assert_neq(mr_hash(key, len), mr_hash(twin, len),
                          "byte %zu of a %zu-byte key is ignored by mr_hash", i,
                          len);
        }
}

Test(lab05_module, the_default_block_gives_a_few_splits_per_worker)
{
    cr_assert_eq(mr_default_block(1000, 2), 1u << 20,
                 "small inputs: 1 MiB blocks");
    uint64_t b = mr_default_block(200000000, 2);
    uint64_t splits = (200000000 + b - 1) / b;
    cr_assert(splits >= 4 && splits <= 12, "200 MB on 2 workers: %llu splits",
              (unsigned long long)splits);
    uint64_t b4 = mr_default_block(800000000, 2);
    uint64_t splits4 = (800000000 + b4 - 1) / b4;
    cr_assert(splits4 >= splits - 1 && splits4 <= splits + 1,
              "4x the input must make 4x larger blocks, not 4x the tasks (%llu "
              "vs %llu)",
              (unsigned long long)splits4, (unsigned long long)splits);
    cr_assert_eq(mr_default_block(200000000, 1), b,
                 "-j 1 and -j 2 must run the same splits (so that comparing "
                 "them measures the parallelism only)");
    uint64_t b8 = mr_default_block(200000000, 8);
    cr_assert((200000000 + b8 - 1) / b8 >= 30,
              "8 workers: about four splits each, got %llu",
              (unsigned long long)((200000000 + b8 - 1) / b8));
}

/* Two apps that emit the same pairs: the words of a split (runs of bytes
 * other than ' ' and '\n', so keys of any byte and any length), each with
 * value 1, through mr_emit from an app that promises no padding or one that
 * promises MR_KEY_PAD bytes (mr_app.key_padding: the runtime's fast load).
 * The padded one hands over a copy followed by MR_KEY_PAD bytes of
 * garbage, which must not matter. */
static void emit_words(const char *data, size_t len, mr_emitter *em,
                       bool padded)
{
    for (size_t i = 0; i < len;) {
        while (i < len && (data[i] == ' ' || data[i] == '\n'))
            i++;
        size_t start = i;
        while (i < len && data[i] != ' ' && data[i] != '\n')
            i++;
        if (i == start)
            continue;
        size_t n = i - start;
        if (!padded) {
            mr_emit(em, data + start, n, 1);
            continue;
        }
        char *copy = malloc(n + MR_KEY_PAD);
        cr_assert(copy != NULL);
        memcpy(copy, data + start, n);
        static _Thread_local uint32_t x = 1; /* garbage, new at every call */
        for (size_t j = 0; j < MR_KEY_PAD; j++) {
            x = x * 1664525u + 1013904223u;
            copy[n + j] = (char)(x >> 24);
        }
        mr_emit(em, copy, n, 1);
        free(copy);
    }
}

static void map_plain(const mr_split *s, const char *data, size_t len,
                      mr_emitter *em, void *arg)
{
    (void)s;
    (void)arg;
    emit_words(data, len, em, false);
}

static void map_padded(const mr_split *s, const char *data, size_t len,
                       mr_emitter *em, void *arg)
{
    (void)s;
    (void)arg;
    emit_words(data, len, em, true);
}

static uint64_t add_values(uint64_t held, uint64_t v, void *arg)
{
    (void)arg;
    return held + v;
}

static uint64_t sum_values(const char *key, size_t klen, const uint64_t *vals,
                           size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    (void)text;
    (void)arg;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += vals[i];
    return sum;
}

/* reduce: how many values the key got -- one per map task that emitted
 * it, if the combiner folded every occurrence into one slot. */
static uint64_t count_values(const char *key, size_t klen, const uint64_t *vals,
                             size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    (void)vals;
    (void)text;
    (void)arg;
    return n;
}

/* Run app on file with jobs/reducers/block and return the result as
 * "key<TAB>count\n" lines (malloc'd, *len bytes: keys may hold NULs). */
static char *run_app(const mr_app *app, const char *file, int jobs,
                     int reducers, uint64_t block, size_t *len_out)
{
    const char *files[] = {file};
    mr_config cfg = {.app = app,
                     .files = files,
                     .nfiles = 1,
                     .jobs = jobs,
                     .reducers = reducers,
                     .workers = MR_THREADS,
                     .block_size = block,
                     .seed = 1};
    mr_result res;
    mr_run(&cfg, &res);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cr_assert(f != NULL);
    cr_assert(mr_write_recs(f, res.recs, res.n));
    cr_assert_eq(fclose(f), 0);
    mr_result_free(&res);
    *len_out = len;
    return out;
}

Test(lab05_module, mr_emit_padded_gives_the_pairs_of_mr_emit)
{
    /* Keys of 1..40 bytes (both sides of the 16-byte short-key limit),
     * with NUL, 0xff and capitals inside, each several times. */
    char *dir = make_tmpdir();
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    cr_assert(text != NULL);
    uint32_t x = 5;
    for (int rep = 0; rep < 3; rep++)
        for (size_t n = 1; n <= 40; n++)
            for (int variant = 0; variant < 4; variant++) {
                for (size_t i = 0; i < n; i++) {
                    x = x * 1664525u + 1013904223u;
                    char c = (char)('a' + (x >> 24) % 3);
                    if (variant == 1 && i == n / 2)
                        c = '\0';
                    if (variant == 2 && i == n - 1)
                        c = (char)0xff;
                    if (variant == 3)
                        c = (char)('A' + i % 26);
                    text[len++] = c;
                }
                text[len++] = (x >> 20) & 1 ? ' ' : '\n';
            }
    cr_assert(len < cap);
    char *file = fixture(dir, "keys", text, len);
    static const mr_app plain = {.name = "plain",
                                 .map = map_plain,
                                 .combine = add_values,
                                 .reduce = sum_values};
    static const mr_app padded = {.name = "padded",
                                  .map = map_padded,
                                  .combine = add_values,
                                  .reduce = sum_values,
                                  .key_padding = MR_KEY_PAD};
    static const mr_app padded_sum = {.name = "padded, mr_sum",
                                      .map = map_padded,
                                      .combine = mr_sum,
                                      .reduce = sum_values,
                                      .key_padding = MR_KEY_PAD};
    size_t wlen, glen, lines = 0;
    char *want = run_app(&plain, file, 1, 1, 0, &wlen);
    for (size_t i = 0; i < wlen; i++)
        lines += want[i] == '\n';
    cr_assert(lines > 300, "the test input has only %zu distinct keys", lines);
    const struct {
        const mr_app *app;
        int jobs, reducers;
        uint64_t block;
    } runs[] = {/* one split (block 0: the default, 1 MiB): a split
                 * boundary would fall at the first ASCII separator, which
                 * may be a NUL inside one of these keys */
                {&padded, 1, 1, 0},
                {&padded, 2, 3, 0},
                {&padded_sum, 1, 1, 0},
                {&padded_sum, 3, 2, 0},
                {&plain, 2, 5, 0}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char *got = run_app(runs[i].app, file, runs[i].jobs, runs[i].reducers,
                            runs[i].block, &glen);
        cr_assert(glen == wlen && memcmp(got, want, wlen) == 0,
                  "%s, -j %d -r %d, block %llu: the result differs from "
                  "mr_emit's (%zu vs %zu bytes)",
                  runs[i].app->name, runs[i].jobs, runs[i].reducers,
                  (unsigned long long)runs[i].block, glen, wlen);
        free(got);
    }
    /* One split, so one map task: if the padded loads saw the bytes after
     * a key, its occurrences would land in different combiner slots and the
     * reducer get several values for it (the sums above would not show
     * that). */
    static const mr_app padded_n = {.name = "padded, values per key",
                                    .map = map_padded,
                                    .combine = mr_sum,
                                    .reduce = count_values,
                                    .key_padding = MR_KEY_PAD};
    size_t nlen;
    char *n_out = run_app(&padded_n, file, 2, 3, 0, &nlen);
    size_t keys = 0;
    for (size_t i = 0; i < nlen; i++)
        if (n_out[i] == '\t') {
            keys++;
            cr_assert(i + 2 < nlen && n_out[i + 1] == '1' &&
                          n_out[i + 2] == '\n',
                      "a key reached the reducer with several values from "
                      "one map task: the padded load let the bytes after it "
                      "in (%.20s)",
                      n_out + i + 1);
        }
    cr_assert_eq(keys, lines, "%zu keys counted, %zu in the sums", keys, lines);
    free(n_out);
    free(want);
    free(file);
    free(text);
    rm_rf(dir);
    free(dir);
}

Test(lab05_module, the_hash_spreads_structured_keys_over_partitions)
{
    /* Keys that differ only in a few bytes, anywhere in the first 16: the
     * partition is hash % R, so the hash's LOW bits must depend on every
     * byte (a hash whose low bits ignored bytes 5..7 put all of "inter???"
     * into one partition).  Checked on mr_hash itself: mr_partition is an
     * exercise.  10,000 keys or more each, so that chance stays far inside
     * the 10% (for R = 8, 10% of a partition is 3.5 standard deviations). */
    static const struct {
        const char *fmt;
        int n;
    } pats[] = {{"user%05d", 100000},
                {"%08d", 100000},
                {"int%05d", 100000},
                {"0123456789ab%04d", 10000},
                {"%04dsuffix", 10000}};
    for (size_t t = 0; t < sizeof pats / sizeof pats[0]; t++)
        for (unsigned R = 2; R <= 8; R *= 2) {
            unsigned count[8] = {0};
            for (int i = 0; i < pats[t].n; i++) {
                char k[32];
                int n = snprintf(k, sizeof k, pats[t].fmt, i);
                count[mr_hash(k, (size_t)n) % R]++;
            }
            double mean = (double)pats[t].n / R;
            for (unsigned r = 0; r < R; r++)
                cr_assert(count[r] > 0.9 * mean && count[r] < 1.1 * mean,
                          "keys '%s' (%d of them), R = %u: partition %u got "
                          "%u, expected about %.0f",
                          pats[t].fmt, pats[t].n, R, r, count[r], mean);
        }
}

Test(lab05_module, mr_sum_adds)
{
    cr_assert_eq(mr_sum(0, 0, NULL), 0);
    cr_assert_eq(mr_sum(40, 2, NULL), 42);
    cr_assert_eq(mr_sum(UINT64_MAX - 1, 1, NULL), UINT64_MAX);
}

Test(lab05_module, mr_write_recs_writes_every_line_whole_through_its_buffer)
{
    /* The writer assembles lines in a 64 KiB buffer: lines around and far
     * beyond that size, values and texts, must come out byte for byte. */
    enum { BIG = 200 * 1024 };
    char *key = malloc(BIG), *txt = malloc(BIG);
    cr_assert(key != NULL && txt != NULL);
    for (size_t i = 0; i < BIG; i++) {
        key[i] = (char)('a' + i % 26);
        txt[i] = (char)('A' + i % 26);
    }
    /* Around the big ones, 20,000 short lines (more than 64 KiB: the
     * buffer fills and is flushed many times), and two lines that fill the
     * empty buffer exactly and one byte more (the writer reserves 22 bytes
     * for "\t<number>\n"). */
    enum { SHORT = 20000, N = SHORT + 8 };
    mr_rec *recs = calloc(N, sizeof *recs);
    cr_assert(recs != NULL, "out of memory");
    size_t n = 0;
    recs[n++] = (mr_rec){"a", 1, 0, NULL, 7};
    recs[n++] = (mr_rec){key, 65530, 0, NULL, UINT64_MAX};
    for (int i = 0; i < SHORT; i++)
        recs[n++] = (mr_rec){key + i % 26, 1 + (uint32_t)(i % 11), 0, NULL,
                             (uint64_t)i * 7919u};
    recs[n++] = (mr_rec){key, BIG, 0, NULL, 0};
    recs[n++] = (mr_rec){key, 65536 - 22, 0, NULL, 1};
    recs[n++] = (mr_rec){key, 65536 - 21, 0, NULL, 22};
    recs[n++] = (mr_rec){"b", 1, BIG, txt, 3};
    recs[n++] = (mr_rec){key, 70000, 5, "x,y,z", 2};
    recs[n++] = (mr_rec){"z", 1, 0, NULL, 1234567890};
    cr_assert(n <= N);
    char *got = NULL, *want = NULL;
    size_t glen = 0, wlen = 0;
    FILE *g = open_memstream(&got, &glen), *w = open_memstream(&want, &wlen);
    cr_assert(g != NULL && w != NULL);
    cr_assert(mr_write_recs(g, recs, n), "mr_write_recs reported an error");
    for (size_t i = 0; i < n; i++) { /* the obvious way, with stdio */
        fwrite(recs[i].key, 1, recs[i].klen, w);
        if (recs[i].tlen)
            fprintf(w, "\t%.*s\n", (int)recs[i].tlen, recs[i].text);
        else
            fprintf(w, "\t%llu\n", (unsigned long long)recs[i].value);
    }
    cr_assert_eq(fclose(g), 0);
    cr_assert_eq(fclose(w), 0);
    cr_assert_eq(glen, wlen, "wrote %zu bytes, want %zu", glen, wlen);
    cr_assert(memcmp(got, want, wlen) == 0, "the bytes differ");
    free(got);
    free(want);
    free(recs);
    free(key);
    free(txt);
}
