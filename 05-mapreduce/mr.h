/*
 * mr.h - a small MapReduce runtime (the MapReduce paper, Phoenix style).
 *
 * The runtime knows nothing about words.  An application gives it three
 * callbacks and a list of input files; the runtime does the rest:
 *
 *   split    cut every file into blocks of `block_size` bytes, like HDFS;
 *            each boundary moves forward to just after the next separator
 *            byte (words_cut), so no record is ever cut in two
 *   map      one task per split: app->map() reads the split's bytes and
 *            calls mr_emit(key, value) for every pair; an in-mapper combiner
 *            (a hash table) folds equal keys with app->combine(), in
 *            emission order (a few pairs late: the fast combiner prefetches in batches)
 *   shuffle  each combined pair goes to reduce partition
 *            mr_partition(mr_hash(key), R)
 *   reduce   one task per partition: group the values of each key (in
 *            map-task order; folded into one if app->combine_across_tasks),
 *            call app->reduce() once per distinct key, sort the distinct
 *            keys bytewise
 *   merge    the R sorted runs are merged into one sorted result
 *
 * Keys are byte strings; values are 64-bit integers (a count, a file
 * number, an index into an application table).  Fixed-size values keep the
 * combiner table flat and the intermediate files trivial to read.
 *
 * Two worker kinds run the same tasks:
 *   MR_THREADS    J threads; map outputs stay in memory
 *   MR_PROCESSES  J forked workers; the coordinator hands out tasks over
 *                 pipes; map task m writes partition r to the file
 *                 mr-<m>-<r> in a private mkdtemp directory (written under a
 *                 temporary name, then renamed, so a reader never sees half
 *                 a file); reduce task r writes mr-out-<r> the same way.
 *                 The directory is removed at exit and on SIGINT/SIGTERM;
 *                 no worker outlives the job.
 *
 * Faults (MIT 6.824's crash test): with crash_rate P each task attempt dies
 * with probability P at a random point inside the task -- a worker process
 * really dies (_exit or SIGKILL to itself), a thread abandons the attempt.
 * The coordinator re-runs the task (on a fresh process), at most
 * MR_MAX_ATTEMPTS times; a task's output is only ever accepted once, so the
 * result is byte-identical to a fault-free run.
 *
 * Errors (unreadable input, a file changing size, a task failing every
 * attempt) print a message naming the cause and exit 1, after cleaning up.
 */
#ifndef LAB05_MR_H
#define LAB05_MR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mr_combiner.h"
#include "mr_split.h"

/* A task that fails this many attempts fails the job (Hadoop gives up after
 * 4; we allow more so that --crash-rate 0.3 jobs finish: 0.3^8 < 1e-4). */
#define MR_MAX_ATTEMPTS 8
/* More splits than this is a mistake (every one is a task and, with
 * processes, R files). */
#define MR_MAX_SPLITS 65536
/* --explain prints every pair: it refuses inputs larger than this. */
#define MR_EXPLAIN_MAX 4096
/* HDFS's default block size, quoted by --plan. */
#define MR_HDFS_BLOCK (128u << 20)

enum mr_workers { MR_THREADS, MR_PROCESSES };

/* Handed to app->map(); pass it to mr_emit(). */
typedef struct mr_emitter mr_emitter;

/* Emit one intermediate pair.  The key is copied; it may be any bytes. */
void mr_emit(mr_emitter *em, const char *key, size_t klen, uint64_t value);

/* Text an app->reduce() may attach to a key's result (it is printed after
 * the TAB instead of the number): mr_text_add() appends bytes. */
typedef struct mr_text mr_text;
void mr_text_add(mr_text *t, const char *s, size_t n);

