/*
 * mr_procs.c - who runs the tasks, part 2: worker PROCESSES
 * (--workers processes), as Hadoop runs them.  The coordinator forks -j
 * workers and hands out tasks over pipes; a map task publishes partition r
 * as the file mr-<m>-<r>, a reduce task its sorted run as mr-out-<r>
 * (mr_files.c).  Three ways a task attempt can end badly:
 *
 *   the worker dies (EOF on its result pipe): the coordinator reaps it,
 *       starts a fresh one in its place and queues the task again
 *       (re-execution: that is what --crash-rate exercises);
 *   the worker is stopped (SIGSTOP, a debugger) and makes no progress for
 *       MR_STOPPED_LIMIT seconds: the coordinator kills it, and the task is
 *       re-run as if it had died (the liveness rule of 02-threads/pool.c:
 *       only time seen stopped counts, so Ctrl-Z and fg of the whole job
 *       costs nothing, and a slow but running task is never failed);
 *   the task reports an I/O error (a full TMPDIR): not a crash -- running
 *       it again would fail the same way -- so the job fails at once, in
 *       one line naming the cause.
 *
 * Children are forked and reaped through common/proc.h (kit_fork,
 * kit_wait_child) inside mr_run's cleanup scope: no worker outlives the job.
 *
 * Before: mr_threads.c (the scheduler used here too).  The tasks:
 * mr_map.c, mr_reduce.c.  Their files: mr_files.c.
 */
#include "mr_internal.h"

#include "proc.h"
#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int32_t phase, task, attempt;
} task_msg;

typedef struct {
    int32_t task, ok; /* ok == 0: an I/O error; err and msg follow */
    int32_t err;      /* its errno */
    uint64_t emitted;
    double shuffle_s, reduce_s;
} done_msg;

typedef struct {
    done_msg d;
    char msg[MR_IO_MSG]; /* "write /tmp/wordcount.x/mr-3-1.tmp" */
} error_msg;

typedef struct {
    pid_t pid;
    int to;               /* task pipe, write end (coordinator -> worker) */
    int from;             /* result pipe, read end (worker -> coordinator) */
    int task;             /* running task, -1 if idle */
    double stopped_since; /* kit_now() when seen stopped, or 0 */
    bool ended;           /* reaped by watch_workers; its status below */
    int status;
} pworker;

struct mr_procs {
    mr_job *job;
    int nw; /* workers */
    pworker ws[MAX_WORKERS];
};

/* A worker whose task failed with an I/O error says so, then ends. */
noreturn void mr_worker_send_error(int fd, const char *what, int err)
{
    error_msg m;
    memset(&m, 0, sizeof m);
    m.d.task = -1; /* the coordinator knows which task it gave us */
    m.d.err = err;
    snprintf(m.msg, sizeof m.msg, "%s", what);
    (void)kit_write_all(fd, &m, sizeof m); /* if that fails: EOF says it */
    _exit(KIT_EXIT_RUNTIME);
}

/* The worker: read a task, run it, report; EOF on the task pipe means the
 * job is over. */
static noreturn void worker_main(mr_job *job, int in, int out)
{
    mr_map_worker w;
    memset(&w, 0, sizeof w);
    mr_io_report_to(out);
    task_msg t;
    while (kit_read_all(in, &t, sizeof t) == (ssize_t)sizeof t) {
        done_msg d;
        memset(&d, 0, sizeof d); /* the padding too: it goes down the pipe */
        d.task = t.task;
        d.ok = 1;
        if (t.phase == MR_MAP_PHASE) {
            buf_t *o = xcalloc((size_t)job->R, sizeof *o);
            mr_map_task(job, &w, t.task, t.attempt, o);
            d.emitted = w.emitted;
            for (int r = 0; r < job->R; r++)
                buf_free(&o[r]);
            free(o);
        } else {
            buf_t o = {0};
            mr_reduce_task(job, t.task, t.attempt, &o, &d.shuffle_s,
                           &d.reduce_s);
            buf_free(&o);
        }
        if (!kit_write_all(out, &d, sizeof d))
            _exit(KIT_EXIT_RUNTIME); /* the coordinator is gone */
    }
    _exit(0);
}

static void spawn(mr_job *job, pworker *ws, int i, int nw)
{
    int tp[2], rp[2];
    if (pipe(tp) != 0 || pipe(rp) != 0)
        die_errno("pipe");
    fflush(NULL); /* or buffered output would be written twice */
    pid_t pid = kit_fork();
    if (pid == 0) {
        /* Close the other workers' pipe ends: a worker holding a sibling's
         * task pipe would keep that sibling from ever seeing EOF. */
        for (int k = 0; k < nw; k++)
            if (k != i && ws[k].pid > 0) {
                close(ws[k].to);
                close(ws[k].from);
            }
        kit_child_close(tp[1]); /* the coordinator writes tasks */
        kit_child_close(rp[0]); /* the coordinator reads results */
        worker_main(job, tp[0], rp[1]);
    }
    kit_xclose(tp[0]); /* the worker's ends: ours would hide its death */
    kit_xclose(rp[1]);
    ws[i] = (pworker){.pid = pid, .to = tp[1], .from = rp[0], .task = -1};
}

/* Reap worker i (it has died, is being retired, or was killed); describe
 * how it ended in how: "worker 123 killed by signal 9 (SIGKILL)". */
static void reap(pworker *w, char *how, size_t n)
{
    kit_xclose(w->to);
    kit_xclose(w->from);
    int st = w->ended ? w->status : kit_wait_child(w->pid);
    char end[64];
    snprintf(how, n, "failed: worker %ld %s", (long)w->pid,
             kit_describe_status(st, end, sizeof end));
    *w = (pworker){.pid = 0, .to = -1, .from = -1, .task = -1};
}

