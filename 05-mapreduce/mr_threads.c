/*
 * mr_threads.c - who runs the tasks, part 1: the scheduler both worker
 * kinds share, and the worker THREADS (MR_THREADS, the default).  The map
 * outputs stay in memory: as each map task finishes, its pairs go from the
 * worker's combiner into the reducers' key groups (mr_groups, in
 * mr_reduce.c), so memory holds each partition's keys once, not once per
 * map task.  They go in map-task order: a task that finishes before an
 * earlier one leaves its pairs in a buffer (job->mapout) until then.
 *
 * Before: mr_job.c, which runs each phase here or in mr_procs.c (worker
 * processes).  The tasks themselves: mr_map.c, mr_reduce.c.
 */
#include "mr_internal.h"

#include "term.h"
#include "xpthread.h"

const char *mr_phase_name(enum mr_phase phase)
{
    return phase == MR_REDUCE_PHASE ? "reduce" : "map";
}

void mr_sched_init(scheduler *s, mr_job *job, enum mr_phase phase, int ntasks)
{
    *s = (scheduler){
        .job = job, .phase = phase, .ntasks = ntasks, .failed_task = -1};
    s->queue = xmalloc((size_t)ntasks * sizeof *s->queue);
    s->attempts = xcalloc((size_t)ntasks, sizeof *s->attempts);
    for (int i = 0; i < ntasks; i++)
        s->queue[i] = i;
    s->qlen = ntasks;
}

int mr_sched_pop(scheduler *s)
{
    int t = s->queue[s->qhead];
    s->qhead = (s->qhead + 1) % s->ntasks;
    s->qlen--;
    return t;
}

/* Record a failed attempt of task t; re-queue it or give up. */
void mr_sched_failed(scheduler *s, int t, const char *how)
{
    s->job->failed++;
    if (s->job->cfg->verbose)
        warn_msg("%s task %d, attempt %d %s; %s", mr_phase_name(s->phase), t,
                 s->attempts[t], how,
                 s->attempts[t] < MR_MAX_ATTEMPTS ? "re-running it"
                                                  : "giving up");
    if (s->attempts[t] >= MR_MAX_ATTEMPTS) {
        s->failed_task = t;
        return;
    }
    s->queue[(s->qhead + s->qlen) % s->ntasks] = t;
    s->qlen++;
}

void mr_sched_done(scheduler *s)
{
    s->done++;
    if (s->job->cfg->progress)
        kit_progress(mr_phase_name(s->phase), s->done, s->ntasks);
}

void mr_sched_check(const scheduler *s)
{
    if (s->failed_task >= 0)
        die("%s task %d failed %d attempts in a row (--crash-rate %g); giving "
            "up",
            mr_phase_name(s->phase), s->failed_task, MR_MAX_ATTEMPTS,
            s->job->cfg->crash_rate);
}

void mr_sched_free(scheduler *s)
{
    free(s->queue);
    free(s->attempts);
}

/* --- threads -------------------------------------------------------- */
/* A phase run by threads: the scheduler, and (map phase) which outputs
 * have gone into the key groups.  They go in map-task order, whatever
 * order the tasks finish in -- reduce() sees a key's values in map-task
 * order -- so a finished output may wait for an earlier one.  Guarded by
 * job->lock. */
typedef struct {
    scheduler s;
    bool *accepted; /* map task m accepted: its pairs in the key groups, or
                       waiting in job->mapout[m * R ..] */
    int grouped;    /* tasks 0..grouped-1 are in the key groups */
    /* A thread is adding to the key groups.  A flag, not a second mutex:
     * the others do not wait for it, they leave the work to it.  The rule
     * that keeps an output from waiting forever: whoever clears the flag
     * has just looked, under job->lock, for the next accepted output. */
    bool grouping;
} threads_phase;

typedef struct {
    threads_phase *ph;
    mr_map_worker w; /* written at every word (the combiner's queue) */
    /* The contexts of all threads sit side by side in one array: the gap
     * keeps one thread's fields off the next one's cache line (false
     * sharing would bounce that line between the cores). */
    char pad[CACHE_LINE]; // cppcheck-suppress unusedStructMember
} thread_context;

/* Called with job->lock held, after a map task was accepted: add every
 * waiting output (job->mapout) that is now next in map-task order to the
 * key groups, and free it.  One thread at a time does it, outside the
 * lock; the others go on mapping (each output is added exactly once:
 * `grouped` only grows). */
static void group_waiting_outputs(threads_phase *ph)
{
    mr_job *job = ph->s.job;
    if (ph->grouping)
        return;
    ph->grouping = true;
    while (ph->grouped < ph->s.ntasks && ph->accepted[ph->grouped]) {
        buf_t *out = &job->mapout[(size_t)ph->grouped * (size_t)job->R];
        xmutex_unlock(&job->lock);
        for (int r = 0; r < job->R; r++) {
            mr_groups_add_run(job->groups[r], &out[r]);
            if (!job->cfg->explain)
                buf_free(&out[r]);
        }
        xmutex_lock(&job->lock);
        ph->grouped++;
    }
    ph->grouping = false;
}

