/*
 * test_05_rooms.c - lab 05's runtime, room by room: each phase that has
 * logic of its own, tested through its own interface.
 *   lab05_split     mr_split_plan: blocks cut just after a separator
 *   lab05_combiner  mr_combiner.h: fold in order, each key once (whichever
 *                   twin this build links: `make SIMPLE=1` tests the other)
 *   lab05_reduce    a key's values reach reduce() in map-task order,
 *                   once each, whatever order the map tasks finish in
 *   lab05_merge     the merged result is sorted bytewise, each key once
 *   lab05_module    the API around them: mr_hash, the default block,
 *                   mr_emit_padded, mr_sum, mr_write_recs, a whole mr_run
 */
#include "lab05_support.h"

#include "../05-mapreduce/mr.h"

#include <fcntl.h>
#include <stdint.h>
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

/* combine_across_tasks: the reducers fold a key's values as the map
 * outputs arrive.  keep_first is associative but not commutative, so the
 * folded value is the first map task's only if the fold kept map-task
 * order.  reduce() returns its first value, and in the top 32 bits how
 * many values it was given (a worker process cannot tell the test in a
 * variable). */
#define NVALS(v) ((v) >> 32)

static uint64_t first_value(const char *key, size_t klen, const uint64_t *vals,
                            size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    (void)text;
    (void)arg;
    return (uint64_t)n << 32 | vals[0]; /* vals[0]: an offset below 4 KiB */
}

static void run_first_value(const char *path, bool fold, int jobs,
                            enum mr_workers workers, double crash_rate,
                            uint64_t seed, mr_result *res)
{
    static const mr_app listed = {.name = "first value, listed",
                                  .map = on_word_split,
                                  .combine = keep_first,
                                  .reduce = first_value};
    static const mr_app folded = {.name = "first value, folded",
                                  .map = on_word_split,
                                  .combine = keep_first,
                                  .reduce = first_value,
                                  .combine_across_tasks = true};
    const char *files[] = {path};
    mr_config cfg = {.app = fold ? &folded : &listed,
                     .files = files,
                     .nfiles = 1,
                     .jobs = jobs,
                     .reducers = 2,
                     .workers = workers,
                     .block_size = 64,
                     .crash_rate = crash_rate,
                     .seed = seed};
    mr_run(&cfg, res);
}

Test(lab05_reduce,
     c_combine_across_tasks_folds_a_keys_values_into_one_in_map_task_order)
{
    /* Line i holds w<i>, w<i+1> ... w<i+7>: each word first appears in
     * some split, then in the next few; 64-byte blocks make ~20 splits. */
    char text[4096] = "";
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k < 8; k++)
            sprintf(text + strlen(text), "w%d%c", i + k, k < 7 ? ' ' : '\n');
    }
    char *dir = make_tmpdir();
    char *path = fixture(dir, "in", text, strlen(text));
    mr_result listed;
    run_first_value(path, false, 2, MR_THREADS, 0, 1, &listed);
    uint64_t most = 0;
    for (size_t i = 0; i < listed.n; i++)
        if (NVALS(listed.recs[i].value) > most)
            most = NVALS(listed.recs[i].value);
    cr_assert(most > 1, "the listed run gave one value per key: the test "
                        "input shows nothing");
    long crashed = 0; /* failed attempts in the crashing runs */
    for (uint64_t seed = 1; seed <= 8; seed++) {
        enum mr_workers workers = seed % 2 ? MR_THREADS : MR_PROCESSES;
        double crash_rate = seed > 4 ? 0.3 : 0;
        mr_result res;
        run_first_value(path, true, 1 + (int)(seed % 3), workers, crash_rate,
                        seed, &res);
        crashed += res.failed_attempts;
        cr_assert_eq(res.n, listed.n);
        for (size_t i = 0; i < res.n; i++) {
            const mr_rec *got = &res.recs[i], *want = &listed.recs[i];
            cr_assert_eq(NVALS(got->value), 1,
                         "seed %llu: reduce() got %llu values of %.*s, one "
                         "(folded) expected",
                         (unsigned long long)seed,
                         (unsigned long long)NVALS(got->value), (int)got->klen,
                         got->key);
            cr_assert_eq((uint32_t)got->value, (uint32_t)want->value,
                         "seed %llu: %.*s folded to %u, but its first value "
                         "in map-task order is %u",
                         (unsigned long long)seed, (int)got->klen, got->key,
                         (unsigned)(uint32_t)got->value,
                         (unsigned)(uint32_t)want->value);
        }
        mr_result_free(&res);
    }
    cr_assert(crashed > 0, "no attempt crashed: the re-run tasks' order was "
                           "not tested");
    mr_result_free(&listed);
    free(path);
    rm_rf(dir);
    free(dir);
}

