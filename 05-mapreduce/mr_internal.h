/*
 * mr_internal.h - what the rooms of the MapReduce runtime share, and
 * nothing an application sees (that is mr.h).
 *
 * The rooms, in the order of the lecture's slide (input -> splitting ->
 * mapping -> shuffling -> reducing -> final result):
 *   mr_job.c        mr_run: the table of contents, one call per phase
 *   mr_split.c      splitting: HDFS-like blocks cut at a separator
 *   mr_map.c        mapping: a map task (read, map, combine, partition)
 *   mr_partition.c  the shuffle's address: hash and partition (ex. 05.1)
 *   mr_combiner.c   the in-mapper combiner (mr_combiner_simple.c: its twin)
 *   mr_reduce.c     reducing: group a partition by key, reduce, sort
 *   mr_merge.c      final result: merge the sorted runs, write them
 *   mr_threads.c    the scheduler, and worker threads
 *   mr_procs.c      worker processes: the coordinator and its task pipes
 *   mr_files.c      the job's temporary files, and cleaning them up
 *   mr_fault.c      fault injection (--crash-rate)
 *   mr_explain.c    --explain and --plan: the phases, printed
 */
#ifndef LAB05_MR_INTERNAL_H
#define LAB05_MR_INTERNAL_H

#include "mr.h"

#include "err.h"
#include "xpthread.h" /* xmalloc and friends */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Bytes a map task reads per pread: 256 KiB stay in the L2 cache next to
 * the combiner table. */
#define CHUNK (1u << 18)
#define PATHLEN 4096
#define MAX_WORKERS 256 /* the CLI's --jobs limit */
#define CRASH_EXIT 42   /* a worker "dying" with _exit */
#define CACHE_LINE 64
#define MR_IO_MSG 512 /* bytes of an I/O error's description */
/* A worker seen stopped (SIGSTOP) this many seconds is killed and its task
 * re-run: the liveness rule of 02-threads/pool.c. */
#define MR_STOPPED_LIMIT 10

/* The two phases that run tasks; the values seed the crash decisions. */
enum mr_phase { MR_MAP_PHASE = 0, MR_REDUCE_PHASE = 1 };

/* ---------------------------------------------------------------------
 * Growable byte buffers and the record formats inside them.
 *   map output (one per map task and partition): u32 klen, u64 value, key
 *   reduce output (one per partition, sorted):    u32 klen, u32 tlen,
 *                                                u64 value, key, text
 * ------------------------------------------------------------------- */
typedef struct {
    char *p;
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated; len <= cap */
} buf_t;

