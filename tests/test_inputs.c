/*
 * test_inputs.c - hostile file inputs for the programs that read files:
 * wordcount, invindex, and the Hadoop Streaming pair wc_mapper/wc_reducer.
 *
 * For each input the answer must be either correct or a clear error (exit
 * 1, a message naming the file) -- never a crash, a hang, output on stdout
 * after an error, or a partial output file (-o).
 *
 * Expected answers come from a reference written here: for ASCII bytes a
 * word is a maximal run of [A-Za-z0-9], lowercased (the README's rule), and
 * every byte >= 0x80 that is not part of valid UTF-8 separates words.  The
 * "binary" inputs replace every byte >= 0x80 by 0xFF (never valid UTF-8),
 * so the reference need not know Unicode; arbitrary bytes are checked by
 * comparing wordcount with wc_mapper | sort | wc_reducer on the same data.
 */
#include "harness.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(rel_inputs, .timeout = 240);

/* ---- the reference ------------------------------------------------------ */

typedef struct {
    char **word;
    unsigned long long *count;
    size_t n, cap;
} wtab;

static void wt_add(wtab *t, const char *w, size_t len, unsigned long long c)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->word[i]) == len && memcmp(t->word[i], w, len) == 0) {
            t->count[i] += c;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->word = realloc(t->word, t->cap * sizeof *t->word);
        t->count = realloc(t->count, t->cap * sizeof *t->count);
        cr_assert(t->word && t->count, "out of memory");
    }
    t->word[t->n] = strndup(w, len);
    cr_assert(t->word[t->n], "out of memory");
    t->count[t->n++] = c;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "word\tcount\n" lines sorted bytewise; frees the table. */
static char *wt_render(wtab *t)
{
    char **lines = malloc((t->n + 1) * sizeof *lines);
    size_t total = 1;
    cr_assert(lines);
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->word[i]) + 32;
        lines[i] = malloc(n);
        cr_assert(lines[i]);
        snprintf(lines[i], n, "%s\t%llu\n", t->word[i], t->count[i]);
        total += strlen(lines[i]);
        free(t->word[i]);
    }
    qsort(lines, t->n, sizeof *lines, by_bytes);
    char *out = malloc(total);
    cr_assert(out);
    out[0] = '\0';
    char *end = out;
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(lines[i]);
        memcpy(end, lines[i], n + 1);
        end += n;
        free(lines[i]);
    }
    free(lines);
    free(t->word);
    free(t->count);
    *t = (wtab){0};
    return out;
}

static bool is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* Reference word count of data with no valid UTF-8 sequence >= 0x80. */
static char *ref_count(const char *data, size_t len)
{
    wtab t = {0};
    char *w = malloc(len + 1);
    cr_assert(w);
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)data[i] : ' ';
        if (is_alnum_ascii(c)) {
            w[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        } else if (n > 0) {
            wt_add(&t, w, n, 1);
            n = 0;
        }
    }
    free(w);
    return wt_render(&t);
}

/* Sum "key\tcount\n" lines (a mapper's output, any order) and render them
 * sorted: what the reducer after `sort` must print. */
static char *sum_pairs(const char *text, size_t len)
{
    wtab t = {0};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cr_assert(nl, "mapper output does not end with a newline");
        const char *tab = NULL;
        for (const char *q = nl; q > p; q--)
            if (q[-1] == '\t') {
                tab = q - 1;
                break;
            }
        cr_assert(tab, "mapper line without a TAB: %.*s", (int)(nl - p), p);
        char *num_end;
        unsigned long long c = strtoull(tab + 1, &num_end, 10);
        cr_assert(num_end == nl, "mapper count is not a number");
        wt_add(&t, p, (size_t)(tab - p), c);
        p = nl + 1;
    }
    return wt_render(&t);
}

/* ---- running ---------------------------------------------------------- */

/* Deterministic pseudo-random bytes; with ascii_only, every byte >= 0x80
 * becomes 0xFF (a separator whatever surrounds it). */
static char *random_bytes(size_t len, bool ascii_only)
{
    char *b = malloc(len);
    cr_assert(b);
    unsigned x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        unsigned char c = (unsigned char)(x >> 11);
        if (ascii_only && c >= 0x80)
            c = 0xFF;
        b[i] = (char)c;
    }
    return b;
}

/* Run, and insist on the basics for every outcome: no hang, no crash, no
 * leftover process, exit 0 or 1. */