static void emit_ones(const mr_split *s, const char *data, size_t len,
                      mr_emitter *em, void *arg)
{
    (void)s;
    (void)arg;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && data[j] != ' ' && data[j] != '\n')
            j++;
        if (j > i)
            mr_emit(em, data + i, j - i, 1);
        i = j + 1;
    }
}

static uint64_t sum_values(const char *key, size_t klen, const uint64_t *vals,
                           size_t n, mr_text *text, void *arg);

/* The sum, and in the top 32 bits how many values were added. */
static uint64_t sum_noting_values(const char *key, size_t klen,
                                  const uint64_t *vals, size_t n, mr_text *text,
                                  void *arg)
{
    return (uint64_t)n << 32 | sum_values(key, klen, vals, n, text, arg);
}

Test(lab05_reduce, d_the_key_groups_grow_when_later_map_tasks_bring_new_keys)
{
    /* 6000 distinct words, each twice, 42 KB apart (in different splits);
     * 4 KiB blocks bring ~600 new keys per map task of the first half: the
     * first output sizes the key groups, the later ones grow them. */
    size_t cap = 128 * 1024, len = 0;
    char *text = malloc(cap);
    cr_assert(text != NULL);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 6000; i++)
            len += (size_t)sprintf(text + len, "k%05d\n", i);
    cr_assert(len < cap);
    char *dir = make_tmpdir();
    char *path = fixture(dir, "in", text, len);
    static const mr_app listed = {.name = "count, listed",
                                  .map = emit_ones,
                                  .combine = mr_sum,
                                  .reduce = sum_noting_values};
    static const mr_app folded = {.name = "count, folded",
                                  .map = emit_ones,
                                  .combine = mr_sum,
                                  .reduce = sum_noting_values,
                                  .combine_across_tasks = true};
    const mr_app *apps[] = {&listed, &folded};
    for (int a = 0; a < 2; a++)
        for (int w = 0; w < 2; w++) {
            const char *files[] = {path};
            mr_config cfg = {.app = apps[a],
                             .files = files,
                             .nfiles = 1,
                             .jobs = 2,
                             .reducers = 3,
                             .workers = w ? MR_PROCESSES : MR_THREADS,
                             .block_size = 4096,
                             .seed = 1};
            mr_result res;
            mr_run(&cfg, &res);
            cr_assert_eq(res.n, 6000, "%s: %zu distinct keys, 6000 expected",
                         apps[a]->name, res.n);
            uint64_t nvals = a ? 1 : 2; /* folded: one; listed: one a task */
            for (size_t i = 0; i < res.n; i++)
                cr_assert_eq(res.recs[i].value, nvals << 32 | 2,
                             "%s, %s: %.*s got %llu values summing to %llu, "
                             "expected %llu values summing to 2",
                             apps[a]->name, w ? "processes" : "threads",
                             (int)res.recs[i].klen, res.recs[i].key,
                             (unsigned long long)NVALS(res.recs[i].value),
                             (unsigned long long)(uint32_t)res.recs[i].value,
                             (unsigned long long)nvals);
            mr_result_free(&res);
        }
    free(text);
    free(path);
    rm_rf(dir);
    free(dir);
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
