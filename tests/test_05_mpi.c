/*
 * test_05_mpi.c - lab 05 on Open MPI: ./wordcount_mpi under mpirun.
 *
 * The oracle is ./wordcount itself: for 1, 2, 3 and 4 ranks, on every kind
 * of input, wordcount_mpi must print the same bytes.  Then the errors: bad
 * usage exits 2 with one line (from rank 0 only), a missing file or a
 * failing rank exits 1 with one line naming the rank, never a hang and no
 * rank left running; --plan names every rank and the shuffle volume.
 *
 * mpirun runs with -q (only the program's own messages), --oversubscribe
 * (4 ranks on 2 cores) and, for root, Open MPI's documented pair
 * OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.  Without
 * mpirun or without the wordcount_mpi binary every test skips, saying why.
 */
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(lab05_mpi_output, .timeout = 240);
TestSuite(lab05_mpi_errors, .timeout = 120);
TestSuite(lab05_mpi_plan, .timeout = 120);

/* ---- helpers --------------------------------------------------------- */

static char mpirun[4096];

/* mpirun on $PATH, or skip the test. */
static void need_mpi(void)
{
    if (san_is("thread"))
        cr_skip_test("Open MPI's own threads are not built for "
                     "ThreadSanitizer: the MPI tests run in plain builds");
    skip_without_tool("mpirun", "openmpi-bin libopenmpi-dev",
                      "lab 05's MPI tests");
    const char *path = getenv("PATH");
    mpirun[0] = '\0';
    for (const char *p = path ? path : ""; *p && !mpirun[0];) {
        size_t n = strcspn(p, ":");
        snprintf(mpirun, sizeof mpirun, "%.*s/mpirun", (int)n, p);
        if (access(mpirun, X_OK) != 0)
            mpirun[0] = '\0';
        p += n + (p[n] == ':');
    }
    if (!mpirun[0])
        cr_skip_test("mpirun is not a file on PATH");
    if (access(bin_path("wordcount_mpi"), X_OK) != 0)
        cr_skip_test("wordcount_mpi is not built (make 05 builds it when "
                     "mpicc is installed)");
}