static run_result run_checked(const char *const *argv, const char *in,
                              size_t in_len)
{
    run_result r = run_with(
        &(run_opts){.argv = argv, .in = in, .in_len = in_len, .timeout = 120});
    char cmd[512] = "";
    for (int i = 0; argv[i]; i++) {
        size_t u = strlen(cmd);
        snprintf(cmd + u, sizeof cmd - u, "%s%s", i ? " " : "", argv[i]);
    }
    cr_assert(!r.timed_out, "%s: hung (killed after %.0f s)", cmd, r.seconds);
    cr_assert(r.signal == 0 && !r.core,
              "%s: crashed with signal %d; stderr: %s", cmd, r.signal, r.err);
    cr_assert(r.exit_code == 0 || r.exit_code == 1,
              "%s: exit %d (0 for an answer, 1 for an error); stderr: %s", cmd,
              r.exit_code, r.err);
    cr_assert_eq(r.leftover, 0, "%s: left processes behind", cmd);
    return r;
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* An error that names `what`, with nothing on stdout. */
static void expect_error_naming(run_result *r, const char *cmd,
                                const char *what)
{
    cr_expect_eq(r->exit_code, 1, "%s: must fail with exit 1, got %d", cmd,
                 r->exit_code);
    cr_expect(strstr(r->err, what) != NULL,
              "%s: the error must name '%s', got: %s", cmd, what, r->err);
    cr_expect_eq(r->out_len, 0, "%s: printed output despite the error: %s", cmd,
                 r->out);
}

static char *fixture(const char *dir, const char *name, const char *data,
                     size_t len)
{
    char *p = path_join(dir, name);
    write_file(p, data, len);
    return p;
}

/* wordcount FILE and invindex FILE must both give the reference answer. */
static void expect_counts(const char *file, const char *data, size_t len)
{
    char *want = ref_count(data, len);
    run_result r = run_checked(ARGV("wordcount", file), NULL, 0);
    cr_expect_eq(r.exit_code, 0, "wordcount %s failed: %s", file, r.err);
    cr_expect(strcmp(r.out, want) == 0,
              "wordcount %s: wrong counts (%zu bytes of output, expected "
              "%zu); first bytes: %.200s",
              file, r.out_len, strlen(want), r.out);
    run_free(&r);

    /* invindex: the same words, each with the one file */
    r = run_checked(ARGV("invindex", file), NULL, 0);
    cr_expect_eq(r.exit_code, 0, "invindex %s failed: %s", file, r.err);
    size_t lines = count_substr(r.out, "\n");
    size_t words = count_substr(want, "\n");
    cr_expect_eq(lines, words, "invindex %s: %zu words, expected %zu", file,
                 lines, words);
    cr_expect_eq(count_substr(r.out, file), words,
                 "invindex %s: every word must list the file", file);
    run_free(&r);

    /* the streaming mapper on the same bytes, summed */
    char *in = read_file(file, NULL);
    r = run_checked(ARGV("wc_mapper"), in, len);
    cr_expect_eq(r.exit_code, 0, "wc_mapper < %s failed: %s", file, r.err);
    if (len == 0)
        cr_expect_eq(r.out_len, 0, "wc_mapper: output for empty input");
    if (r.exit_code == 0) {
        char *got = sum_pairs(r.out, r.out_len);
        cr_expect(strcmp(got, want) == 0,
                  "wc_mapper < %s: summed pairs differ from the reference",
                  file);
        free(got);
    }
    run_free(&r);
    free(in);
    free(want);
}

/* ---- missing, directory, /dev/null, empty ----------------------------- */

Test(rel_inputs, a_missing_file_is_an_error_naming_it)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b\n", 4);
    char *missing = path_join(dir, "no-such-file.txt");
    run_result r = run_checked(ARGV("wordcount", good, missing), NULL, 0);
    expect_error_naming(&r, "wordcount good missing", "no-such-file.txt");
    run_free(&r);
    r = run_checked(ARGV("invindex", missing, good), NULL, 0);
    expect_error_naming(&r, "invindex missing good", "no-such-file.txt");
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(good);
    free(missing);
}