/* The liveness check: note which workers are stopped (and since when) and
 * which ended; returns a worker stopped for MR_STOPPED_LIMIT s, or NULL.
 * A worker that ended is reaped here, its status kept for reap(). */
static pworker *watch_workers(pworker *ws, int nw)
{
    double now = kit_now();
    for (int i = 0; i < nw; i++) {
        pworker *w = &ws[i];
        if (w->pid <= 0 || w->ended)
            continue;
        w->ended = kit_poll_child(w->pid, &w->stopped_since, &w->status);
        if (!w->ended && w->stopped_since > 0 &&
            now - w->stopped_since >= MR_STOPPED_LIMIT)
            return w;
    }
    return NULL;
}

/* Worker i's task failed (it died, or was stopped and killed: then `why`
 * says so instead of its status): reap it, queue the task again (or give
 * up), and start a fresh worker in its place. */
static void replace(mr_job *job, scheduler *s, pworker *ws, int i, int nw,
                    const char *why)
{
    char how[160];
    int t = ws[i].task;
    long pid = (long)ws[i].pid;
    reap(&ws[i], how, sizeof how);
    if (why)
        snprintf(how, sizeof how, "failed: worker %ld %s", pid, why);
    if (t >= 0)
        mr_sched_failed(s, t, how);
    spawn(job, ws, i, nw);
}

static void procs_phase(mr_job *job, pworker *ws, int nw, enum mr_phase phase,
                        int ntasks)
{
    scheduler s;
    mr_sched_init(&s, job, phase, ntasks);
    struct pollfd *pf = xmalloc((size_t)nw * sizeof *pf);
    while (s.done < ntasks && s.failed_task < 0) {
        for (int i = 0; i < nw && s.qlen > 0; i++) {
            if (ws[i].task >= 0)
                continue;
            int t = mr_sched_pop(&s);
            task_msg m = {(int32_t)phase, t, s.attempts[t]++};
            ws[i].task = t;
            if (!kit_write_all(ws[i].to, &m, sizeof m) && errno != EPIPE)
                die_errno("write to worker %ld", (long)ws[i].pid);
            /* On EPIPE the worker is dead: poll sees EOF below. */
        }
        for (int i = 0; i < nw; i++)
            pf[i] = (struct pollfd){ws[i].from, POLLIN, 0};
        int ready = poll(pf, (nfds_t)nw, 1000); /* 1 s: the liveness tick */
        if (ready < 0 && errno != EINTR)
            die_errno("poll");
        pworker *stuck = watch_workers(ws, nw);
        if (stuck) {
            kill(stuck->pid, SIGKILL); /* ends a stopped process too */
            char why[96];
            snprintf(why, sizeof why,
                     "was stopped for %d s, no progress: killed it",
                     MR_STOPPED_LIMIT);
            replace(job, &s, ws, (int)(stuck - ws), nw, why);
            continue;
        }
        if (ready <= 0)
            continue; /* a tick, or EINTR: look again */
        for (int i = 0; i < nw; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            done_msg d;
            ssize_t got = kit_read_all(ws[i].from, &d, sizeof d);
            if (got == (ssize_t)sizeof d && d.ok == 0) {
                /* An I/O error: its cause, in one line; no re-run. */
                char msg[MR_IO_MSG];
                ssize_t m = kit_read_all(ws[i].from, msg, sizeof msg);
                if (m != (ssize_t)sizeof msg)
                    snprintf(msg, sizeof msg, "an I/O error");
                msg[sizeof msg - 1] = '\0';
                die("%s task %d: %s: %s", mr_phase_name(phase), ws[i].task, msg,
                    strerror(d.err));
            }
            if (got == (ssize_t)sizeof d && d.task == ws[i].task) {
                if (phase == MR_MAP_PHASE)
                    job->emitted[d.task] = d.emitted;
                job->shuffle_s += d.shuffle_s;
                job->reduce_s += d.reduce_s;
                ws[i].task = -1;
                mr_sched_done(&s);
                continue;
            }
            /* EOF: the worker died.  Start a fresh one in its place. */
            replace(job, &s, ws, i, nw, NULL);
        }
    }
    free(pf);
    mr_sched_check(&s);
    mr_sched_free(&s);
}

/* Fork the job's -j workers.  SIGPIPE is ignored first: writing to a dead
 * worker's pipe then fails with EPIPE instead of killing the coordinator. */
mr_procs *mr_procs_start(mr_job *job)
{
    kit_ignore_sigpipe();
    mr_make_tmpdir();
    mr_procs *ps = xcalloc(1, sizeof *ps);
    ps->job = job;
    ps->nw = job->cfg->jobs;
    for (int i = 0; i < ps->nw; i++)
        spawn(job, ps->ws, i, ps->nw);
    return ps;
}

void mr_procs_run_phase(mr_procs *ps, enum mr_phase phase, int ntasks)
{
    procs_phase(ps->job, ps->ws, ps->nw, phase, ntasks);
}

/* Close every task pipe (EOF: the worker exits) and reap the workers.  A
 * worker stopped while idle never reads that EOF: SIGCONT first (harmless
 * to the others), or the wait below would be endless. */
void mr_procs_stop(mr_procs *ps)
{
    for (int i = 0; i < ps->nw; i++) {
        char how[160];
        if (!ps->ws[i].ended)
            (void)kill(ps->ws[i].pid, SIGCONT); /* fails only if it is gone */
        reap(&ps->ws[i], how, sizeof how);
    }
    free(ps);
}
