/*
 * pool.c - the joblib-style parallel map behind ./parallel (see pool.h).
 *
 * Two backends share one rule: a result comes back tagged with the index of
 * its task, and is stored at that index.  Workers finish in whatever order
 * the scheduler likes; the caller still gets out[i] == f(in[i]).
 *
 * The processes backend is the interesting one.  Per worker, two pipes:
 *
 *     parent --task pipe-->  worker      {index, x}       one task at a time
 *     parent <--result pipe-- worker     {index, f(x)}
 *
 * Each message is a small struct (well under PIPE_BUF), so it is written
 * atomically.  The parent keeps at most one task outstanding per worker, so
 * it knows exactly which task a worker was holding when its result pipe
 * reaches end-of-file: that is how a crash becomes "task 3 failed" instead
 * of a silently missing result.
 */
#include "pool.h"

#include "err.h"
#include "proc.h"
#include "timing.h"
#include "xpthread.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int pool_jobs(int n_jobs) { return n_jobs == -1 ? kit_ncpus() : n_jobs; }

const char *pool_backend_name(enum pool_backend b)
{
    return b == POOL_PROCESSES ? "processes" : "threads";
}

/*
 * A result arrives for task `index`; it is the `seq`-th result to arrive
 * (0, 1, 2, ... in completion order).  Put it where the caller expects it.
 */
static void store_result(long long *out, size_t index, long long value,
                         size_t seq)
{
#ifndef HANDOUT
    (void)seq; /* arrival order does not matter: the index says where it goes */
    out[index] = value;
#else
    /* TODO(02.1): results arrive in completion order, tagged with their
     * task's index; store each one where pool_map's caller expects it. */
    (void)index;
    out[seq] = value;
#endif
}

/* joblib's progress lines: after 1, 2, 4, 8, ... tasks and at the end. */
static void progress(const pool_cfg *cfg, size_t done, size_t n, double t0)
{
    if (!cfg->verbose)
        return;
    double el = kit_now() - t0;
    if (done == n)
        fprintf(stderr,
                "[Parallel(n_jobs=%d)]: Done %zu out of %zu | elapsed: %.1fs "
                "finished\n",
                cfg->jobs, done, n, el);
    else if ((done & (done - 1)) == 0)
        fprintf(stderr,
                "[Parallel(n_jobs=%d)]: Done %zu tasks | elapsed: %.1fs\n",
                cfg->jobs, done, el);
}

/* ---- threads backend ------------------------------------------------------ */

struct tpool {
    pthread_mutex_t m; /* guards next and done */
    size_t next;       /* tasks [0, next) have been handed out */
    size_t done;       /* results stored so far; == n when finished */
    pool_fn *fn;       /* read-only after start: */
    void *arg;
    const long long *in;
    long long *out; /* out[i] written once, by the worker that ran task i */
    size_t n;
    const pool_cfg *cfg;
    double t0;
};

static void *thread_worker(void *p)
{
    struct tpool *tp = p;
    for (;;) {
        xmutex_lock(&tp->m);
        if (tp->next >= tp->n) {
            xmutex_unlock(&tp->m);
            return NULL;
        }
        size_t i = tp->next++;
        xmutex_unlock(&tp->m);

        long long v = tp->fn(tp->in[i], tp->arg); /* the work: no lock held */

        xmutex_lock(&tp->m);
        store_result(tp->out, i, v, tp->done);
        tp->done++;
        progress(tp->cfg, tp->done, tp->n, tp->t0);
        xmutex_unlock(&tp->m);
    }
}

static int map_threads(pool_fn *fn, void *arg, const long long *in,
                       long long *out, size_t n, const pool_cfg *cfg)
{
    struct tpool tp = {.fn = fn,
                       .arg = arg,
                       .in = in,
                       .out = out,
                       .n = n,
                       .cfg = cfg,
                       .t0 = kit_now()};
    xmutex_init(&tp.m);
    size_t nt = (size_t)cfg->jobs < n ? (size_t)cfg->jobs : n;
    pthread_t *t = xcalloc(nt, sizeof *t);
    for (size_t k = 0; k < nt; k++)
        xpthread_create(&t[k], thread_worker, &tp);
    for (size_t k = 0; k < nt; k++)
        xpthread_join(t[k]);
    free(t);
    xmutex_destroy(&tp.m);
    return 0;
}

