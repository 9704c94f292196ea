/*
 * test_05_streaming.c - lab 05's Hadoop Streaming pair as programs:
 *
 *   lab05_streaming  ./wc_mapper and ./wc_reducer: the local pipeline
 *                    `wc_mapper | LC_ALL=C sort | wc_reducer`, equality
 *                    with ./wordcount, malformed reducer input (line
 *                    numbers, exit 1), bad arguments (exit 2), and the
 *                    line parser (kvline.h) they share.
 *
 * The reducer's summing is graded exercise 05.2 (test_05_exercises.c).
 */
#include "lab05_support.h"

#include "../05-mapreduce/kvline.h"
#include "../05-mapreduce/words.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lab05_streaming: the two programs ---------------------------------- */

TestSuite(lab05_streaming, .timeout = 60);

Test(lab05_streaming, the_lecture_example_gives_the_slide_counts)
{
    char *out = pipeline(lecture, 0, MAPPER("--max-distinct", "65536"));
    cr_assert_str_eq(out, lecture_counts);
    free(out);
}

Test(lab05_streaming, the_mapper_combines_each_word_to_one_line)
{
    run_result r = RUN_IN("b a B b A c", "wc_mapper");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(count_substr(r.out, "\n"), 3, "one line per distinct word: %s",
                 r.out);
    cr_assert(strstr(r.out, "a\t2\n") && strstr(r.out, "b\t3\n") &&
                  strstr(r.out, "c\t1\n"),
              "got: %s", r.out);
    run_free(&r);
}

Test(lab05_streaming, the_textbook_mapper_emits_one_for_every_word)
{
    run_result r = RUN_IN("b a B b", "wc_mapper", "--max-distinct", "0");
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "b\t1\na\t1\nb\t1\nb\t1\n");
    run_free(&r);
}

Test(lab05_streaming, empty_input_gives_empty_output)
{
    run_result m = RUN_IN("", "wc_mapper");
    cr_assert_eq(m.exit_code, 0);
    cr_assert_eq(m.out_len, 0);
    run_result r = RUN_IN("", "wc_reducer");
    cr_assert_eq(r.exit_code, 0);
    cr_assert_eq(r.out_len, 0);
    run_free(&m);
    run_free(&r);
}

Test(lab05_streaming, the_mapper_counts_words_across_read_boundaries)
{
    /* 3 MiB of text: words straddle every read(2) and pipe-buffer edge. */
    static const char unit[] = "alpha Beta gamma\xd0\x96 ";
    size_t ulen = sizeof unit - 1, reps = (3u << 20) / ulen;
    char *buf = malloc(reps * ulen);
    for (size_t i = 0; i < reps; i++)
        memcpy(buf + i * ulen, unit, ulen);
    char *out = pipeline(buf, reps * ulen, MAPPER("--max-distinct", "65536"));
    char want[200];
    snprintf(want, sizeof want, "alpha\t%zu\nbeta\t%zu\ngamma\xd0\xb6\t%zu\n",
             reps, reps, reps);
    cr_assert_str_eq(out, want);
    free(out);
    free(buf);
}

Test(lab05_streaming, a_single_word_longer_than_the_read_buffer_is_counted_once)
{
    size_t n = 5u << 20;
    char *buf = malloc(n);
    memset(buf, 'W', n);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_mapper", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(r.out_len, n + 3, "want one line 'www...w<TAB>1'");
    cr_assert(r.out[0] == 'w' && r.out[n - 1] == 'w' &&
              memcmp(r.out + n, "\t1\n", 3) == 0);
    run_free(&r);
    free(buf);
}

/* Pseudo-random bytes, all 256 values (binary input). */
static char *random_bytes(size_t n, uint32_t seed)
{
    char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (char)(seed >> 24);
    }
    return buf;
}

