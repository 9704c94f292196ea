/*
 * test_05_rooms.c - lab 05's runtime, room by room: each phase that has
 * logic of its own, tested through its own interface.
 *   lab05_split     mr_split_plan: blocks cut just after a separator
 *   lab05_combiner  mr_combiner.h: fold in order, each key once (whichever
 *                   twin this build links: `make SIMPLE=1` tests the other)
 *   lab05_reduce    a key's values reach reduce() in map-task order,
 *                   once each, whatever order the map tasks finish in
 *   lab05_merge     the merged result is sorted bytewise, each key once
 */
#include "harness.h"

#include "../05-mapreduce/mr.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- splitting -------------------------------------------------------- */
TestSuite(lab05_split, .timeout = 30);

/* Plan the splits of text (written to a temp file) with block size b. */
static mr_split *plan_text(const char *text, uint64_t block, int *n)
{
    char *dir = make_tmpdir();
    char *path = path_join(dir, "in");
    write_file(path, text, strlen(text));
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    uint64_t size = strlen(text);
    mr_split *s = mr_split_plan(1, &fd, &size, NULL, block, 1, n);
    close(fd);
    rm_rf(dir);
    free(path);
    free(dir);
    return s;
}

Test(lab05_split, each_boundary_moves_to_just_after_the_next_separator)
{
    /* blocks of 5 bytes: cuts at 5, 10, 15 fall inside "quick", "brown"
     * and "fox", so each moves to just after the space that ends them */
    const char *text = "the quick brown fox";
    int n = 0;
    mr_split *s = plan_text(text, 5, &n);
    cr_assert_eq(n, 3, "3 splits expected, got %d", n);
    const uint64_t want[][2] = {{0, 10}, {10, 16}, {16, 19}};
    for (int i = 0; i < n; i++) {
        cr_assert_eq(s[i].file, 0);
        cr_assert(s[i].begin == want[i][0] && s[i].end == want[i][1],
                  "split %d is [%llu, %llu), expected [%llu, %llu)", i,
                  (unsigned long long)s[i].begin, (unsigned long long)s[i].end,
                  (unsigned long long)want[i][0],
                  (unsigned long long)want[i][1]);
    }
    free(s);
}

Test(lab05_split, splits_cover_the_file_exactly_and_never_cut_a_word)
{
    const char *text = "a bb ccc dddd eeeee ffffff ggggggg\nhh iii j kk l\n";
    size_t len = strlen(text);
    for (uint64_t block = 1; block <= len + 1; block++) {
        int n = 0;
        mr_split *s = plan_text(text, block, &n);
        uint64_t at = 0;
        for (int i = 0; i < n; i++) {
            cr_assert_eq(s[i].begin, at, "block %llu: a gap or an overlap",
                         (unsigned long long)block);
            cr_assert(s[i].end > s[i].begin, "block %llu: an empty split",
                      (unsigned long long)block);
            if (s[i].end < len) /* cut just after a separator */
                cr_assert(
                    text[s[i].end - 1] == ' ' || text[s[i].end - 1] == '\n',
                    "block %llu: split %d ends inside a word at %llu",
                    (unsigned long long)block, i, (unsigned long long)s[i].end);
            at = s[i].end;
        }
        cr_assert_eq(at, len, "block %llu: the splits end at %llu of %zu",
                     (unsigned long long)block, (unsigned long long)at, len);
        free(s);
    }
}

Test(lab05_split, a_file_with_no_separator_after_a_cut_is_one_split)
{
    int n = 0;
    mr_split *s = plan_text("abcdefghijklmnopqrstuvwxyz", 4, &n);
    cr_assert_eq(n, 1);
    cr_assert(s[0].begin == 0 && s[0].end == 26);
    free(s);
}

Test(lab05_split, an_empty_file_has_no_split)
{
    int n = -1;
    mr_split *s = plan_text("", 4, &n);
    cr_assert_eq(n, 0);
    cr_assert_null(s);
}

/* ---- the combiner ---------------------------------------------------- */
TestSuite(lab05_combiner, .timeout = 30);

/* A combiner that is not commutative: the values in decimal, in the
 * order they were folded (held * 10 + value). */
static uint64_t append_digit(uint64_t held, uint64_t value, void *arg)
{
    (*(int *)arg)++;
    return held * 10 + value;
}

typedef struct {
    char keys[64][40];
    size_t klen[64];
    uint64_t val[64];
    int n;
} seen;

static void collect(const char *key, size_t klen, uint64_t value, void *ctx)
{
    seen *s = ctx;
    cr_assert(s->n < 64 && klen < 40);
    memcpy(s->keys[s->n], key, klen);
    s->klen[s->n] = klen;
    s->val[s->n++] = value;
}

