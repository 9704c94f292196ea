/*
 * mr_job.c - mr_run: one MapReduce job, phase by phase, in the order of
 * the lecture's slide ("The Overall MapReduce Word Count Process"):
 *
 *   input -> 1 splitting -> 2 mapping (+ combining) -> 3 shuffling
 *         -> 4 reducing -> 5 final result
 *
 * This file is the table of contents: each phase is one call into the
 * file that holds it alone.  Read it top to bottom, then follow a phase:
 *   splitting   mr_split.c         mapping     mr_map.c (mr_combiner*.c)
 *   shuffling   mr_partition.c     reducing    mr_reduce.c
 *   result      mr_merge.c         workers     mr_threads.c, mr_procs.c
 *   faults      mr_fault.c         --explain   mr_explain.c
 */
#include "mr_internal.h"
#include "mr_split.h"

#include "proc.h"
#include "timing.h"
#include "words.h"
#include "xpthread.h"

/* Phases 2 to 4 run their tasks on the workers the user chose: threads
 * share the map outputs in memory, processes pass them in files. */
static void run_phase(mr_job *job, mr_procs *procs, enum mr_phase phase,
                      int ntasks)
{
    if (procs)
        mr_procs_run_phase(procs, phase, ntasks);
    else
        mr_threads_run_phase(job, phase, ntasks);
}

/* Threads keep each reduce output in job->redout already; processes left
 * it in the file mr-out-<r>: read them, then the directory can go. */
static void collect_reduce_outputs(mr_job *job)
{
    for (int r = 0; r < job->R; r++) {
        char path[PATHLEN];
        mr_inter_name(path, -1, r, "");
        mr_slurp(path, &job->redout[r]);
    }
    mr_remove_tmpdir();
}

static void fill_result(const mr_job *job, mr_result *res, const double t[6]);
static void job_free(mr_job *job);

void mr_run(const mr_config *cfg, mr_result *res)
{
    memset(res, 0, sizeof *res);
    words_init();             /* before any thread scans */
    kit_cleanup_scope_open(); /* workers and temp files go with us */
    double t[6];              /* when each phase ended; t[0]: the start */
    t[0] = kit_now();
    mr_job job = {.cfg = cfg, .R = cfg->reducers};
    xmutex_init(&job.lock);

    /* 1. SPLITTING: the inputs, cut into blocks at a separator */
    mr_job_open_inputs(&job);
    if (cfg->explain && job.total > MR_EXPLAIN_MAX)
        usage_error("--explain prints every pair, so it is for small inputs "
                    "(at most %d bytes; this one has %llu): try --plan",
                    MR_EXPLAIN_MAX, (unsigned long long)job.total);
    job.block = cfg->block_size ? cfg->block_size
                                : mr_default_block(job.total, cfg->jobs);
    if (cfg->explain && !cfg->block_size) /* three splits, as on the slide */
        job.block = job.total > 3 ? (job.total + 2) / 3 : 1;
    job.splits = mr_split_plan(job.nfiles, job.fds, job.sizes, job.names,
                               job.block, cfg->jobs, &job.M);
    t[1] = kit_now();

    /* 2. MAPPING: one map task per split, combined and partitioned */
    size_t M = (size_t)(job.M ? job.M : 1);
    job.emitted = xcalloc(M, sizeof *job.emitted);
    job.redout = xcalloc((size_t)job.R, sizeof *job.redout);
    if (cfg->explain)
        job.trace = xcalloc(M, sizeof *job.trace);
    mr_procs *procs = NULL;
    if (cfg->workers == MR_PROCESSES)
        procs = mr_procs_start(&job);
    else
        job.mapout = xcalloc(M * (size_t)job.R, sizeof *job.mapout);
    run_phase(&job, procs, MR_MAP_PHASE, job.M);
    mr_job_check_sizes(&job); /* an input that changed makes the answer wrong */
    t[2] = kit_now();
    if (cfg->explain)
        mr_explain_map(&job);

    /* 3. SHUFFLING and 4. REDUCING: reduce task r fetches partition r of
     * every map output, groups it by key, reduces, sorts */
    run_phase(&job, procs, MR_REDUCE_PHASE, job.R);
    if (procs) {
        mr_procs_stop(procs);
        collect_reduce_outputs(&job);
    }
    t[3] = kit_now();
    if (cfg->explain)
        mr_explain_reduce(&job);

    /* 5. FINAL RESULT: the R sorted runs merged into one */
    mr_merge_runs(job.redout, job.R, res);
    t[4] = kit_now();

    fill_result(&job, res, t);
    job_free(&job);
}

/* What the job did, for --plan and --stats. */
static void fill_result(const mr_job *job, mr_result *res, const double t[6])
{
    for (int m = 0; m < job->M; m++)
        res->emitted += job->emitted[m];
    res->bytes = job->total;
    res->map_tasks = job->M;
    res->reduce_tasks = job->R;
    res->jobs = job->cfg->jobs;
    res->block_size = job->block;
    res->workers = job->cfg->workers;
    res->failed_attempts = job->failed;
    res->t_split = t[1] - t[0];
    res->t_map = t[2] - t[1];
    /* Each reduce task first fetches and groups its partition (the
     * shuffle), then reduces: split the phase's wall time in that ratio. */
    double busy = job->shuffle_s + job->reduce_s, wall = t[3] - t[2];
    double share = busy > 0 ? job->shuffle_s / busy : 0.5;
    res->t_shuffle = wall * share;
    res->t_reduce = wall - res->t_shuffle;
    res->t_merge = t[4] - t[3];
    res->t_total = t[4] - t[0];
    res->priv_bufs = job->redout; /* the result's records point into them */
    res->priv_nbufs = job->R;
}

static void job_free(mr_job *job)
{
    if (job->mapout)
        for (size_t i = 0; i < (size_t)job->M * (size_t)job->R; i++)
            buf_free(&job->mapout[i]);
    free(job->mapout);
    if (job->trace)
        for (int m = 0; m < job->M; m++)
            buf_free(&job->trace[m]);
    free(job->trace);
    mr_job_close_inputs(job);
    mr_remove_tmpdir(); /* the stdin spool, if any */
    free(job->splits);
    free(job->emitted);
    xmutex_destroy(&job->lock);
    kit_cleanup_scope_close();
}

void mr_result_free(mr_result *res)
{
    buf_t *b = res->priv_bufs;
    for (int r = 0; r < res->priv_nbufs; r++)
        buf_free(&b[r]);
    free(b);
    free(res->recs);
    memset(res, 0, sizeof *res);
}