Test(lab05_streaming, the_mappers_output_on_binary_input_is_well_formed)
{
    size_t n = 1u << 20;
    char *buf = random_bytes(n, 7);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_mapper", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* Every line is word<TAB>count, the word valid UTF-8 made of word
     * characters only, and the counts add up to the number of words. */
    size_t words = 0;
    free(words_of(buf, n, &words));
    uint64_t total = 0;
    size_t lines = 0;
    for (char *p = r.out; p < r.out + r.out_len;) {
        char *nl = memchr(p, '\n', (size_t)(r.out + r.out_len - p));
        cr_assert(nl != NULL, "the last line has no newline");
        kvline kv;
        cr_assert_eq(kvline_parse(p, (size_t)(nl - p), &kv), KVLINE_OK,
                     "line %zu is not word<TAB>count", lines + 1);
        size_t nw = 0;
        char *again = words_of(kv.key, kv.key_len, &nw);
        cr_assert_eq(nw, 1, "key of line %zu is not one word", lines + 1);
        cr_assert(strlen(again) == kv.key_len + 1 &&
                      memcmp(again, kv.key, kv.key_len) == 0,
                  "key of line %zu is not a lowercased word", lines + 1);
        free(again);
        total += kv.value;
        lines++;
        p = nl + 1;
    }
    cr_assert_eq(total, words, "the counts must add up to the %zu words",
                 words);
    run_free(&r);
    free(buf);
}

Test(lab05_streaming, the_reducer_fails_cleanly_on_binary_input)
{
    size_t n = 1u << 16;
    char *buf = random_bytes(n, 11);
    run_result r = prog_in(buf, n, (const char *const[]){"wc_reducer", NULL});
    cr_assert_eq(r.exit_code, 1,
                 "binary input is malformed: exit 1, got %d (signal %d)",
                 r.exit_code, r.signal);
    cr_assert(strstr(r.err, "wc_reducer: line 1: "), "got: %s", r.err);
    cr_assert_eq(count_substr(r.err, "\n"), 1, "one line on stderr: %s", r.err);
    run_free(&r);
    free(buf);
}

Test(lab05_streaming, the_mapper_ignores_the_users_locale)
{
    static const char text[] = "Привет МИР straße ÀÉ";
    const char *envs[][2] = {{"LC_ALL=C", NULL},
                             {"LC_ALL=C.UTF-8", NULL},
                             {"LC_ALL=tr_TR.UTF-8", NULL}};
    char *first = NULL;
    for (int i = 0; i < 3; i++) {
        run_result r = run_with(
            &(run_opts){.argv = (const char *const[]){"wc_mapper", NULL},
                        .in = text,
                        .env = envs[i]});
        cr_assert_eq(r.exit_code, 0, "%s: %s", envs[i][0], r.err);
        cr_assert(strstr(r.out, "привет\t1\n") && strstr(r.out, "àé\t1\n"),
                  "%s: got %s", envs[i][0], r.out);
        if (first == NULL) {
            first = r.out;
            r.out = NULL;
        } else {
            cr_assert_str_eq(r.out, first, "output depends on %s", envs[i][0]);
        }
        run_free(&r);
    }
    free(first);
}

/* The fixtures the pipeline must get exactly right. */
static const struct {
    const char *name;
    const char *data;
    size_t len;
} fixtures[] = {
    {"lecture", lecture, sizeof lecture - 1},
    {"ascii", ascii_fixture, sizeof ascii_fixture - 1},
    {"cyrillic", "Привет, МИР! Ёлка и ёжик. привет мир\r\n", 0},
    {"invalid-utf8", "a\xc0\xafz \xed\xa0\x80 a\xffz \xe2\x82", 0},
    {"nul-bytes", "one\0two\0one", 11},
    {"empty", "", 0},
    {"one-word", "word", 0},
};