Test(rel_inputs, a_directory_is_an_error_naming_it)
{
    char *dir = make_tmpdir();
    char *sub = path_join(dir, "a-directory");
    cr_assert(mkdir(sub, 0700) == 0);
    run_result r = run_checked(ARGV("wordcount", sub), NULL, 0);
    expect_error_naming(&r, "wordcount DIR", "a-directory");
    run_free(&r);
    r = run_checked(ARGV("invindex", sub), NULL, 0);
    expect_error_naming(&r, "invindex DIR", "a-directory");
    run_free(&r);
    /* the streaming pair reads stdin: a directory there fails the read */
    static const char *const stream[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        char script[4200];
        snprintf(script, sizeof script, "exec \"$0\" < '%s'", sub);
        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(stream[i]));
        r = run_checked(ARGV("/bin/sh", "-c", script, prog), NULL, 0);
        cr_expect_eq(r.exit_code, 1, "%s < DIR: exit %d, expected 1", stream[i],
                     r.exit_code);
        cr_expect(r.err_len > 0 && r.out_len == 0,
                  "%s < DIR: a message and no output, got: %s", stream[i],
                  r.err);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(sub);
}

Test(rel_inputs, dev_null_is_empty_input_or_a_clear_error)
{
    static const char *const files[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        run_result r = run_checked(ARGV(files[i], "/dev/null"), NULL, 0);
        if (r.exit_code == 0)
            cr_expect_eq(r.out_len, 0, "%s /dev/null: output from no input",
                         files[i]);
        else
            expect_error_naming(&r, files[i], "/dev/null");
        run_free(&r);
    }
    static const char *const stream[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        run_result r = run_checked(ARGV(stream[i]), NULL, 0); /* /dev/null */
        cr_expect_eq(r.exit_code, 0, "%s < /dev/null: exit %d: %s", stream[i],
                     r.exit_code, r.err);
        cr_expect_eq(r.out_len, 0, "%s < /dev/null: output from no input",
                     stream[i]);
        run_free(&r);
    }
}

Test(rel_inputs, an_empty_file_gives_empty_output_and_exit_0)
{
    char *dir = make_tmpdir();
    char *empty = fixture(dir, "empty.txt", "", 0);
    run_result r = run_checked(ARGV("wordcount", empty), NULL, 0);
    cr_expect(r.exit_code == 0 && r.out_len == 0,
              "wordcount EMPTY: exit %d, %zu bytes out: %s", r.exit_code,
              r.out_len, r.err);
    run_free(&r);
    r = run_checked(ARGV("invindex", empty), NULL, 0);
    cr_expect(r.exit_code == 0 && r.out_len == 0,
              "invindex EMPTY: exit %d, %zu bytes out: %s", r.exit_code,
              r.out_len, r.err);
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(empty);
}

/* ---- binary, NUL, invalid UTF-8, 50 MB line ---------------------------- */

Test(rel_inputs, a_binary_file_is_counted_by_its_ascii_words)
{
    char *dir = make_tmpdir();
    size_t len = 256 * 1024;
    char *data = random_bytes(len, true);
    char *f = fixture(dir, "binary.bin", data, len);
    expect_counts(f, data, len);
    rm_rf(dir);
    free(dir);
    free(data);
    free(f);
}

Test(rel_inputs, nul_bytes_separate_words)
{
    static const char data[] = "a\0b c\0\0a\nA\0\0";
    char *dir = make_tmpdir();
    char *f = fixture(dir, "nul.txt", data, sizeof data - 1);
    expect_counts(f, data, sizeof data - 1);
    run_result r = run_checked(ARGV("wordcount", f), NULL, 0);
    cr_expect_str_eq(r.out, "a\t3\nb\t1\nc\t1\n");
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(f);
}

Test(rel_inputs, invalid_utf8_separates_words_and_valid_utf8_is_kept)
{
    /* overlong "/" (C0 AF), a surrogate (ED A0 80), above U+10FFFF
     * (F4 90 80 80), a lone continuation byte, a truncated sequence at the
     * end; and one valid word, "Café" -> "café". */
    static const char data[] = "Caf\xc3\xa9 \xc0\xaf x\xed\xa0\x80y "
                               "\xf4\x90\x80\x80z w\x80v end\xe2\x82";
    char *dir = make_tmpdir();
    char *f = fixture(dir, "utf8.txt", data, sizeof data - 1);
    const char *want = "caf\xc3\xa9\t1\nend\t1\nv\t1\nw\t1\nx\t1\ny\t1\nz\t1\n";
    run_result r = run_checked(ARGV("wordcount", f), NULL, 0);
    cr_expect_eq(r.exit_code, 0, "wordcount: %s", r.err);
    cr_expect_str_eq(r.out, want, "wordcount on invalid UTF-8: got\n%s", r.out);
    run_free(&r);
    r = run_checked(ARGV("wc_mapper"), data, sizeof data - 1);
    char *got = sum_pairs(r.out, r.out_len);
    cr_expect_str_eq(got, want, "wc_mapper on invalid UTF-8: got\n%s", got);
    free(got);
    run_free(&r);
    r = run_checked(ARGV("invindex", f), NULL, 0);
    cr_expect_eq(count_substr(r.out, "\n"), 7, "invindex: 7 words, got\n%s",
                 r.out);
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(f);
}

