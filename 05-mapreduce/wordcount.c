/*
 * wordcount.c - word count on the lab's MapReduce runtime: exact, fast, crash-proof
 *
 * The application is three small callbacks (map: every word -> (word, 1);
 * combine and reduce: add); the runtime (mr_job.c) does the rest: HDFS-like
 * splits, map tasks with an in-mapper combiner, hash partitioning, reduce
 * tasks, a merged sorted result -- on threads or on forked worker processes,
 * surviving workers that die (--crash-rate).
 *
 * What you will observe:
 *   --explain      every phase of the lecture's slide, on a tiny input:
 *                  splits, (word, 1) pairs, combined pairs, the shuffle,
 *                  the reduced counts, the final merge
 *   --plan         the splits and how long each phase took (stderr)
 *   --crash-rate   workers die mid-task, the answer does not change
 *
 * A word is a maximal run of Unicode letters and digits (UTF-8, invalid
 * bytes separate words), lowercased; see words.h.  Output: word<TAB>count,
 * sorted bytewise (the order of LC_ALL=C sort).
 *
 * Usage: wordcount [OPTIONS] [FILE...]      (no FILE or "-": standard input)
 *   printf 'Deer Bear River\nCar Car River\nDeer Car Bear\n' | ./wordcount --explain
 *   ./wordcount --plan --top 10 05-mapreduce/README.md
 *
 * See also: invindex.c (a second application on the same runtime),
 * wc_mapper.c / wc_reducer.c (the same job on Hadoop Streaming), mr.h,
 * Dean & Ghemawat, "MapReduce" (OSDI 2004), MIT 6.824 lab 1.
 */
#include "mr.h"
#include "words.h"

#include "cli.h"
#include "err.h"
#include "files.h"
#include "json.h"
#include "proc.h"
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the application: three callbacks ---------------------------------- */

static void on_word(const char *w, size_t len, void *ctx)
{
    mr_emit(ctx, w, len, 1); /* (word, 1) */
}

static void wc_map(const mr_split *s, const char *data, size_t len,
                   mr_emitter *em, void *arg)
{
    (void)s;
    (void)arg;
    words_scan(data, len, on_word, em);
}

static uint64_t wc_reduce(const char *key, size_t klen, const uint64_t *vals,
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

/* The combiner is mr_sum (a + b), which the runtime adds in place.  A sum
 * of sums is the sum, so the reducers may fold too (combine_across_tasks):
 * each key then holds one running count, not one per map task, and
 * wc_reduce gets that one value.  words_scan's words have WORDS_PAD
 * readable bytes after them: saying so lets the runtime load each one
 * whole (mr_app.key_padding). */
static const mr_app wordcount_app = {
    .name = "word count",
    .map = wc_map,
    .combine = mr_sum,
    .reduce = wc_reduce,
    .key_padding = WORDS_PAD,
    .combine_across_tasks = true,
};

/* ---- reporting: the result, its order, the stats --------------------------------------------------------------- */

static int by_count(const void *a, const void *b)
{
    const mr_rec *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? 1 : -1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static void write_stats(const char *path, const mr_result *res)
{
    FILE *f = strcmp(path, "-") == 0 ? stderr : fopen(path, "w");
    if (!f)
        die_errno("--stats: %s", path);
    json_w j;
    json_start(&j, f);
    json_obj(&j, NULL);
    json_uint(&j, "bytes", res->bytes);
    json_uint(&j, "words", res->emitted);
    json_uint(&j, "distinct", res->n);
    json_int(&j, "map_tasks", res->map_tasks);
    json_int(&j, "reduce_tasks", res->reduce_tasks);
    json_int(&j, "failed_attempts", res->failed_attempts);
    json_obj(&j, "seconds");
    json_double(&j, "split", res->t_split);
    json_double(&j, "map", res->t_map);
    json_double(&j, "shuffle", res->t_shuffle);
    json_double(&j, "reduce", res->t_reduce);
    json_double(&j, "merge", res->t_merge);
    json_double(&j, "total", res->t_total);
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    if (f != stderr && fclose(f) != 0)
        die_errno("--stats: %s", path);
}

/* Big enough to want a progress bar? (sizes of the named regular files) */
static bool large_input(char *const files[], int n)
{
    unsigned long long total = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(files[i], "-") != 0 && stat(files[i], &st) == 0)
            total += (unsigned long long)st.st_size;
    }
    return total >= 64ULL << 20;
}