static uint64_t value_of(const seen *s, const char *key, size_t klen)
{
    int found = -1;
    for (int i = 0; i < s->n; i++)
        if (s->klen[i] == klen && memcmp(s->keys[i], key, klen) == 0) {
            cr_assert_eq(found, -1, "key %.*s listed twice", (int)klen, key);
            found = i;
        }
    cr_assert_neq(found, -1, "key %.*s missing", (int)klen, key);
    return s->val[found];
}

Test(lab05_combiner, folds_the_values_of_a_key_in_the_order_they_came)
{
    int calls = 0;
    mr_combiner *c = mr_combiner_new(append_digit, &calls);
    /* three short keys, one long (> 16 bytes), an empty one; interleaved */
    const char *long_key = "a-key-longer-than-sixteen-bytes";
    for (int round = 1; round <= 3; round++) {
        mr_combiner_add(c, "deer", 4, (uint64_t)round);
        mr_combiner_add(c, long_key, strlen(long_key), (uint64_t)round + 3);
        mr_combiner_add(c, "bear", 4, 9);
        mr_combiner_add(c, "", 0, (uint64_t)round);
    }
    mr_combiner_add(c, "dee", 3, 7); /* a prefix is another key */
    cr_assert_eq(mr_combiner_count(c), 5);
    seen s = {0};
    mr_combiner_foreach(c, collect, &s);
    cr_assert_eq(s.n, 5);
    cr_assert_eq(value_of(&s, "deer", 4), 123);
    cr_assert_eq(value_of(&s, long_key, strlen(long_key)), 456);
    cr_assert_eq(value_of(&s, "bear", 4), 999);
    cr_assert_eq(value_of(&s, "", 0), 123);
    cr_assert_eq(value_of(&s, "dee", 3), 7);
    cr_assert_eq(calls, 8, "combine() is called once per repeated key");
    mr_combiner_clear(c);
    cr_assert_eq(mr_combiner_count(c), 0);
    mr_combiner_add(c, "deer", 4, 5);
    seen t = {0};
    mr_combiner_foreach(c, collect, &t);
    cr_assert(t.n == 1 && t.val[0] == 5, "after clear: only the new pair");
    mr_combiner_free(c);
}

Test(lab05_combiner, holds_many_keys_through_growth_with_mr_sum)
{
    mr_combiner *c = mr_combiner_new(mr_sum, NULL);
    enum { KEYS = 20000 };
    char key[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < KEYS; i++) {
            int n = snprintf(key, sizeof key, "key%d", i);
            char padded[64]; /* the padded add: MR_KEY_PAD bytes after */
            memcpy(padded, key, (size_t)n);
            memset(padded + n, 'x', MR_KEY_PAD); /* garbage must not count */
            if (round == 1)
                mr_combiner_add_padded(c, padded, (size_t)n, (uint64_t)i);
            else
                mr_combiner_add(c, key, (size_t)n, (uint64_t)i);
        }
    cr_assert_eq(mr_combiner_count(c), KEYS);
    mr_combiner_free(c);
}

/* ---- reducing and merging, through mr_run ------------------------------ */
/* The app: every word of a split is emitted with the split's first byte
 * as its value; the combiner keeps the first; reduce() checks that the
 * values of a key arrive in map-task order (ascending offsets). */
static int out_of_order; /* set by reduce(); read after mr_run */

static void on_word_split(const mr_split *s, const char *data, size_t len,
                          mr_emitter *em, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && data[j] != ' ' && data[j] != '\n')
            j++;
        if (j > i)
            mr_emit(em, data + i, j - i, s->begin);
        i = j + 1;
    }
}

static uint64_t keep_first(uint64_t held, uint64_t value, void *arg)
{
    (void)value;
    (void)arg;
    return held;
}

static uint64_t check_order(const char *key, size_t klen, const uint64_t *vals,
                            size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    (void)text;
    (void)arg;
    for (size_t i = 1; i < n; i++)
        if (vals[i] <= vals[i - 1])
            __atomic_store_n(&out_of_order, 1, __ATOMIC_SEQ_CST);
    return n;
}