/* ---- processes backend ---------------------------------------------------- */

struct task_msg {
    uint64_t index;
    long long x;
}; /* parent -> worker */
struct result_msg {
    uint64_t index;
    long long value;
}; /* worker -> parent */

struct worker {
    pid_t pid;     /* > 0 until reaped, then 0 */
    int task_fd;   /* parent's write end of the task pipe; -1 once closed */
    int result_fd; /* parent's read end of the result pipe; -1 once closed */
    long busy;     /* index of the task it holds, -1 when idle */
    double stopped_since; /* kit_now() when seen stopped (SIGSTOP), or 0 */
    bool ended;           /* reaped by watch_workers; its status in `status` */
    int status;
};

/*
 * The liveness rule.  A worker that is killed closes its result pipe, and
 * its EOF names the task; a worker that is STOPPED (kill -STOP, a debugger)
 * closes nothing, and the map would wait forever.  So every second the
 * parent asks waitpid(WUNTRACED | WCONTINUED) how each worker is; one that
 * stays stopped for POOL_STOPPED_LIMIT seconds fails the map, and the
 * message names it.  Only time seen stopped counts: after Ctrl-Z and fg
 * the whole group was stopped, the parent too, and the workers have been
 * continued by the time the parent looks.  A slow task is never failed:
 * running is progress, however long it takes.
 */
enum { POOL_STOPPED_LIMIT = 10 };

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Wait for one worker (unless watch_workers has); returns its status. */
static int reap(struct worker *w)
{
    int status = w->ended ? w->status : kit_wait_child(w->pid);
    w->pid = 0;
    return status;
}

/* The liveness check (see POOL_STOPPED_LIMIT): returns the worker stopped
 * for too long, or NULL.  A worker that ended is reaped here and its
 * status kept for reap(): its EOF tells the rest. */
static struct worker *watch_workers(struct worker *ws, size_t nw)
{
    double now = kit_now();
    for (size_t k = 0; k < nw; k++) {
        struct worker *w = &ws[k];
        if (w->pid <= 0 || w->ended)
            continue;
        w->ended = kit_poll_child(w->pid, &w->stopped_since, &w->status);
        if (!w->ended && w->stopped_since > 0 &&
            now - w->stopped_since >= POOL_STOPPED_LIMIT)
            return w;
    }
    return NULL;
}

/* The worker's whole life: tasks in, results out, until the task pipe
 * reaches EOF (the parent has no more work for it). */
static _Noreturn void worker_loop(int task_fd, int result_fd, pool_fn *fn,
                                  void *arg)
{
    struct task_msg t;
    ssize_t r;
    /* kit_read_all: the whole message or nothing (0: a clean EOF). */
    while ((r = kit_read_all(task_fd, &t, sizeof t)) == (ssize_t)sizeof t) {
        struct result_msg res = {t.index, fn(t.x, arg)};
        if (!kit_write_all(result_fd, &res, sizeof res))
            _exit(1); /* the parent is gone: nobody to tell */
    }
    _exit(r == 0 ? 0 : 1);
}

static bool send_task(struct worker *w, size_t i, const long long *in)
{
    struct task_msg t = {i, in[i]};
    w->busy = (long)i;
    return kit_write_all(w->task_fd, &t, sizeof t);
}

/* Kill, close and reap every worker still there: the error path. */
static void kill_all(struct worker *ws, size_t nw)
{
    for (size_t k = 0; k < nw; k++)
        if (ws[k].pid > 0 && !ws[k].ended)
            kill(ws[k].pid, SIGKILL); /* a stopped worker dies too */
    for (size_t k = 0; k < nw; k++) {
        close_fd(&ws[k].task_fd);
        close_fd(&ws[k].result_fd);
        if (ws[k].pid > 0)
            reap(&ws[k]);
    }
}