Test(rel_inputs, arbitrary_bytes_give_the_same_answer_both_ways)
{
    /* every byte value, valid UTF-8 by chance included: wordcount must
     * agree with the streaming pipeline mapper | sort | reducer */
    size_t len = 512 * 1024;
    char *data = random_bytes(len, false);
    char *dir = make_tmpdir();
    char *f = fixture(dir, "random.bin", data, len);
    run_result wc = run_checked(ARGV("wordcount", f), NULL, 0);
    cr_expect_eq(wc.exit_code, 0, "wordcount on random bytes: %s", wc.err);
    run_result m = run_checked(ARGV("wc_mapper"), data, len);
    cr_expect_eq(m.exit_code, 0, "wc_mapper on random bytes: %s", m.err);
    char *summed = sum_pairs(m.out, m.out_len);
    cr_expect(strcmp(wc.out, summed) == 0,
              "wordcount and wc_mapper disagree on random bytes");
    /* the reducer, fed the sorted pairs, prints the same */
    run_result red = run_checked(ARGV("wc_reducer"), summed, strlen(summed));
    cr_expect_eq(red.exit_code, 0, "wc_reducer on sorted pairs: %s", red.err);
    cr_expect(strcmp(red.out, summed) == 0,
              "wc_reducer changed already-reduced sorted pairs");
    run_free(&red);
    free(summed);
    run_free(&m);
    run_free(&wc);
    rm_rf(dir);
    free(dir);
    free(f);
    free(data);
}

Test(rel_inputs, a_50_mb_single_line_is_counted_exactly)
{
    static const char unit[] = "Alpha beta7 GAMMA ";
    size_t reps = 50u * 1024 * 1024 / (sizeof unit - 1);
    size_t len = reps * (sizeof unit - 1);
    char *data = malloc(len);
    cr_assert(data);
    for (size_t i = 0; i < reps; i++)
        memcpy(data + i * (sizeof unit - 1), unit, sizeof unit - 1);
    char *dir = make_tmpdir();
    char *f = fixture(dir, "line.txt", data, len);
    char want[128];
    snprintf(want, sizeof want, "alpha\t%zu\nbeta7\t%zu\ngamma\t%zu\n", reps,
             reps, reps);
    run_result r = run_checked(ARGV("wordcount", f), NULL, 0);
    cr_expect_str_eq(r.out, want, "wordcount on one 50 MB line");
    run_free(&r);
    r = run_checked(ARGV("wordcount", "--workers", "processes", f), NULL, 0);
    cr_expect_str_eq(r.out, want, "wordcount --workers processes, 50 MB line");
    run_free(&r);
    r = run_checked(ARGV("invindex", f), NULL, 0);
    cr_expect_eq(r.exit_code, 0, "invindex on one 50 MB line: %s", r.err);
    cr_expect_eq(count_substr(r.out, "\n"), 3, "invindex: 3 words, got %s",
                 r.out);
    run_free(&r);
    r = run_checked(ARGV("wc_mapper"), data, len);
    char *got = sum_pairs(r.out, r.out_len);
    cr_expect_str_eq(got, want, "wc_mapper on one 50 MB line");
    free(got);
    run_free(&r);

    /* the reducer: one 50 MB key */
    memset(data, 'k', len - 3);
    memcpy(data + len - 3, "\t7\n", 3);
    r = run_checked(ARGV("wc_reducer"), data, len);
    if (r.exit_code == 0)
        cr_expect(r.out_len == len && memcmp(r.out, data, len) == 0,
                  "wc_reducer: a 50 MB key must come back whole");
    else
        cr_expect(strstr(r.err, "line 1") != NULL,
                  "wc_reducer refused a 50 MB line without its line number: "
                  "%s",
                  r.err);
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(f);
    free(data);
}