typedef struct {
    const char *name; /* "word count": printed by --plan and --explain */
    /* Map part of a split: data[0..len) are some of its bytes.  The
     * runtime reads a split in chunks (pread, so memory does not grow with
     * the input) cut just after a separator byte (words_cut), so every call
     * sees whole records.  Runs in any worker, for every attempt: no
     * unsynchronised shared state. */
    void (*map)(const mr_split *split, const char *data, size_t len,
                mr_emitter *em, void *arg);
    /* The in-mapper combiner: fold a new value of a key into the value
     * already held for it in this map task (word count: a + b). */
    mr_combine_fn combine; /* mr_sum: added in place (mr_combiner.h) */
    /* Reduce one key: vals[0..n) are its values, one per map task that
     * emitted it, in map-task order (with combine_across_tasks: n == 1,
     * those values already folded).  Returns the result value; may also
     * attach text with mr_text_add().  Runs in a worker. */
    uint64_t (*reduce)(const char *key, size_t klen, const uint64_t *vals,
                       size_t n, mr_text *text, void *arg);
    void *arg; /* passed to every callback */
    /* Bytes readable after every key the app passes to mr_emit(), past
     * its end (any values).  At least MR_KEY_PAD lets the runtime load a
     * short key whole, with no branch on its length (words_scan's words
     * have WORDS_PAD); 0 promises nothing.  The result is the same. */
    size_t key_padding;
    /* True if combine() may also fold values of DIFFERENT map tasks, and
     * reduce() gives the same result for their fold as for the list (a
     * sum of one sum): Hadoop's rule for a combiner.  Word count's a + b
     * meets it; invindex's "keep the held file number" does not (it holds
     * only inside one file's split).  The reducers then fold each map
     * output into their key groups as it arrives, in map-task order, so
     * memory holds one value per distinct key, not one per key and map
     * task.  --explain still lists every map task's value. */
    bool combine_across_tasks;
} mr_app;

typedef struct {
    const mr_app *app;
    const char *const *files; /* "-" is standard input (read once, spooled) */
    int nfiles;
    int jobs;     /* workers, >= 1 */
    int reducers; /* R, >= 1 */
    enum mr_workers workers;
    uint64_t block_size; /* 0: the default (see mr_default_block) */
    double crash_rate;   /* 0..1: probability that an attempt dies */
    uint64_t seed;       /* for the crash decisions */
    bool explain;        /* print every phase's data to stdout */
    bool progress;       /* progress bar on stderr (TTY only) */
    bool verbose;        /* say on stderr when an attempt fails */
} mr_config;

/* One key of the final result. */
typedef struct {
    const char *key; /* not NUL-terminated */
    uint32_t klen;
    uint32_t tlen; /* 0: print the value; else print text */
    const char *text;
    uint64_t value;
} mr_rec;

typedef struct {
    mr_rec *recs; /* n records sorted by key (bytewise) */
    size_t n;
    /* what the job did, for --plan and --stats */
    uint64_t bytes;   /* input bytes */
    uint64_t emitted; /* pairs emitted by map() (words, for word count) */
    int map_tasks, reduce_tasks, jobs;
    uint64_t block_size;
    enum mr_workers workers;
    long failed_attempts;
    double t_split, t_map, t_shuffle, t_reduce, t_merge, t_total;
    /* private: the buffers recs point into */
    void *priv_bufs;
    int priv_nbufs;
} mr_result;

/* Run the job; dies (exit 1, after cleanup) on any error. */
void mr_run(const mr_config *cfg, mr_result *res);
void mr_result_free(mr_result *res);

/* Print "key<TAB>value-or-text\n" for recs[0..n); false on a write error. */
bool mr_write_recs(FILE *out, const mr_rec *recs, size_t n);

/* Write the result to path, or to stdout if path is NULL; dies (exit 1) on
 * any error.  Through common/files.h's kit_out_open: a regular file is
 * written under a temporary name beside it and renamed at the end (a reader
 * never sees half of it, an error leaves the old file), a device or FIFO is
 * written through. */
void mr_write_result(const char *path, const mr_rec *recs, size_t n);

/* Print the plan and the per-phase timings (for --plan), to f. */
void mr_print_plan(FILE *f, const mr_result *res);

/* --- the building blocks, exported for tests --- */

/* The hash of a key (64 bits, the same in every worker). */
uint64_t mr_hash(const void *key, size_t len);
/* Exercise 05.1: which of the nreduce partitions a key with this hash goes
 * to.  Must be in 0..nreduce-1, always the same for the same hash, and
 * spread keys evenly. */
unsigned mr_partition(uint64_t hash, unsigned nreduce);

#endif