static const char usage[] =
    "Usage: wordcount [OPTIONS] [FILE...]\n"
    "Count every word of the FILEs (standard input if none, or '-') with\n"
    "MapReduce; print word<TAB>count sorted by word (bytewise).\n"
    "\n"
    "  -j, --jobs N          workers (default: the CPUs it may use)\n"
    "  -r, --reducers R      reduce partitions (default: N)\n"
    "      --workers KIND    threads (default) or processes\n"
    "      --block-size SIZE split size, K/M/G suffixes (default: ~4 splits\n"
    "                        per worker, at least 1M; HDFS uses 128M)\n"
    "      --top K           only the K most frequent words (count desc, word "
    "asc)\n"
    "  -o, --output FILE     write FILE (a regular file is replaced "
    "whole, at\n"
    "                        the end; a device or FIFO is written "
    "through)\n"
    "      --plan            print the plan and per-phase timings on stderr\n"
    "      --explain         print every phase on a small input (<= 4K)\n"
    "      --progress        progress bar on stderr (default: TTY and >= 64M)\n"
    "      --crash-rate P    each task attempt dies with probability P (0..1)\n"
    "      --seed S          seed of the crash decisions (default 1)\n"
    "      --stats FILE      one JSON object of counts and timings ('-': "
    "stderr)\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  printf 'Deer Bear River\\nCar Car River\\nDeer Car Bear\\n' | "
    "./wordcount --explain\n"
    "  ./wordcount --plan --top 10 05-mapreduce/README.md\n"
    "  ./wordcount --workers processes --crash-rate 0.3 --plan FILE\n";

/* ---- usage and main ------------------------------------------------------ */

int main(int argc, char *argv[])
{
    kit_set_prog("wordcount");
    int cpus = kit_ncpus(); /* the affinity mask: taskset -c 0 gives 1 */
    int jobs = cpus > 256 ? 256 : cpus;
    int reducers = 0, top = 0;
    enum mr_workers workers = MR_THREADS;
    unsigned long long block = 0;
    double crash = 0;
    long long seed = 1;
    bool plan = false, explain = false, progress = false;
    const char *out = NULL, *stats = NULL;

    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"reducers", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'W'},
        {"block-size", required_argument, NULL, 'b'},
        {"top", required_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"plan", no_argument, NULL, 'P'},
        {"explain", no_argument, NULL, 'E'},
        {"progress", no_argument, NULL, 'g'},
        {"crash-rate", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 's'},
        {"stats", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const kinds[] = {"threads", "processes", NULL};
    int c;
    while ((c = getopt_long(argc, argv, ":j:r:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': jobs = (int)opt_int("--jobs", optarg, 1, 256); break;
        case 'r': reducers = (int)opt_int("--reducers", optarg, 1, 256); break;
        case 'W':
            workers = opt_choice("--workers", optarg, kinds) ? MR_PROCESSES
                                                             : MR_THREADS;
            break;
        case 'b':
            block = opt_size("--block-size", optarg, 1, 1ULL << 30);
            break;
        case 't': top = (int)opt_int("--top", optarg, 1, 1000000000); break;
        case 'o':
            if (!*optarg)
                usage_error("--output: expected a file name, got ''");
            out = optarg;
            break;
        case 'P': plan = true; break;
        case 'E': explain = true; break;
        case 'g': progress = true; break;
        case 'c': crash = opt_double("--crash-rate", optarg, 0, 1); break;
        case 's':
            seed = opt_int("--seed", optarg, 0, 9223372036854775807LL);
            break;
        case 'S':
            if (!*optarg)
                usage_error("--stats: expected a file name or '-', got ''");
            stats = optarg;
            break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    if (explain && workers == MR_PROCESSES)
        usage_error(
            "--explain shows the in-memory run: drop --workers processes");
    for (int i = optind; i < argc; i++)
        if (!*argv[i])
            usage_error("expected a file name, got ''");

    static char *const dash[] = {"-"};
    char *const *files = optind < argc ? argv + optind : dash;
    int nfiles = optind < argc ? argc - optind : 1;

    mr_config cfg = {
        .app = &wordcount_app,
        .files = (const char *const *)files,
        .nfiles = nfiles,
        .jobs = jobs,
        .reducers = reducers ? reducers : jobs,
        .workers = workers,
        .block_size = block,
        .crash_rate = crash,
        .seed = (uint64_t)seed,
        .explain = explain,
        .progress = progress || large_input(files, nfiles),
        .verbose = plan,
    };
    mr_result res;
    mr_run(&cfg, &res);

    /* Everything is written and checked before -o's file is replaced:
     * a failing --stats FILE leaves the old result in place (the exit
     * cleanup removes the temp file). */
    double t0 = kit_now();
    const char *out_name = out ? out : "standard output";
    FILE *f = kit_out_open(out ? out : "-");
    bool ok;
    if (top > 0 && res.n > 0) {
        mr_rec *sorted = malloc(res.n * sizeof *sorted);
        if (!sorted)
            die("out of memory");
        memcpy(sorted, res.recs, res.n * sizeof *sorted);
        qsort(sorted, res.n, sizeof *sorted, by_count);
        ok =
            mr_write_recs(f, sorted, (size_t)top < res.n ? (size_t)top : res.n);
        free(sorted);
    } else {
        ok = mr_write_recs(f, res.recs, res.n);
    }
    if (!ok)
        die_errno("writing %s", out_name);
    double dt = kit_now() - t0;
    res.t_merge += dt; /* writing the result is part of the merge */
    res.t_total += dt;
    if (stats)
        write_stats(stats, &res);
    kit_out_commit();
    if (explain && out)
        printf("   (written to %s)\n", out);
    if (plan)
        mr_print_plan(stderr, &res);
    mr_result_free(&res);
    return 0;
}