Test(rel_inputs, the_reducer_rejects_binary_input_with_a_line_number)
{
    size_t len = 4096;
    char *data = random_bytes(len, false);
    data[0] = 'x'; /* line 1 has no TAB */
    data[1] = '\n';
    data[2] = 'y';
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\t')
            data[i] = ' ';
    run_result r = run_checked(ARGV("wc_reducer"), data, len);
    cr_expect_eq(r.exit_code, 1, "wc_reducer on binary: exit %d", r.exit_code);
    cr_expect(strstr(r.err, "line 1") != NULL,
              "wc_reducer must name the line, got: %s", r.err);
    run_free(&r);
    free(data);
}

/* ---- -o never leaves a partial file ---------------------------------- */

/* Entries in dir besides . and .. */
static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "opendir %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

Test(rel_inputs, a_failed_run_leaves_no_output_file_and_keeps_the_old_one)
{
    char *dir = make_tmpdir();
    char *in = path_join(dir, "in");
    cr_assert(mkdir(in, 0700) == 0);
    char *good = fixture(in, "good.txt", "a b a\n", 6);
    char *missing = path_join(in, "missing.txt");
    char *outdir = path_join(dir, "out");
    cr_assert(mkdir(outdir, 0700) == 0);
    char *out = path_join(outdir, "result.tsv");
    static const char *const progs[] = {"wordcount", "invindex"};
    for (int i = 0; i < 2; i++) {
        /* no output file yet: none after the failure, and no temp file */
        run_result r =
            run_checked(ARGV(progs[i], "-o", out, good, missing), NULL, 0);
        expect_error_naming(&r, progs[i], "missing.txt");
        cr_expect(!file_exists(out), "%s -o: output file left by a failed run",
                  progs[i]);
        cr_expect_eq(entries(outdir), 0, "%s -o: temp file left in %s",
                     progs[i], outdir);
        run_free(&r);
        /* an existing output file is left as it was */
        write_file(out, "old\n", 4);
        r = run_checked(ARGV(progs[i], "-o", out, missing, good), NULL, 0);
        expect_error_naming(&r, progs[i], "missing.txt");
        char *kept = read_file(out, NULL);
        cr_expect(kept && strcmp(kept, "old\n") == 0,
                  "%s -o: a failed run changed the existing output file",
                  progs[i]);
        free(kept);
        cr_expect_eq(entries(outdir), 1, "%s -o: temp file left in %s",
                     progs[i], outdir);
        run_free(&r);
        /* and a successful run writes it whole, with nothing on stdout */
        r = run_checked(ARGV(progs[i], "-o", out, good), NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o: %s", progs[i], r.err);
        cr_expect_eq(r.out_len, 0, "%s -o: stdout must stay empty", progs[i]);
        char *whole = read_file(out, NULL);
        cr_expect(whole && strstr(whole, "a\t") == whole,
                  "%s -o: unexpected content: %s", progs[i],
                  whole ? whole : "(none)");
        free(whole);
        cr_expect_eq(entries(outdir), 1, "%s -o: temp file left in %s",
                     progs[i], outdir);
        run_free(&r);
        unlink(out);
    }
    rm_rf(dir);
    free(dir);
    free(in);
    free(good);
    free(missing);
    free(outdir);
    free(out);
}

/* ---- -o the way sort -o does it (issue 15) --------------------------------
 * A regular file (or a symlink's target) is replaced whole at the end,
 * keeping its mode (a new one gets 0666 & ~umask); anything else -- a FIFO,
 * a device -- is written through; nothing is replaced before everything,
 * --stats included, has been written. */

static const char *const o_progs[] = {"wordcount", "invindex"};

/* mode bits of path, or -1 */
static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

Test(rel_inputs, o_to_a_symlink_replaces_the_file_it_names_and_keeps_the_link)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char *target = fixture(dir, "target.tsv", "old\n", 4);
    char *link = path_join(dir, "link.tsv");
    cr_assert(symlink("target.tsv", link) == 0);
    for (int i = 0; i < 2; i++) {
        run_result r = run_checked(ARGV(o_progs[i], "-o", link, good), NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o LINK: %s", o_progs[i], r.err);
        struct stat lst;
        cr_expect(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode),
                  "%s -o LINK: the symlink was replaced by a file", o_progs[i]);
        char *got = read_file(target, NULL);
        cr_expect(got && strncmp(got, "a\t", 2) == 0,
                  "%s -o LINK: the file it names must hold the result, got: %s",
                  o_progs[i], got ? got : "(none)");
        free(got);
        cr_expect_eq(entries(dir), 3, "%s -o LINK: a temp file was left",
                     o_progs[i]);
        write_file(target, "old\n", 4);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(target);
    free(link);
}

Test(rel_inputs, o_to_a_fifo_or_dev_null_is_written_through)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char *fifo = path_join(dir, "fifo");
    char *got = path_join(dir, "got.tsv");
    cr_assert(mkfifo(fifo, 0600) == 0);
    for (int i = 0; i < 2; i++) {
        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(o_progs[i]));
        /* a reader on the FIFO, then the program writing to it */
        static const char read_and_write[] =
            "cat \"$2\" > \"$3\" & \"$0\" -o \"$2\" \"$1\"; rc=$?; wait; "
            "exit $rc";
        run_result r = run_checked(
            ARGV("/bin/sh", "-c", read_and_write, prog, good, fifo, got), NULL,
            0);
        cr_expect_eq(r.exit_code, 0, "%s -o FIFO: %s", o_progs[i], r.err);
        struct stat st;
        /* an assert: a program that replaces a FIFO would replace
         * /dev/null below too, and as root that breaks the machine */
        cr_assert(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode),
                  "%s -o FIFO: the FIFO was replaced by a regular file",
                  o_progs[i]);
        char *text = read_file(got, NULL);
        cr_expect(text && strncmp(text, "a\t", 2) == 0,
                  "%s -o FIFO: the reader must get the result, got: %s",
                  o_progs[i], text ? text : "(none)");
        free(text);
        run_free(&r);

        r = run_checked(ARGV(o_progs[i], "-o", "/dev/null", good), NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o /dev/null: %s", o_progs[i], r.err);
        cr_expect(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode),
                  "%s -o /dev/null replaced the device", o_progs[i]);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(fifo);
    free(got);
}