static inline void buf_reserve(buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

/* Room for exactly `more` bytes more: for a buffer whose final size is
 * known (rounding it up to a power of two would leave up to half of it
 * allocated and unused). */
static inline void buf_reserve_exact(buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    b->p = xrealloc(b->p, b->len + more);
    b->cap = b->len + more;
}

static inline void buf_put(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static inline void buf_free(buf_t *b)
{
    free(b->p);
    *b = (buf_t){0};
}

static inline void pair_put(buf_t *b, const char *key, uint32_t klen,
                            uint64_t v)
{
    buf_reserve(b, 12 + (size_t)klen);
    memcpy(b->p + b->len, &klen, 4);
    memcpy(b->p + b->len + 4, &v, 8);
    if (klen)
        memcpy(b->p + b->len + 12, key, klen);
    b->len += 12 + (size_t)klen;
}

/* Read the pair at *off in b; false at the end.  Dies on a torn record
 * (it cannot happen with rename-published files; it is a check). */
static inline bool pair_next(const buf_t *b, size_t *off, const char **key,
                             uint32_t *klen, uint64_t *v)
{
    if (*off >= b->len)
        return false;
    if (b->len - *off < 12)
        die("corrupt intermediate data (a truncated record)");
    memcpy(klen, b->p + *off, 4);
    memcpy(v, b->p + *off + 4, 8);
    if (b->len - *off - 12 < *klen)
        die("corrupt intermediate data (a truncated key)");
    *key = b->p + *off + 12;
    *off += 12 + (size_t)*klen;
    return true;
}

struct mr_text {
    buf_t b;
};

/* ---------------------------------------------------------------------
 * The job: everything the coordinator and every worker share (workers are
 * forked after it is filled in, so they have a copy).
 * ------------------------------------------------------------------- */
typedef struct {
    const mr_config *cfg;
    int nfiles;
    int *fds;           /* open input files */
    uint64_t *sizes;    /* their sizes when the job started */
    const char **names; /* for messages ("standard input" for "-") */
    mr_split *splits;   /* M splits */
    int M, R;
    uint64_t block, total;
    /* threads mode: map outputs in memory, mapout[m * R + r], each freed
     * once added to groups[r], reduce partition r's key groups (--explain
     * keeps them: it prints them) */
    buf_t *mapout;
    struct mr_groups **groups;
    buf_t *redout;     /* R reduce outputs (both modes, after reading) */
    buf_t *trace;      /* --explain: M buffers of emitted pairs */
    uint64_t *emitted; /* per map task, from its accepted attempt */
    double shuffle_s, reduce_s; /* CPU-ish seconds inside reduce tasks */
    long failed;                /* failed attempts */
    pthread_mutex_t lock;       /* threads mode: guards the scheduler state */
} mr_job;

/* What app->map() emits into (mr_map.c sets it up for each attempt). */
struct mr_emitter {
    struct mr_combiner *combiner; /* the task's in-mapper combiner */
    uint64_t emitted;             /* pairs emitted in this attempt */
    buf_t *trace; /* --explain: every pair as emitted, before combining */
    bool padded;  /* the app promised MR_KEY_PAD bytes after every key */
};

/* What mr_emit() does before the combiner: check, count, trace.  mr_emit()
 * itself is defined next to each combiner (mr_combiner.c,
 * mr_combiner_simple.c), so that the fold is inlined into it: a call per
 * word costs ~10% of the map phase. */
static inline void emit_record(mr_emitter *em, const char *key, size_t klen,
                               uint64_t value)
{
    if (klen >= UINT32_MAX)
        die("a key of %zu bytes is too long", klen);
    em->emitted++;
    if (em->trace)
        pair_put(em->trace, key, (uint32_t)klen, value);
}

/* What a worker keeps from one map task to the next (allocated once). */
typedef struct {
    mr_combiner *combiner; /* NULL until the worker's first map task */
    uint64_t emitted;      /* pairs emitted by its last map attempt */
    buf_t chunk;           /* pread buffer, grows only for a record > CHUNK */
} mr_map_worker;

/* splitting (mr_split.c) */
void mr_job_open_inputs(mr_job *job);
void mr_job_check_sizes(const mr_job *job);
void mr_job_close_inputs(mr_job *job);
/* n bytes of input file `file` at offset off into p; dies on a short read
 * (the file shrank) or an error, naming the file (names may be NULL). */
void mr_read_at(int fd, const char *name, uint64_t size, char *p, size_t n,
                uint64_t off);

/* mapping (mr_map.c) and reducing (mr_reduce.c): one attempt of a task.
 * False if the attempt was abandoned (a crash in threads mode). */
bool mr_map_task(mr_job *job, mr_map_worker *w, int m, int attempt, buf_t *out);
void mr_map_worker_free(mr_map_worker *w);
bool mr_reduce_task(mr_job *job, int r, int attempt, buf_t *out,
                    double *shuffle_s, double *reduce_s);
/* A reduce partition's key groups (mr_reduce.c): each distinct key once,
 * with its values in the order the runs (map outputs) were added -- or,
 * if app->combine_across_tasks, those values folded into one. */
typedef struct mr_groups mr_groups;
mr_groups *mr_groups_new(const mr_app *app);
/* Add one map output's pairs of this partition (in the format above). */
void mr_groups_add_run(mr_groups *g, const buf_t *run);
/* The same, a pair at a time: reserve room for a run of `pairs` pairs,
 * then add each (h = mr_hash(key, klen)), in the combiner's order. */
void mr_groups_reserve(mr_groups *g, size_t pairs);
void mr_groups_add(mr_groups *g, uint64_t h, const char *key, uint32_t klen,
                   uint64_t v);
/* Call app->reduce() once per key, in the order the keys came, and sort
 * them: out receives the sorted reduce output (format above).  g is only
 * read. */
void mr_groups_reduce(const mr_groups *g, buf_t *out);
size_t mr_groups_keys(const mr_groups *g); /* distinct keys */
void mr_groups_free(mr_groups *g);
/* The shuffle's send, from a map task's combiner: into out[0..R), one map
 * output per partition; or straight into the reducers' key groups[0..R). */
void mr_map_partition(const mr_combiner *c, unsigned R, buf_t *out);
void mr_map_group(const mr_combiner *c, unsigned R, mr_groups **groups);

/* merging (mr_merge.c) */
void mr_merge_runs(const buf_t *runs, int R, mr_result *res);

/* workers (mr_threads.c, mr_procs.c) share one scheduler: a queue of
 * pending tasks; a failed attempt puts its task back until it has failed
 * MR_MAX_ATTEMPTS times. */
typedef struct {
    mr_job *job;
    enum mr_phase phase;
    int ntasks;
    int *queue; /* pending tasks: queue[qhead .. qhead+qlen) mod ntasks */
    int qhead, qlen;
    int *attempts;     /* attempts started per task */
    int done;          /* tasks whose output was accepted */
    int failed_task;   /* >= 0: gave up on this task */
    pthread_cond_t cv; /* threads: task queued, task done or job failed */
} scheduler;
void mr_sched_init(scheduler *s, mr_job *job, enum mr_phase phase, int ntasks);
int mr_sched_pop(scheduler *s);
void mr_sched_failed(scheduler *s, int t, const char *how);
void mr_sched_done(scheduler *s);
void mr_sched_check(const scheduler *s);
void mr_sched_free(scheduler *s);
void mr_threads_run_phase(mr_job *job, enum mr_phase phase, int ntasks);
typedef struct mr_procs mr_procs;
mr_procs *mr_procs_start(mr_job *job);
void mr_procs_run_phase(mr_procs *ps, enum mr_phase phase, int ntasks);
void mr_procs_stop(mr_procs *ps);
const char *mr_phase_name(enum mr_phase phase);

/* the job's files (mr_files.c); their cleanup is common/proc.h's, in the
 * cleanup scope mr_run opens */
void mr_make_tmpdir(void);   /* kit_mkdtemp: recorded for the cleanup */
void mr_remove_tmpdir(void); /* and what is in it (kit_remove_dir) */
const char *mr_job_tmpdir(void);
void mr_inter_name(char *dst, int m, int r, const char *sfx);
void mr_publish(const buf_t *b, const char *tmp, const char *final);
void mr_slurp(const char *path, buf_t *b);
/* An I/O error in a task (errno set): a worker process sends the cause to
 * the coordinator and ends (mr_procs.c), anyone else dies with it. */
void mr_io_report_to(int fd);
noreturn void mr_io_failed(const char *fmt, ...) KIT_PRINTF(1, 2);
noreturn void mr_worker_send_error(int fd, const char *what, int err);

/* fault injection (mr_fault.c) */
typedef struct {
    bool dies;
    double where;   /* 0..1: how far into the task */
    bool by_signal; /* processes: SIGKILL rather than _exit */
} crash_t;
crash_t mr_crash_plan(const mr_job *job, enum mr_phase phase, int task,
                      int attempt);
bool mr_crash_now(const mr_job *job, const crash_t *c);

/* --explain (mr_explain.c) */
void mr_explain_map(const mr_job *job);
void mr_explain_reduce(const mr_job *job);

#endif