/* mpirun -q --oversubscribe -np NP wordcount_mpi ARGS... */
static run_result mpi_run(int np, const char *const *args)
{
    const char *argv[64];
    char nps[16];
    snprintf(nps, sizeof nps, "%d", np);
    int n = 0;
    argv[n++] = mpirun;
    argv[n++] = "-q";
    argv[n++] = "--oversubscribe";
    argv[n++] = "-np";
    argv[n++] = nps;
    static char prog[4096]; /* bin_path's buffer is reused by run_with */
    snprintf(prog, sizeof prog, "%s", bin_path("wordcount_mpi"));
    argv[n++] = prog;
    for (int i = 0; args[i]; i++) {
        cr_assert(n < 63, "too many arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    /* Under AddressSanitizer, no leak check: Open MPI's plugins are
     * dlopen'ed and unloaded before exit, so LeakSanitizer sees their
     * allocations as leaks it cannot even name (no suppression matches);
     * ASan still checks every access of ours. */
    static const char *const env[] = {
        "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
        "OMPI_MCA_orte_execute_quiet=1", "ASAN_OPTIONS=detect_leaks=0", NULL};
    return run_with(&(run_opts){.argv = argv, .env = env, .timeout = 90});
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ./wordcount ARGS..., which must succeed: the expected bytes. */
static char *expected(const char *const *args, size_t *len)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = "wordcount";
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run_result r = run_with(&(run_opts){.argv = argv, .timeout = 60});
    cr_assert_eq(r.exit_code, 0, "./wordcount failed: %s", r.err);
    free(r.err);
    *len = r.out_len;
    return r.out;
}

/* Where two outputs first differ, for the message. */
static size_t first_diff(const char *a, size_t na, const char *b, size_t nb)
{
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

/* wordcount_mpi ARGS... on 1, 2, 3 and 4 ranks prints what wordcount ARGS...
 * prints, byte for byte; exit 0, nothing left running. */
static void same_as_wordcount(const char *what, const char *const *args)
{
    need_mpi();
    size_t want_len;
    char *want = expected(args, &want_len);
    for (int np = 1; np <= 4; np++) {
        run_result r = mpi_run(np, args);
        cr_assert(!r.timed_out, "%s, -np %d: mpirun hung", what, np);
        cr_assert_eq(r.exit_code, 0, "%s, -np %d: exit %d: %s", what, np,
                     r.exit_code, r.err);
        cr_assert_eq(r.leftover, 0, "%s, -np %d: %d process(es) left", what, np,
                     r.leftover);
        size_t d = first_diff(want, want_len, r.out, r.out_len);
        cr_assert(r.out_len == want_len && d == want_len,
                  "%s, -np %d: not byte-identical to ./wordcount (%zu vs %zu "
                  "bytes; first difference at byte %zu: got '%.40s', expected "
                  "'%.40s')",
                  what, np, r.out_len, want_len, d,
                  d < r.out_len ? r.out + d : "", d < want_len ? want + d : "");
        run_free(&r);
    }
    free(want);
}

static char *fixture(const char *dir, const char *name, const char *data,
                     size_t len)
{
    char *p = path_join(dir, name);
    write_file(p, data, len);
    return p;
}

/* ---- the output: byte-identical to ./wordcount ------------------------- */

Test(lab05_mpi_output, the_readme_gives_wordcounts_bytes_on_1_to_4_ranks)
{
    same_as_wordcount("the README", ARGS("05-mapreduce/README.md"));
}

Test(lab05_mpi_output, an_empty_file_gives_empty_output_on_1_to_4_ranks)
{
    char *dir = make_tmpdir();
    char *empty = fixture(dir, "empty.txt", "", 0);
    same_as_wordcount("an empty file", ARGS(empty));
    free(empty);
    rm_rf(dir);
    free(dir);
}

Test(lab05_mpi_output, several_files_are_counted_together_on_1_to_4_ranks)
{
    same_as_wordcount("several files",
                      ARGS("05-mapreduce/README.md", "05-mapreduce/mr_job.c",
                           "05-mapreduce/words.c", "05-mapreduce/mr.h"));
}

Test(lab05_mpi_output, a_file_smaller_than_the_rank_count_leaves_ranks_idle)
{
    char *dir = make_tmpdir();
    char *tiny = fixture(dir, "tiny.txt", "a B", 3);
    same_as_wordcount("a 3-byte file", ARGS(tiny, "--block-size", "1"));
    same_as_wordcount("a 3-byte file", ARGS(tiny));
    free(tiny);
    rm_rf(dir);
    free(dir);
}

Test(lab05_mpi_output, russian_utf8_text_is_counted_as_wordcount_counts_it)
{
    static const char line[] =
        "Привет, МИР! Мир — ёлка, Ёлка_2024. Съешь же ещё этих мягких "
        "французских булок, да выпей чаю.\n";
    size_t n = sizeof line - 1, reps = 400;
    char *text = malloc(n * reps);
    cr_assert(text);
    for (size_t i = 0; i < reps; i++)
        memcpy(text + i * n, line, n);
    char *dir = make_tmpdir();
    char *ru = fixture(dir, "ru.txt", text, n * reps);
    /* 1K blocks: many splits, boundaries next to two-byte letters */
    same_as_wordcount("Russian text", ARGS(ru, "--block-size", "1K"));
    free(text);
    free(ru);
    rm_rf(dir);
    free(dir);
}

Test(lab05_mpi_output, random_binary_bytes_give_wordcounts_bytes)
{
    size_t n = 300000;
    unsigned char *bytes = malloc(n);
    cr_assert(bytes);
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift: the same bytes every run */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes[i] = (unsigned char)(x >> 56);
    }
    char *dir = make_tmpdir();
    char *bin = fixture(dir, "random.bin", (const char *)bytes, n);
    same_as_wordcount("random bytes", ARGS(bin, "--block-size", "4K"));
    free(bytes);
    free(bin);
    rm_rf(dir);
    free(dir);
}

Test(lab05_mpi_output, block_sizes_that_cut_words_change_nothing)
{
    /* 1 byte, 7 bytes, 100 bytes: nearly every boundary falls in a word and
     * must move to the next separator, exactly as mr_split_plan moves it. */
    static const char *const sizes[] = {"1", "7", "100", "1K"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        same_as_wordcount(
            "a block size that cuts words",
            ARGS("05-mapreduce/wordcount.c", "--block-size", sizes[i]));
}

Test(lab05_mpi_output, more_reducers_than_ranks_give_the_same_bytes)
{
    same_as_wordcount("7 reducers", ARGS("-r", "7", "05-mapreduce/README.md"));
}

Test(lab05_mpi_output, output_dir_holds_hadoops_part_files_and_the_merge)
{
    need_mpi();
    size_t want_len;
    char *want = expected(ARGS("05-mapreduce/README.md"), &want_len);
    char *dir = make_tmpdir();
    run_result r =
        mpi_run(2, ARGS("-r", "3", "-o", dir, "05-mapreduce/README.md"));
    cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
    cr_assert_eq(r.out_len, 0, "-o DIR: nothing on stdout, got %s", r.out);
    run_free(&r);
    size_t len;
    char *mpath = path_join(dir, "merged");
    char *merged = read_file(mpath, &len);
    free(mpath);
    cr_assert(merged, "DIR/merged is missing");
    cr_assert(len == want_len && memcmp(merged, want, len) == 0,
              "DIR/merged differs from ./wordcount's output");
    /* the parts, sorted together, are the merge (their keys are disjoint) */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "for p in 00000 00001 00002; do test -f \"$1/part-r-$p\" || "
             "{ echo missing part-r-$p; exit 1; }; done; test ! -e "
             "\"$1/part-r-00003\" || { echo extra part; exit 1; }; "
             "cat \"$1\"/part-r-* | LC_ALL=C sort | cmp - \"$1/merged\"");
    run_result c = RUN("/bin/sh", "-c", cmd, "sh", dir);
    cr_assert_eq(c.exit_code, 0, "part files: %s%s", c.out, c.err);
    run_free(&c);
    free(merged);
    free(want);
    rm_rf(dir);
    free(dir);
}

/* ---- errors: one line, the right exit code, never a hang --------------- */

Test(lab05_mpi_errors, bad_usage_exits_2_with_one_line_from_rank_0)
{
    need_mpi();
    run_result r = mpi_run(3, ARGS("--frobnicate", "05-mapreduce/README.md"));
    assert_usage_error(&r, "--frobnicate");
    cr_assert_eq(r.leftover, 0, "%d process(es) left", r.leftover);
    run_free(&r);
    r = mpi_run(3, ARGS("--reducers", "0", "05-mapreduce/README.md"));
    assert_usage_error(&r, "--reducers");
    run_free(&r);
    r = mpi_run(2, ARGS("--plan"));
    assert_usage_error(&r, "FILE");
    run_free(&r);
}

Test(lab05_mpi_errors, a_missing_file_exits_1_naming_it_and_the_rank)
{
    need_mpi();
    run_result r =
        mpi_run(3, ARGS("05-mapreduce/README.md", "no-such-file.txt"));
    cr_assert(!r.timed_out, "a missing file made the job hang");
    cr_assert_eq(r.exit_code, 1, "exit %d (expected 1): %s", r.exit_code,
                 r.err);
    cr_assert_eq(r.out_len, 0, "nothing on stdout, got: %s", r.out);
    cr_assert_eq(count_substr(r.err, "\n"), 1, "one line, got: %s", r.err);
    cr_assert(strstr(r.err, "no-such-file.txt") && strstr(r.err, "rank "),
              "the line must name the file and the rank: %s", r.err);
    cr_assert_eq(r.leftover, 0, "%d rank(s) left running", r.leftover);
    run_free(&r);
}

Test(lab05_mpi_errors, one_failing_rank_ends_the_job_with_exit_1_naming_it)
{
    need_mpi();
    run_result r =
        mpi_run(3, ARGS("--fail-rank", "1", "05-mapreduce/mr_job.c"));
    cr_assert(!r.timed_out, "a failing rank made the job hang");
    cr_assert_eq(r.exit_code, 1, "exit %d (expected 1): %s", r.exit_code,
                 r.err);
    cr_assert_eq(count_substr(r.err, "\n"), 1, "one line, got: %s", r.err);
    cr_assert(strstr(r.err, "rank 1:"), "the line must name rank 1: %s", r.err);
    cr_assert_eq(r.out_len, 0, "no partial result on stdout: %s", r.out);
    cr_assert_eq(r.leftover, 0, "%d rank(s) left running", r.leftover);
    run_free(&r);
}

/* ---- --plan -------------------------------------------------------------- */

Test(lab05_mpi_plan, plan_names_every_rank_and_the_shuffle_volume)
{
    need_mpi();
    for (int np = 1; np <= 4; np += 3) {
        run_result r = mpi_run(np, ARGS("--plan", "05-mapreduce/README.md"));
        cr_assert_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
        char head[64];
        snprintf(head, sizeof head, "plan: %d rank%s on ", np,
                 np == 1 ? "" : "s");
        cr_assert(strstr(r.err, head), "--plan should start '%s': %s", head,
                  r.err);
        /* one table row per rank: "<spaces>r  host ..." */
        for (int k = 0; k < np; k++) {
            char row[16];
            snprintf(row, sizeof row, "\n   %d  ", k);
            cr_assert(strstr(r.err, row), "-np %d: no row for rank %d: %s", np,
                      k, r.err);
        }
        const char *s = strstr(r.err, "shuffle: ");
        cr_assert(s, "no shuffle line: %s", r.err);
        /* "shuffle: N bytes with the combiner, M without it" */
        char *end;
        unsigned long long with = strtoull(s + strlen("shuffle: "), &end, 10);
        cr_assert(strncmp(end, " bytes with the combiner, ", 26) == 0,
                  "unreadable shuffle line: %.120s", s);
        unsigned long long without = strtoull(end + 26, &end, 10);
        cr_assert(strncmp(end, " without it", 11) == 0,
                  "unreadable shuffle line: %.120s", s);
        /* the README repeats words: the combiner must send less */
        cr_assert(with > 0 && without > with,
                  "-np %d: %llu bytes with the combiner, %llu without", np,
                  with, without);
        for (const char *ph = "split\0map\0shuffle\0reduce\0merge\0"; *ph;
             ph += strlen(ph) + 1) {
            char line[32];
            snprintf(line, sizeof line, "\n%s ", ph);
            cr_assert(strstr(r.err, line), "no '%s' phase: %s", ph, r.err);
        }
        run_free(&r);
    }
}