Test(rel_inputs, o_keeps_an_existing_mode_and_gives_a_new_file_the_umask)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char *old = fixture(dir, "secret.tsv", "old\n", 4);
    char *fresh = path_join(dir, "fresh.tsv");
    cr_assert(chmod(old, 0600) == 0);
    for (int i = 0; i < 2; i++) {
        run_result r = run_checked(ARGV(o_progs[i], "-o", old, good), NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o OLD: %s", o_progs[i], r.err);
        cr_expect_eq(mode_of(old), 0600,
                     "%s -o: an existing 0600 file became %o", o_progs[i],
                     (unsigned)mode_of(old));
        run_free(&r);

        char prog[4096];
        snprintf(prog, sizeof prog, "%s", bin_path(o_progs[i]));
        r = run_checked(ARGV("/bin/sh", "-c", "umask 077; exec \"$0\" \"$@\"",
                             prog, "-o", fresh, good),
                        NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o NEW under umask 077: %s",
                     o_progs[i], r.err);
        cr_expect_eq(mode_of(fresh), 0600,
                     "%s -o under umask 077: the new file is %o, not 0600",
                     o_progs[i], (unsigned)mode_of(fresh));
        unlink(fresh);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(old);
    free(fresh);
}

/* A failure after the output was written (a --stats FILE that cannot be
 * created) or before (every task attempt crashes): the old file stays,
 * and no temp file is left beside it. */
Test(rel_inputs, o_a_late_failure_keeps_the_old_file_and_leaves_no_temp_file)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char *outdir = path_join(dir, "out");
    cr_assert(mkdir(outdir, 0700) == 0);
    char *out = path_join(outdir, "result.tsv");
    char *bad_stats = path_join(dir, "no-such-dir/stats.json");
    write_file(out, "old\n", 4);

    run_result r = run_checked(
        ARGV("wordcount", "-o", out, "--stats", bad_stats, good), NULL, 0);
    expect_error_naming(&r, "wordcount -o OUT --stats BAD", "stats.json");
    char *kept = read_file(out, NULL);
    cr_expect(kept && strcmp(kept, "old\n") == 0,
              "a failing --stats FILE replaced -o's file: %s",
              kept ? kept : "(gone)");
    free(kept);
    cr_expect_eq(entries(outdir), 1, "a temp file was left beside -o's file");
    run_free(&r);

    static const char *const kinds[] = {"threads", "processes"};
    for (int k = 0; k < 2; k++) {
        r = run_checked(ARGV("wordcount", "--workers", kinds[k], "--crash-rate",
                             "1", "-o", out, good),
                        NULL, 0);
        cr_expect_eq(r.exit_code, 1, "--crash-rate 1 (%s): exit %d", kinds[k],
                     r.exit_code);
        kept = read_file(out, NULL);
        cr_expect(kept && strcmp(kept, "old\n") == 0,
                  "a failed job (%s) replaced -o's file", kinds[k]);
        free(kept);
        cr_expect_eq(entries(outdir), 1, "a temp file was left (%s)", kinds[k]);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(outdir);
    free(out);
    free(bad_stats);
}

Test(rel_inputs, o_accepts_a_250_character_file_name)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char name[251];
    memset(name, 'n', 250);
    name[250] = '\0';
    char *out = path_join(dir, name);
    for (int i = 0; i < 2; i++) {
        run_result r = run_checked(ARGV(o_progs[i], "-o", out, good), NULL, 0);
        cr_expect_eq(r.exit_code, 0, "%s -o <250 chars>: %s", o_progs[i],
                     r.err);
        cr_expect(file_exists(out), "%s -o <250 chars>: no file", o_progs[i]);
        unlink(out);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(out);
}

/* ---- inputs are looked at before they are read -------------------------- */

Test(rel_inputs, a_fifo_argument_is_refused_at_once_not_waited_on)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "a b a\n", 6);
    char *fifo = path_join(dir, "a-fifo");
    cr_assert(mkfifo(fifo, 0600) == 0);
    for (int i = 0; i < 2; i++) {
        /* nobody writes to the FIFO: an open() without O_NONBLOCK hangs */
        run_result r = run_with(
            &(run_opts){.argv = ARGV(o_progs[i], good, fifo), .timeout = 20});
        cr_assert(!r.timed_out, "%s FIFO: hung waiting for a writer",
                  o_progs[i]);
        expect_error_naming(&r, o_progs[i], "a-fifo");
        cr_expect(strstr(r.err, "FIFO"), "%s: say what it is: %s", o_progs[i],
                  r.err);
        run_free(&r);
    }
    rm_rf(dir);
    free(dir);
    free(good);
    free(fifo);
}