/*
 * Signals: the map runs inside a cleanup scope (proc.h), so SIGINT,
 * SIGTERM, SIGHUP or SIGQUIT kill and reap every worker and kill us with
 * the same signal, wherever the parent is -- the caller dies of it as if
 * it had never been caught.  SIGPIPE is ignored meanwhile: a write to a
 * dead worker must be an EPIPE we can report, not the death of the parent.
 */
static void sigpipe_ignore(struct sigaction *saved)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, saved) != 0)
        die_errno("sigaction");
}

static int map_processes(pool_fn *fn, void *arg, const long long *in,
                         long long *out, size_t n, const pool_cfg *cfg,
                         pool_error *err)
{
    size_t nw = (size_t)cfg->jobs < n ? (size_t)cfg->jobs : n;
    struct worker *ws = xcalloc(nw, sizeof *ws);
    for (size_t k = 0; k < nw; k++)
        ws[k] = (struct worker){
            .pid = 0, .task_fd = -1, .result_fd = -1, .busy = -1};

    kit_cleanup_scope_open();
    struct sigaction saved_pipe;
    sigpipe_ignore(&saved_pipe);
    double t0 = kit_now();
    int rc = -1;

    for (size_t k = 0; k < nw; k++) {
        int tp[2], rp[2];
        if (pipe(tp) != 0)
            die_errno("pipe");
        if (pipe(rp) != 0)
            die_errno("pipe");
        if (rp[0] >= FD_SETSIZE) /* select() cannot watch it */
            die("pool: too many open files for select (fd %d)", rp[0]);
        /* or the child would inherit, and later flush, our buffers */
        fflush(NULL);
        pid_t pid = kit_fork(); /* recorded: a stop signal kills it too */
        if (pid == 0) {
            /* The child: default stop signals (kit_fork saw to that: Ctrl-C
             * kills a worker outright), SIGPIPE as the caller had it, and
             * only its own two pipe ends.  A reader sees EOF only once
             * EVERY copy of a pipe's write end is closed: a worker keeping
             * its older siblings' task-pipe write ends would keep them
             * waiting for work after the parent is done with them. */
            if (sigaction(SIGPIPE, &saved_pipe, NULL) != 0)
                _exit(1); /* its EOF tells the parent */
            for (size_t j = 0; j < k; j++) {
                close(ws[j].task_fd);
                close(ws[j].result_fd);
            }
            close(tp[1]); /* the parent writes tasks */
            close(rp[0]); /* the parent reads results */
            worker_loop(tp[0], rp[1], fn, arg);
        }
        close(tp[0]); /* the worker reads tasks */
        /* The worker writes results; our own copy of the write end would
         * hide its EOF, and a crash would go unnoticed forever. */
        close(rp[1]);
        ws[k] = (struct worker){
            .pid = pid, .task_fd = tp[1], .result_fd = rp[0], .busy = -1};
    }

    if (cfg->verbose)
        fprintf(stderr,
                "[Parallel(n_jobs=%d)]: Using backend MultiprocessingBackend "
                "with %zu concurrent workers.\n",
                cfg->jobs, nw);

    size_t next = 0, done = 0;
    for (size_t k = 0; k < nw; k++) /* one task each to start with */
        if (!send_task(&ws[k], next++, in)) {
            snprintf(err->msg, sizeof err->msg,
                     "task %zu (input %lld): cannot send it to worker %ld: %s",
                     next - 1, in[next - 1], (long)ws[k].pid, strerror(errno));
            err->task = (long)(next - 1);
            goto fail;
        }

    while (done < n) {
        fd_set rfds;
        FD_ZERO(&rfds);
        int maxfd = -1;
        for (size_t k = 0; k < nw; k++)
            if (ws[k].result_fd >= 0) {
                FD_SET(ws[k].result_fd, &rfds);
                if (ws[k].result_fd > maxfd)
                    maxfd = ws[k].result_fd;
            }
        struct timeval tick = {1, 0}; /* the liveness check's period */
        int ready = select(maxfd + 1, &rfds, NULL, NULL, &tick);
        if (ready < 0 && errno != EINTR)
            die_errno("select");
        struct worker *stuck = watch_workers(ws, nw);
        if (stuck != NULL) {
            char how[64];
            kit_describe_status(stuck->status, how, sizeof how);
            err->task = stuck->busy;
            if (stuck->busy >= 0)
                snprintf(err->msg, sizeof err->msg,
                         "task %ld (input %lld): worker %ld %s and made no "
                         "progress for %d s: giving up",
                         stuck->busy, in[stuck->busy], (long)stuck->pid, how,
                         POOL_STOPPED_LIMIT);
            else
                snprintf(err->msg, sizeof err->msg,
                         "worker %ld %s for %d s while idle: giving up",
                         (long)stuck->pid, how, POOL_STOPPED_LIMIT);
            goto fail;
        }
        if (ready <= 0)
            continue; /* a tick, or EINTR (SIGCHLD, SIGCONT...): look again */
        for (size_t k = 0; k < nw; k++) {
            struct worker *w = &ws[k];
            if (w->result_fd < 0 || !FD_ISSET(w->result_fd, &rfds))
                continue;
            struct result_msg res;
            ssize_t r = kit_read_all(w->result_fd, &res, sizeof res);
            if (r == 0 && w->busy < 0 && w->task_fd < 0) {
                /* done: we closed its task pipe, so it exited */
                close_fd(&w->result_fd);
                continue;
            }
            if (r != (ssize_t)sizeof res || w->busy < 0 ||
                res.index != (uint64_t)w->busy) {
                /* EOF (or garbage) instead of the result we are owed. */
                char how[64];
                long pid = (long)w->pid;
                close_fd(&w->result_fd);
                close_fd(&w->task_fd);
                /* in case it is alive but talking nonsense */
                if (!w->ended)
                    kill(w->pid, SIGKILL);
                kit_describe_status(reap(w), how, sizeof how);
                if (w->busy >= 0) {
                    err->task = w->busy;
                    snprintf(err->msg, sizeof err->msg,
                             "task %ld (input %lld): worker %ld %s before "
                             "sending its result",
                             w->busy, in[w->busy], pid, how);
                } else {
                    err->task = -1;
                    snprintf(err->msg, sizeof err->msg,
                             "worker %ld %s while idle", pid, how);
                }
                goto fail;
            }
            store_result(out, (size_t)res.index, res.value, done);
            done++;
            w->busy = -1;
            progress(cfg, done, n, t0);
            if (next < n) {
                if (!send_task(w, next++, in)) {
                    /* EPIPE: it died; its EOF, read next round, names the task */
                    continue;
                }
            } else {
                /* EOF on its task pipe: "no more work, exit" */
                close_fd(&w->task_fd);
            }
        }
    }

    /* Every result is in: the workers have seen EOF on their task pipes and
     * are exiting.  Reap them and make sure none died badly after all. */
    rc = 0;
    for (size_t k = 0; k < nw; k++) {
        close_fd(&ws[k].task_fd);
        close_fd(&ws[k].result_fd);
        int st = reap(&ws[k]);
        if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char how[64];
            kit_describe_status(st, how, sizeof how);
            err->task = -1;
            snprintf(err->msg, sizeof err->msg,
                     "a worker %s after its last task", how);
            rc = -1;
        }
    }
    goto out;

fail:
    kill_all(ws, nw);
out:
    free(ws);
    if (sigaction(SIGPIPE, &saved_pipe, NULL) != 0)
        die_errno("sigaction");
    kit_cleanup_scope_close();
    return rc;
}

int pool_map(pool_fn *fn, void *arg, const long long *in, long long *out,
             size_t n, const pool_cfg *cfg, pool_error *err)
{
    err->task = -1;
    err->msg[0] = '\0';
    if (cfg->jobs < 1) {
        snprintf(err->msg, sizeof err->msg, "jobs must be >= 1, got %d",
                 cfg->jobs);
        return -1;
    }
    if (n == 0)
        return 0;
    if (cfg->backend == POOL_PROCESSES)
        return map_processes(fn, arg, in, out, n, cfg, err);
    if (cfg->verbose)
        fprintf(stderr,
                "[Parallel(n_jobs=%d)]: Using backend ThreadingBackend "
                "with %d concurrent workers.\n",
                cfg->jobs, (size_t)cfg->jobs < n ? cfg->jobs : (int)n);
    return map_threads(fn, arg, in, out, n, cfg);
}
