/*
 * mr_fault.c - fault injection (MIT 6.824's crash test): with --crash-rate
 * P each task attempt dies with probability P at a random point inside the
 * task -- a worker process really dies (_exit or SIGKILL to itself), a
 * worker thread abandons the attempt.  The scheduler (mr_threads.c,
 * mr_procs.c) re-runs it, and accepts a task's output only once.
 *
 * Whether attempt `a` of a task dies, and where, depends only on (seed,
 * phase, task, attempt): thread and process runs with the same seed fail
 * the same attempts.
 *
 * Called from: mr_map.c and mr_reduce.c, at their crash points.
 */
#include "mr_internal.h"

#include <signal.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

crash_t mr_crash_plan(const mr_job *job, enum mr_phase phase, int task,
                      int attempt)
{
    crash_t c = {false, 0, false};
    if (job->cfg->crash_rate <= 0)
        return c;
    uint64_t x = splitmix(job->cfg->seed ^
                          splitmix(((uint64_t)phase << 56) ^
                                   ((uint64_t)task << 20) ^ (uint64_t)attempt));
    double u1 = (double)(x >> 11) / 9007199254740992.0;
    x = splitmix(x);
    c.dies = u1 < job->cfg->crash_rate;
    c.where = (double)(x >> 11) / 9007199254740992.0;
    c.by_signal = (x & 1) != 0;
    return c;
}

/* Die here.  Returns (false) only for threads: the caller abandons the
 * attempt and drops everything it produced. */
bool mr_crash_now(const mr_job *job, const crash_t *c)
{
    if (job->cfg->workers == MR_PROCESSES) {
        if (c->by_signal)
            raise(SIGKILL);
        _exit(CRASH_EXIT);
    }
    return false;
}