/* invindex's list is word<TAB>name,name: a name holding ',' TAB or newline
 * could not be split back, so it is refused (exit 2, nothing on stdout). */
Test(rel_inputs, invindex_refuses_a_file_name_its_list_could_not_hold)
{
    char *dir = make_tmpdir();
    static const char *const names[] = {"a,b.txt", "a\tb.txt", "a\nb.txt"};
    for (int i = 0; i < 3; i++) {
        char *f = fixture(dir, names[i], "a b a\n", 6);
        run_result r = run_with(&(run_opts){.argv = ARGV("invindex", f)});
        cr_expect_eq(r.exit_code, 2, "invindex '%s': exit %d, expected 2 (%s)",
                     names[i], r.exit_code, r.err);
        cr_expect_eq(r.out_len, 0, "invindex '%s': output %s", names[i], r.out);
        cr_expect_eq(count_substr(r.err, "\n"), 1, "one line: %s", r.err);
        run_free(&r);
        free(f);
    }
    rm_rf(dir);
    free(dir);
}

/* "-" is standard input for both programs; invindex lists it as "-". */
Test(rel_inputs, dash_is_standard_input_and_invindex_lists_it_as_dash)
{
    char *dir = make_tmpdir();
    char *good = fixture(dir, "good.txt", "bear\n", 5);
    run_result r = run_checked(ARGV("invindex", "-", good), "bear deer\n", 0);
    cr_expect_eq(r.exit_code, 0, "invindex - FILE: %s", r.err);
    char want[4200];
    snprintf(want, sizeof want, "bear\t-,%s\ndeer\t-\n", good);
    cr_expect_str_eq(r.out, want, "invindex - FILE < 'bear deer'");
    run_free(&r);
    r = run_checked(ARGV("wordcount", "-", good), "bear deer\n", 0);
    cr_expect_str_eq(r.out, "bear\t2\ndeer\t1\n", "wordcount - FILE");
    run_free(&r);
    rm_rf(dir);
    free(dir);
    free(good);
}
