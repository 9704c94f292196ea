/*
 * invindex.c - an inverted index on the same MapReduce runtime: which files hold each word
 *
 * The second application of mr.h, to show that the runtime knows nothing
 * about counting: map emits (word, file number); the combiner keeps one
 * copy per map task; reduce receives the file numbers of a word (one per
 * map task that saw it, in task order, hence in file order), drops the
 * repeats and attaches the file names as text.  That is the index a search
 * engine builds, and the second example of the MapReduce paper.
 *
 * What you will observe: word<TAB>file1,file2,... sorted by word, files in
 * the order given on the command line ("-": standard input, listed as "-").
 * A name holding ',', a TAB or a newline is refused: the list could not be
 * split back into names.
 *
 * Usage: invindex [-j N] [-r R] [--workers threads|processes]
 *                 [--block-size SIZE] [-o FILE] FILE...
 *   ./invindex 01-processes/README.md 02-threads/README.md 05-mapreduce/README.md
 *
 * See also: wordcount.c (the first application), mr.h.
 */
#include "mr.h"
#include "words.h"

#include "cli.h"
#include "err.h"
#include "files.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *const *names; /* the files, by number */
} index_arg;

typedef struct {
    mr_emitter *em;
    uint64_t file;
} scan_ctx;

static void on_word(const char *w, size_t len, void *ctx)
{
    scan_ctx *c = ctx;
    mr_emit(c->em, w, len, c->file); /* (word, file number) */
}

static void ii_map(const mr_split *s, const char *data, size_t len,
                   mr_emitter *em, void *arg)
{
    (void)arg;
    scan_ctx c = {em, (uint64_t)s->file};
    words_scan(data, len, on_word, &c);
}

/* A split lies inside one file: every value of a key in one map task is the
 * same file number, so keep the one held. */
static uint64_t ii_combine(uint64_t held, uint64_t v, void *arg)
{
    (void)v;
    (void)arg;
    return held;
}

static uint64_t ii_reduce(const char *key, size_t klen, const uint64_t *vals,
                          size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    const index_arg *ia = arg;
    uint64_t files = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && vals[i] == vals[i - 1])
            continue; /* several splits of one file */
        const char *name = ia->names[vals[i]];
        if (files++)
            mr_text_add(text, ",", 1);
        mr_text_add(text, name, strlen(name));
    }
    return files;
}

/* ---- reporting: names that can be read back ---------------------------- */

/* The output is word<TAB>file,file,...: a name holding ',' TAB or newline
 * would make a line that cannot be split back into the files (escaping
 * would make every reader unescape).  Such names are refused up front, before
 * any work, with a usage error naming the character. */
static void check_listable(const char *name)
{
    static const struct {
        char c;
        const char *what;
    } bad[] = {{',', "a ','"}, {'\t', "a TAB"}, {'\n', "a newline"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strchr(name, bad[i].c))
            usage_error("a FILE name holding %s cannot be listed unambiguously "
                        "(the list is comma-separated, one word a line): "
                        "rename it or pass a symlink",
                        bad[i].what);
}

static const char usage[] =
    "Usage: invindex [OPTIONS] FILE...\n"
    "For every word of the FILEs print word<TAB>file,file,... (sorted by "
    "word;\n"
    "files in command-line order), computed with MapReduce.  '-' is "
    "standard\n"
    "input, listed as '-'.  A FILE name holding ',', a TAB or a newline is "
    "refused:\n"
    "it could not be read back from the list.\n"
    "\n"
    "  -j, --jobs N          workers (default: the CPUs it may use)\n"
    "  -r, --reducers R      reduce partitions (default: N)\n"
    "      --workers KIND    threads (default) or processes\n"
    "      --block-size SIZE split size, K/M/G suffixes\n"
    "  -o, --output FILE     write FILE (a regular file is replaced "
    "whole, at\n"
    "                        the end; a device or FIFO is written "
    "through)\n"
    "      --plan            print the plan and per-phase timings on stderr\n"
    "  -h, --help            this help\n"
    "\n"
    "Example:\n"
    "  ./invindex 05-mapreduce/README.md 05-mapreduce/mr.h "
    "05-mapreduce/mr_job.c | "
    "grep '^shuffle'\n";

/* ---- usage and main ------------------------------------------------------ */

int main(int argc, char *argv[])
{
    kit_set_prog("invindex");
    int cpus = kit_ncpus(); /* the affinity mask: taskset -c 0 gives 1 */
    int jobs = cpus > 256 ? 256 : cpus;
    int reducers = 0;
    enum mr_workers workers = MR_THREADS;
    unsigned long long block = 0;
    bool plan = false;
    const char *out = NULL;
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},
        {"reducers", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'W'},
        {"block-size", required_argument, NULL, 'b'},
        {"output", required_argument, NULL, 'o'},
        {"plan", no_argument, NULL, 'P'},
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
        case 'o':
            if (!*optarg)
                usage_error("--output: expected a file name, got ''");
            out = optarg;
            break;
        case 'P': plan = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    if (optind >= argc)
        usage_error("expected at least one FILE (try --help)");
    for (int i = optind; i < argc; i++)
        if (!*argv[i])
            usage_error("expected a file name, got ''");
    for (int i = optind; i < argc; i++)
        check_listable(argv[i]);

    index_arg ia = {argv + optind};
    mr_app app = {
        .name = "inverted index",
        .map = ii_map,
        .combine = ii_combine,
        .reduce = ii_reduce,
        .arg = &ia,
        .key_padding = WORDS_PAD, /* words_scan's words: see wordcount.c */
    };
    mr_config cfg = {
        .app = &app,
        .files = (const char *const *)(argv + optind),
        .nfiles = argc - optind,
        .jobs = jobs,
        .reducers = reducers ? reducers : jobs,
        .workers = workers,
        .block_size = block,
        .verbose = plan,
    };
    mr_result res;
    mr_run(&cfg, &res);
    FILE *f = kit_out_open(out ? out : "-");
    if (!mr_write_recs(f, res.recs, res.n))
        die_errno("writing %s", out ? out : "standard output");
    kit_out_commit(); /* written and checked: now replace -o's file */
    if (plan)
        mr_print_plan(stderr, &res);
    mr_result_free(&res);
    return 0;
}