/* Run the order-checking app on text with a crash rate (0: none). */
static void run_crashing(const char *text, int jobs, int reducers,
                         uint64_t block, enum mr_workers workers,
                         double crash_rate, uint64_t seed, mr_result *res)
{
    static const mr_app app = {.name = "order",
                               .map = on_word_split,
                               .combine = keep_first,
                               .reduce = check_order};
    char *dir = make_tmpdir();
    char *path = path_join(dir, "in");
    write_file(path, text, strlen(text));
    const char *files[] = {path};
    mr_config cfg = {.app = &app,
                     .files = files,
                     .nfiles = 1,
                     .jobs = jobs,
                     .reducers = reducers,
                     .workers = workers,
                     .block_size = block,
                     .crash_rate = crash_rate,
                     .seed = seed};
    mr_run(&cfg, res);
    rm_rf(dir);
    free(path);
    free(dir);
}

static void run_on(const char *text, int jobs, int reducers, uint64_t block,
                   mr_result *res)
{
    run_crashing(text, jobs, reducers, block, MR_THREADS, 0, 1, res);
}

TestSuite(lab05_reduce, .timeout = 60);

Test(lab05_reduce, a_keys_values_arrive_in_map_task_order)
{
    /* 40 lines of the same 5 words: with 8-byte blocks, every line is a
     * map task or two, and every key has a value from each */
    char text[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(text, "deer bear river car x\n");
    for (int jobs = 1; jobs <= 3; jobs++) {
        out_of_order = 0;
        mr_result res;
        run_on(text, jobs, 2, 8, &res);
        cr_assert_eq(res.n, 5);
        for (size_t i = 0; i < res.n; i++)
            cr_assert(res.recs[i].value >= 40,
                      "%.*s got %llu values, one per map task expected",
                      (int)res.recs[i].klen, res.recs[i].key,
                      (unsigned long long)res.recs[i].value);
        cr_assert_eq(out_of_order, 0,
                     "-j %d: reduce() saw a key's values out of map-task "
                     "order",
                     jobs);
        mr_result_free(&res);
    }
}

Test(lab05_reduce, b_values_keep_map_task_order_when_tasks_finish_out_of_order)
{
    /* A crashed attempt puts its task back at the end of the queue, so
     * its output is accepted after those of later tasks: the reducers must
     * still see map-task order, and every task's values exactly once (the
     * count reduce() returns is the fault-free one). */
    char text[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(text, "deer bear river car x\n");
    mr_result clean;
    run_on(text, 1, 2, 8, &clean);
    int crashed_runs = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        enum mr_workers workers = seed % 4 ? MR_THREADS : MR_PROCESSES;
        out_of_order = 0;
        mr_result res;
        run_crashing(text, 2 + (int)(seed % 2), 2, 8, workers, 0.3, seed, &res);
        crashed_runs += res.failed_attempts > 0;
        cr_assert_eq(out_of_order, 0,
                     "seed %llu: reduce() saw a key's values out of "
                     "map-task order",
                     (unsigned long long)seed);
        cr_assert_eq(res.n, clean.n);
        for (size_t i = 0; i < res.n; i++)
            cr_assert_eq(res.recs[i].value, clean.recs[i].value,
                         "seed %llu: %.*s got %llu values, %llu without "
                         "crashes",
                         (unsigned long long)seed, (int)res.recs[i].klen,
                         res.recs[i].key, (unsigned long long)res.recs[i].value,
                         (unsigned long long)clean.recs[i].value);
        mr_result_free(&res);
    }
    cr_assert(crashed_runs > 0, "no run crashed: the test tested nothing");
    mr_result_free(&clean);
}

TestSuite(lab05_merge, .timeout = 60);

Test(lab05_merge, the_result_is_sorted_bytewise_with_each_key_once)
{
    /* prefixes, bytes >= 0x80, digits and capitals: bytewise (LC_ALL=C)
     * order puts "B" < "a" < "a0" < "ab" < "\xc3\xa9" */
    const char *text = "ab a \xc3\xa9t\xc3\xa9 B a0 zz ab a z \xc3\xa9 b a\n"
                       "m n o p q r s t u v w x y z a b c d e f g h i j k\n";
    for (int reducers = 1; reducers <= 5; reducers++) {
        mr_result res;
        run_on(text, 2, reducers, 16, &res);
        for (size_t i = 1; i < res.n; i++) {
            const mr_rec *x = &res.recs[i - 1], *y = &res.recs[i];
            size_t m = x->klen < y->klen ? x->klen : y->klen;
            int c = memcmp(x->key, y->key, m);
            cr_assert(c < 0 || (c == 0 && x->klen < y->klen),
                      "-r %d: %.*s before %.*s", reducers, (int)x->klen, x->key,
                      (int)y->klen, y->key);
        }
        cr_assert_eq(res.n, 31, "-r %d: %zu distinct keys, expected 31",
                     reducers, res.n);
        mr_result_free(&res);
    }
}
