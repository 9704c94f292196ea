/*
 * pool.h - a joblib-style parallel map: Parallel(n_jobs)(delayed(f)(x) for x in xs).
 *
 *     long long square(long long x, void *arg) { (void)arg; return x * x; }
 *     pool_error err;
 *     if (pool_map(square, NULL, in, out, n,
 *                  &(pool_cfg){.jobs = 4, .backend = POOL_PROCESSES}, &err) != 0)
 *         die("%s", err.msg);
 *
 * Guarantees (what the tests check):
 *   - out[i] == fn(in[i], arg) for every i: results in INPUT order, whatever
 *     order the workers finish in;
 *   - every task is accounted for: a process worker that exits or crashes
 *     in the middle of a task makes pool_map() fail and name that task; a
 *     result is never silently dropped;
 *   - nothing is left behind: every worker process is reaped, every pipe
 *     closed, even on error or when SIGINT, SIGTERM, SIGHUP or SIGQUIT
 *     arrives during the map (the map runs in a cleanup scope of proc.h:
 *     the workers are killed and reaped, then the signal is re-raised with
 *     its default action, so the caller dies of it as if never caught);
 *   - no endless wait: a worker that stays stopped (SIGSTOP) for 10 s
 *     fails the map, and the message names it and its task.  A slow but
 *     running task is never failed.
 *
 * Backends:
 *   POOL_THREADS    jobs threads share the address space; each takes the
 *                   next task index under a mutex and writes its result.
 *   POOL_PROCESSES  jobs forked workers (like joblib's loky/multiprocessing);
 *                   tasks and results travel over pipes as small fixed-size
 *                   messages, so fn must be a pure function of (x, arg).
 */
#ifndef KIT_POOL_H
#define KIT_POOL_H

#include <stdbool.h>
#include <stddef.h>

enum pool_backend { POOL_THREADS, POOL_PROCESSES };

/* The function mapped over the inputs ("delayed(f)"). */
typedef long long pool_fn(long long x, void *arg);

typedef struct {
    int jobs;                  /* workers, >= 1; pool_jobs(-1) = all CPUs */
    enum pool_backend backend; /* threads or forked processes */
    bool verbose;              /* joblib-style progress lines on stderr */
} pool_cfg;

typedef struct {
    long task;     /* index of the failed task; -1 if none is to blame */
    char msg[256]; /* one line naming the task: "task 3 (input 12): ..." */
} pool_error;

/* joblib's n_jobs: -1 means every online CPU (kit_ncpus), n >= 1 means n. */
int pool_jobs(int n_jobs);

/*
 * Map fn over in[0..n-1] into out[0..n-1] with cfg->jobs workers (capped at
 * n; n == 0 does nothing).  Returns 0, or -1 with *err filled in; on error
 * the contents of out are unspecified.
 */
int pool_map(pool_fn *fn, void *arg, const long long *in, long long *out,
             size_t n, const pool_cfg *cfg, pool_error *err);

const char *pool_backend_name(enum pool_backend b);

#endif
