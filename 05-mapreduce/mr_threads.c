/*
 * mr_threads.c - who runs the tasks, part 1: the scheduler both worker
 * kinds share, and the worker THREADS (MR_THREADS, the default).  Every
 * map output stays in memory, handed from the map tasks to the reduce
 * tasks through the job.
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
typedef struct {
    scheduler *s;
    mr_map_worker w; /* written at every word (the combiner's queue) */
    /* The contexts of all threads sit side by side in one array: the gap
     * keeps one thread's fields off the next one's cache line (false
     * sharing would bounce that line between the cores). */
    char pad[CACHE_LINE]; // cppcheck-suppress unusedStructMember
} thread_context;

static void *thread_worker(void *arg)
{
    thread_context *c = arg;
    scheduler *s = c->s;
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
        buf_t *out = NULL, rout = {0};
        if (s->phase == MR_MAP_PHASE) {
            out = xcalloc((size_t)job->R, sizeof *out);
            ok = mr_map_task(job, &c->w, t, a, out);
        } else {
            ok = mr_reduce_task(job, t, a, &rout, &sh, &re);
        }

        xmutex_lock(&job->lock);
        if (ok) { /* accept the output: exactly once per task */
            if (s->phase == MR_MAP_PHASE) {
                memcpy(&job->mapout[(size_t)t * (size_t)job->R], out,
                       (size_t)job->R * sizeof *out);
                job->emitted[t] = c->w.emitted;
            } else {
                job->redout[t] = rout;
                job->shuffle_s += sh;
                job->reduce_s += re;
            }
            mr_sched_done(s);
        } else { /* abandoned: its partial output is dropped */
            if (out)
                for (int r = 0; r < job->R; r++)
                    buf_free(&out[r]);
            buf_free(&rout);
            mr_sched_failed(s, t, "was abandoned");
        }
        xcond_broadcast(&s->cv);
        xmutex_unlock(&job->lock);
        free(out);
    }
    return NULL;
}

void mr_threads_run_phase(mr_job *job, enum mr_phase phase, int ntasks)
{
    scheduler s;
    mr_sched_init(&s, job, phase, ntasks);
    xcond_init(&s.cv);
    int n = job->cfg->jobs < ntasks ? job->cfg->jobs : ntasks;
    pthread_t *th = xmalloc((size_t)(n ? n : 1) * sizeof *th);
    thread_context *cx = xcalloc((size_t)(n ? n : 1), sizeof *cx);
    for (int i = 0; i < n; i++) {
        cx[i].s = &s;
        xpthread_create(&th[i], thread_worker, &cx[i]);
    }
    for (int i = 0; i < n; i++)
        xpthread_join(th[i]);
    for (int i = 0; i < n; i++) { /* all joined: freeing interrupts no one */
        mr_map_worker_free(&cx[i].w);
    }
    free(th);
    free(cx);
    xcond_destroy(&s.cv);
    mr_sched_check(&s);
    mr_sched_free(&s);
}
