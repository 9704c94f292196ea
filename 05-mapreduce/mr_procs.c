/*
 * mr_procs.c - who runs the tasks, part 2: worker PROCESSES
 * (--workers processes), as Hadoop runs them.  The coordinator forks -j
 * workers and hands out tasks over pipes; a map task publishes partition r
 * as the file mr-<m>-<r>, a reduce task its sorted run as mr-out-<r>
 * (mr_files.c).  When a worker dies -- EOF on its result pipe -- the
 * coordinator reaps it, starts a fresh one in its place and queues the
 * task again (re-execution); no worker outlives the job.
 *
 * Before: mr_threads.c (the scheduler used here too).  The tasks:
 * mr_map.c, mr_reduce.c.  Their files: mr_files.c.
 */
#include "mr_internal.h"

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
    int32_t task, ok;
    uint64_t emitted;
    double shuffle_s, reduce_s;
} done_msg;

typedef struct {
    pid_t pid;
    int to;   /* task pipe, write end (coordinator -> worker) */
    int from; /* result pipe, read end (worker -> coordinator) */
    int task; /* running task, -1 if idle */
} pworker;

struct mr_procs {
    mr_job *job;
    int nw; /* workers */
    pworker ws[MAX_WORKERS];
};

static bool read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The worker: read a task, run it, report; EOF on the task pipe means the
 * job is over. */
static noreturn void worker_main(mr_job *job, int in, int out)
{
    mr_map_worker w;
    memset(&w, 0, sizeof w);
    task_msg t;
    while (read_full(in, &t, sizeof t)) {
        done_msg d = {t.task, 1, 0, 0, 0};
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
        mr_write_all(out, (const char *)&d, sizeof d, "the result pipe");
    }
    _exit(0);
}

static void spawn(mr_job *job, pworker *ws, int i, int nw)
{
    int tp[2], rp[2];
    if (pipe(tp) != 0 || pipe(rp) != 0)
        die_errno("pipe");
    fflush(NULL); /* or buffered output would be written twice */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* pids[] changes with no handler */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* a Ctrl-C kills workers outright */
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* Close the other workers' pipe ends: a worker holding a sibling's
         * task pipe would keep that sibling from ever seeing EOF. */
        for (int k = 0; k < nw; k++)
            if (k != i && ws[k].pid > 0) {
                close(ws[k].to);
                close(ws[k].from);
            }
        close(tp[1]); /* the coordinator writes tasks */
        close(rp[0]); /* the coordinator reads results */
        worker_main(job, tp[0], rp[1]);
    }
    mr_cleanup_worker_started(i, pid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(tp[0]); /* the worker's ends: ours would hide its death (no EOF) */
    close(rp[1]);
    ws[i] = (pworker){pid, tp[1], rp[0], -1};
}

/* Reap worker i (it has died or is being retired); describe how it ended. */
static void reap(pworker *ws, int i, char *how, size_t n)
{
    close(ws[i].to);
    close(ws[i].from);
    int st = 0;
    while (waitpid(ws[i].pid, &st, 0) < 0)
        if (errno != EINTR)
            die_errno("waitpid");
    mr_cleanup_worker_reaped(i);
    if (WIFSIGNALED(st))
        snprintf(how, n, "died: worker %ld was killed by %s", (long)ws[i].pid,
                 WTERMSIG(st) == SIGKILL ? "SIGKILL" : "a signal");
    else
        snprintf(how, n, "died: worker %ld called _exit(%d)", (long)ws[i].pid,
                 WEXITSTATUS(st));
    ws[i].pid = 0;
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
            ssize_t w;
            do
                w = write(ws[i].to, &m, sizeof m);
            while (w < 0 && errno == EINTR);
            if (w != (ssize_t)sizeof m && errno != EPIPE)
                die_errno("write to worker %ld", (long)ws[i].pid);
            /* On EPIPE the worker is dead: poll sees EOF below. */
        }
        for (int i = 0; i < nw; i++)
            pf[i] = (struct pollfd){ws[i].from, POLLIN, 0};
        if (poll(pf, (nfds_t)nw, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        for (int i = 0; i < nw; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            done_msg d;
            if (read_full(ws[i].from, &d, sizeof d) && d.task == ws[i].task) {
                if (phase == MR_MAP_PHASE)
                    job->emitted[d.task] = d.emitted;
                job->shuffle_s += d.shuffle_s;
                job->reduce_s += d.reduce_s;
                ws[i].task = -1;
                mr_sched_done(&s);
                continue;
            }
            /* EOF: the worker died.  Start a fresh one in its place. */
            char how[128];
            int t = ws[i].task;
            reap(ws, i, how, sizeof how);
            if (t >= 0)
                mr_sched_failed(&s, t, how);
            spawn(job, ws, i, nw);
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
    signal(SIGPIPE, SIG_IGN);
    mr_make_tmpdir();
    mr_cleanup_expect(job->M, job->R);
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

/* Close every task pipe (EOF: the worker exits) and reap the workers. */
void mr_procs_stop(mr_procs *ps)
{
    for (int i = 0; i < ps->nw; i++) {
        char how[128];
        reap(ps->ws, i, how, sizeof how);
    }
    free(ps);
}