Test(lab05_streaming, the_pipeline_equals_wordcount_byte_for_byte)
{
    cr_assert(
        file_exists(bin_path("wordcount")),
        "%s is not built: make wordcount (the pipeline is checked against it)",
        bin_path("wordcount"));
    char *dir = make_tmpdir();
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        size_t len =
            fixtures[i].len ? fixtures[i].len : strlen(fixtures[i].data);
        char *path = path_join(dir, fixtures[i].name);
        write_file(path, fixtures[i].data, len);
        run_result w = RUN("wordcount", path);
        cr_assert_eq(w.exit_code, 0, "wordcount %s: %s", fixtures[i].name,
                     w.err);
        char *p =
            pipeline(fixtures[i].data, len, MAPPER("--max-distinct", "65536"));
        cr_assert_str_eq(p, w.out, "%s: pipeline vs ./wordcount",
                         fixtures[i].name);
        free(p);
        free(path);
        run_free(&w);
    }
    rm_rf(dir);
    free(dir);
}

Test(lab05_streaming, the_reducer_rejects_malformed_lines_with_the_line_number)
{
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"a\t1\nb\tx\n", "wc_reducer: line 2: value 'x' is not a count"},
        {"a\t1\nb\t2\nno tab here\n",
         "wc_reducer: line 3: no TAB between key and value"},
        {"\t5\n", "wc_reducer: line 1: empty key"},
        {"a\t-3\n", "wc_reducer: line 1: value '-3' is negative"},
        {"a\t\n", "wc_reducer: line 1: value '' is not a count"},
        {"a\t+1\n", "line 1: value '+1' is not a count"},
        {"a\t 1\n", "line 1: value ' 1' is not a count"},
        {"a\t1 \n", "line 1: value '1 ' is not a count"},
        {"a\t0x10\n", "line 1: value '0x10' is not a count"},
        {"a\t1e3\n", "line 1: value '1e3' is not a count"},
        {"a\t4\r\n", "line 1: value '4?' is not a count"},
        {"a\t1\t2\n", "line 1: value '1?2' is not a count"},
        {"a\t18446744073709551616\n",
         "line 1: value '18446744073709551616' does not fit in a 64-bit count"},
        {"a\t99999999999999999999\n", "does not fit in a 64-bit count"},
        {"\n", "line 1: no TAB"},
        {"b\t1\na\t1\n",
         "line 2: key 'a' comes after 'b': the input must be sorted"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN_IN(bad[i].in, "wc_reducer");
        cr_assert_eq(r.exit_code, 1, "input %zu ('%s'): want exit 1, got %d", i,
                     bad[i].in, r.exit_code);
        cr_assert(strstr(r.err, bad[i].msg),
                  "input %zu: want '%s' on stderr, got: %s", i, bad[i].msg,
                  r.err);
        cr_assert_eq(count_substr(r.err, "\n"), 1, "one line on stderr: %s",
                     r.err);
        run_free(&r);
    }
}