/* Called with job->lock held; drops it while it works and returns with it
 * held.  Map task t's pairs are in the worker's combiner c.  If t is next
 * in map-task order, they go straight into the key groups, with no output
 * buffer in between (the common case).  Otherwise they are partitioned
 * into t's slot of job->mapout, to wait for the tasks before t; the slot
 * is written without the lock, since it is this thread's until accepted[t]
 * is set (--explain keeps every output there, to print it).  Either way,
 * the waiting outputs that are next then go into the key groups too. */
static void accept_map_output(threads_phase *ph, int t, const mr_combiner *c)
{
    mr_job *job = ph->s.job;
    /* If t is next, no thread is grouping: while one is, `grouped` is the
     * task it is adding, and that is not t. */
    bool direct = ph->grouped == t && !job->cfg->explain;
    if (direct)
        ph->grouping = true;
    xmutex_unlock(&job->lock);
    if (direct)
        mr_map_group(c, (unsigned)job->R, job->groups);
    else
        mr_map_partition(c, (unsigned)job->R,
                         &job->mapout[(size_t)t * (size_t)job->R]);
    xmutex_lock(&job->lock);
    ph->accepted[t] = true;
    if (direct) {
        ph->grouped++;
        ph->grouping = false;
    }
    group_waiting_outputs(ph);
}

static void *thread_worker(void *arg)
{
    thread_context *c = arg;
    threads_phase *ph = c->ph;
    scheduler *s = &ph->s;
    mr_job *job = s->job;
    for (;;) {
        xmutex_lock(&job->lock);
        while (s->failed_task < 0 && s->done < s->ntasks && s->qlen == 0)
            xcond_wait(&s->cv, &job->lock);
        if (s->failed_task >= 0 || s->done == s->ntasks) {
            xmutex_unlock(&job->lock);
            break;
        }
        int t = mr_sched_pop(s);
        int a = s->attempts[t]++;
        xmutex_unlock(&job->lock);

        bool ok;
        double sh = 0, re = 0;
        buf_t rout = {0};
        if (s->phase == MR_MAP_PHASE) /* its pairs stay in the combiner */
            ok = mr_map_task(job, &c->w, t, a, NULL);
        else
            ok = mr_reduce_task(job, t, a, &rout, &sh, &re);

        xmutex_lock(&job->lock);
        if (ok) { /* accept the output: exactly once per task */
            if (s->phase == MR_MAP_PHASE) {
                job->emitted[t] = c->w.emitted;
                accept_map_output(ph, t, c->w.combiner);
            } else {
                job->redout[t] = rout;
                job->shuffle_s += sh;
                job->reduce_s += re;
            }
            mr_sched_done(s);
        } else { /* abandoned: its partial output is dropped */
            buf_free(&rout);
            mr_sched_failed(s, t, "was abandoned");
        }
        xcond_broadcast(&s->cv);
        xmutex_unlock(&job->lock);
    }
    /* No map task left for this worker: its combiner can go now rather
     * than after the join, while the last tasks' outputs are grouped. */
    mr_map_worker_free(&c->w);
    c->w = (mr_map_worker){0};
    return NULL;
}

void mr_threads_run_phase(mr_job *job, enum mr_phase phase, int ntasks)
{
    if (!job->groups) { /* the reducers' key groups, filled by the map phase */
        job->groups = xcalloc((size_t)job->R, sizeof *job->groups);
        for (int r = 0; r < job->R; r++)
            job->groups[r] = mr_groups_new(job->cfg->app);
    }
    threads_phase ph = {.accepted = xcalloc((size_t)(ntasks ? ntasks : 1),
                                            sizeof *ph.accepted)};
    scheduler *s = &ph.s;
    mr_sched_init(s, job, phase, ntasks);
    xcond_init(&s->cv);
    int n = job->cfg->jobs < ntasks ? job->cfg->jobs : ntasks;
    pthread_t *th = xmalloc((size_t)(n ? n : 1) * sizeof *th);
    thread_context *cx = xcalloc((size_t)(n ? n : 1), sizeof *cx);
    for (int i = 0; i < n; i++) {
        cx[i].ph = &ph;
        xpthread_create(&th[i], thread_worker, &cx[i]);
    }
    for (int i = 0; i < n; i++)
        xpthread_join(th[i]);
    free(th);
    free(cx);
    free(ph.accepted);
    xcond_destroy(&s->cv);
    mr_sched_check(s);
    mr_sched_free(s);
    if (phase == MR_REDUCE_PHASE) { /* reduced: the groups are done with */
        for (int r = 0; r < job->R; r++)
            mr_groups_free(job->groups[r]);
        free(job->groups);
        job->groups = NULL;
    }
}