Test(lab05_streaming, the_reducer_accepts_the_edges_of_the_format)
{
    struct {
        const char *in, *out;
    } ok[] = {
        {"a\t18446744073709551615\n", "a\t18446744073709551615\n"}, /* 2^64-1 */
        {"a\t007\n", "a\t7\n"}, /* leading zeros */
        {"a\t0\n", "a\t0\n"},
        {"last\t3", "last\t3\n"}, /* no final newline */
        {"a b\t1\n", "a b\t1\n"}, /* a key may hold spaces */
        {"\xd0\xbc\xd0\xb8\xd1\x80\t2\n", "\xd0\xbc\xd0\xb8\xd1\x80\t2\n"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        run_result r = RUN_IN(ok[i].in, "wc_reducer");
        cr_assert_eq(r.exit_code, 0, "input %zu: %s", i, r.err);
        cr_assert_str_eq(r.out, ok[i].out, "input %zu", i);
        run_free(&r);
    }
}

Test(lab05_streaming, the_reducer_takes_keys_of_any_length)
{
    size_t k = 1u << 20;
    char *in = malloc(k + 4);
    memset(in, 'k', k);
    memcpy(in + k, "\t1\n", 3);
    run_result r =
        prog_in(in, k + 3, (const char *const[]){"wc_reducer", NULL});
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_eq(r.out_len, k + 3);
    cr_assert(memcmp(r.out, in, k + 3) == 0);
    run_free(&r);
    free(in);
}

Test(lab05_streaming, the_line_parser_is_strict)
{
    kvline kv;
    cr_assert_eq(kvline_parse("w\t12", 4, &kv), KVLINE_OK);
    cr_assert_eq(kv.key_len, 1);
    cr_assert_eq(kv.value, 12);
    cr_assert_eq(kvline_parse("w12", 3, &kv), KVLINE_NO_TAB);
    cr_assert_eq(kvline_parse("\t1", 2, &kv), KVLINE_EMPTY_KEY);
    cr_assert_eq(kvline_parse("w\t-1", 4, &kv), KVLINE_NEGATIVE);
    cr_assert_eq(kvline_parse("w\t", 2, &kv), KVLINE_NOT_COUNT);
    cr_assert_eq(kvline_parse("w\t99999999999999999999x", 23, &kv),
                 KVLINE_NOT_COUNT);
    cr_assert_eq(kvline_parse("w\t18446744073709551616", 22, &kv),
                 KVLINE_OVERFLOW);
    cr_assert_eq(kvline_parse("w\t18446744073709551615", 22, &kv), KVLINE_OK);
    cr_assert_eq(kv.value, UINT64_MAX);
    /* The parser reads only [0, len): a digit past the end is not seen. */
    cr_assert_eq(kvline_parse("w\t19", 3, &kv), KVLINE_OK);
    cr_assert_eq(kv.value, 1);
    uint64_t s = UINT64_MAX - 1;
    cr_assert(kvline_add(&s, 1));
    cr_assert_eq(s, UINT64_MAX);
    cr_assert(!kvline_add(&s, 1), "2^64 must overflow");
    cr_assert_eq(s, UINT64_MAX, "an overflowing add must leave the sum alone");
    char num[20];
    cr_assert_eq(kvline_format_u64(UINT64_MAX, num), 20);
    cr_assert(memcmp(num, "18446744073709551615", 20) == 0);
    cr_assert_eq(kvline_format_u64(0, num), 1);
    cr_assert_eq(num[0], '0');
}

Test(lab05_streaming, help_prints_an_example_and_exits_0)
{
    const char *progs[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        run_result r = RUN(progs[i], "--help");
        cr_assert_eq(r.exit_code, 0);
        cr_assert(strstr(r.out, "usage: ") && strstr(r.out, "Example"), "%s",
                  r.out);
        cr_assert_eq(r.err_len, 0);
        run_free(&r);
    }
}

Test(lab05_streaming, bad_arguments_exit_2_naming_the_option)
{
    static const char *const bad_values[] = {
        "abc", "-1", "99999999999999999999", "1e3", "", "100000001", "2.5"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        run_result r = RUN("wc_mapper", "--max-distinct", bad_values[i]);
        assert_usage_error(&r, "--max-distinct");
        run_free(&r);
    }
    run_result r = RUN("wc_mapper", "--max-distinct=x");
    assert_usage_error(&r, "--max-distinct");
    run_free(&r);
    r = RUN("wc_mapper", "--max-distinct");
    assert_usage_error(&r, "--max-distinct");
    run_free(&r);
    const char *progs[] = {"wc_mapper", "wc_reducer"};
    for (int i = 0; i < 2; i++) {
        r = RUN(progs[i], "--frobnicate");
        assert_usage_error(&r, "--frobnicate");
        run_free(&r);
        r = RUN(progs[i], "-x");
        assert_usage_error(&r, "-x");
        run_free(&r);
        r = RUN(progs[i], "input.txt");
        assert_usage_error(&r, "input.txt");
        run_free(&r);
    }
}
