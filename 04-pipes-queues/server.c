/*
 * server.c - request -> processing -> response, served three ways
 *
 * The lecture's third reason for concurrency.  A tiny TCP server on loopback
 * answers requests that each spend --work-ms waiting on "slow I/O" (a sleep
 * standing in for a database or a disk), served three ways:
 *
 *   sequential          one thread accepts and serves, one request at a time
 *   thread-per-request  the acceptor starts a thread for every connection
 *   pool                a fixed set of --workers threads take connections
 *                       from the bounded queue (bq.h): CS:APP's pre-threaded
 *                       server, whose sbuf is our bq
 *
 * The three differ in one place only, the acceptor's dispatch (a switch
 * below): serve it now, start a thread for it, or put it in the queue.
 *
 * What you will observe: the work is waiting, not computing, so even on two
 * CPUs the pool serves about --workers times as many requests per second as
 * the sequential server, and thread-per-request about --clients times.  With
 * --misbehave, clients that connect and say nothing (or garbage, or half a
 * request) are cut off after --timeout-ms; in sequential mode everybody else
 * waits behind them.
 *
 * The protocol: one request per connection (like HTTP/1.0), so "per request"
 * and "per connection" are the same thing here.
 *     client: DOUBLE 21\n       server: 42\n
 *     client: INFO\n            server: mode pool workers 4 work_ms 20.000
 *                                       timeout_ms 1000\n   (what it is)
 *     anything else             server: ERR bad request\n   (then it closes)
 *     nothing for --timeout-ms  server: ERR timeout\n
 *     (the server stops)        server: ERR server stopping\n
 * Try it by hand:
 *     ./server --serve --port 5000 &
 *     printf 'DOUBLE 21\n' | nc 127.0.0.1 5000
 *
 * Bounded everywhere: a request line is at most 63 bytes; every socket has
 * a deadline; at most 256 handler threads; the server listens on 127.0.0.1
 * only.  Stopping is bounded too: every wait (for a request, for the slow
 * I/O, for a free descriptor) also watches a stop pipe, so Ctrl-C ends
 * --serve within a second whatever the clients do.
 *
 * Usage:  server [--mode sequential|thread-per-request|pool|all] [--workers N]
 *                [--work-ms W] [--clients N] [--requests M] [--json]
 *         server --serve [--port P] [--mode M]        (until Ctrl-C)
 *         server --connect 127.0.0.1:P [--clients N] [--requests M]
 *
 * Files: server.c (the three servers), loadgen.c (the clients), server_net.c
 * (sockets with deadlines), server_cli.c (options), server.h (shared).
 *
 * See also: bq.h (the queue the pool is built on), CS:APP 3e section 12.5.5
 * "Concurrent Programming with Threads: a prethreaded concurrent server",
 * TLPI chapter 60 "Sockets: Server Design", and accept(2), poll(2), socket(7).
 */
#include "server.h"

#include "bq.h"
#include "err.h"
#include "proc.h"
#include "timing.h"
#include "xpthread.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *const mode_names[] = {"sequential", "thread-per-request", "pool",
                                  "all", NULL};

typedef struct {
    int lfd;           /* listening socket on 127.0.0.1; main owns it */
    enum mode mode;    /* sequential, thread or pool: never M_ALL */
    int workers;       /* pool threads (mode pool) */
    double work_ms;    /* the simulated slow I/O of every request */
    double timeout_ms; /* bound on reading a request and on each send */
    int stop_pipe[2];  /* srv_stop writes a byte, never read: from then on
                          stop_pipe[0] is readable for every thread that
                          polls it, and each wait ends at once */
    pthread_t acceptor;
    pthread_t *pool;     /* [workers] (mode pool) */
    bq q;                /* accepted connections waiting for a worker (pool) */
    pthread_mutex_t m;   /* guards the four fields below */
    pthread_cond_t idle; /* signalled whenever active drops */
    bool stopping;       /* srv_stop has begun: a closed queue is expected */
    int active;    /* thread-per-request handlers alive, <= TPR_MAX_THREADS */
    long answered; /* DOUBLE requests answered */
    long cut_off;  /* connections refused: garbage, timeout, half, stopping */
} server;

static void count(server *s, bool answered)
{
    xmutex_lock(&s->m);
    if (answered)
        s->answered++;
    else
        s->cut_off++;
    xmutex_unlock(&s->m);
}

/* One connection, one request: read it, "process" it, answer, close. */
static void serve_conn(server *s, int fd)
{
    char line[MAX_LINE], out[96];
    long long n;
    if (!set_timeouts(fd, s->timeout_ms)) {
        warn_errno("setsockopt");
        xclose(fd);
        count(s, false);
        return;
    }
    double deadline = kit_now() + s->timeout_ms / 1000.0;
    enum rl r = read_line(fd, line, sizeof line, deadline, s->stop_pipe[0]);
    if (r == RL_OK && parse_request(line, &n)) {
        /* The "processing": slow I/O, such as a database, a disk, a service. */
        if (sleep_unless_readable(s->stop_pipe[0], s->work_ms)) {
            snprintf(out, sizeof out, "%lld\n", 2 * n);
            bool answered = send_str(fd, out);
            xclose(fd);
            count(s, answered);
            return;
        }
        r = RL_STOPPED;
    }
    if (r == RL_OK && strcmp(line, "INFO") == 0) {
        snprintf(out, sizeof out,
                 "mode %s workers %d work_ms %.3f timeout_ms %.0f\n",
                 mode_names[s->mode], s->mode == M_POOL ? s->workers : 0,
                 s->work_ms, s->timeout_ms);
        send_str(fd, out);
        xclose(fd);
        return; /* a question about the server, not a request: not counted */
    }
    if (r == RL_OK || r == RL_LONG || r == RL_NUL)
        refuse_and_close(fd, "ERR bad request\n", s->timeout_ms);
    else if (r == RL_TIMEOUT)
        refuse_and_close(fd, "ERR timeout\n", s->timeout_ms);
    else if (r == RL_STOPPED) { /* say why, no lingering: we are leaving */
        send_str(fd, "ERR server stopping\n");
        xclose(fd);
    } else /* RL_EOF, RL_ERR: it hung up mid-request; nobody to answer */
        xclose(fd);
    count(s, false);
}

/* ---- thread-per-request: a detached thread per connection ----------------- */

/* CS:APP's echoservert.  The last thing a handler does is to say it is gone:
 * the acceptor (at the thread cap) and srv_stop wait on s->idle for that. */
typedef struct {
    server *s;
    int fd;
} conn_job;

static void *handler_main(void *arg)
{
    conn_job job = *(conn_job *)arg;
    free(arg);
    serve_conn(job.s, job.fd);
    xmutex_lock(&job.s->m);
    job.s->active--;
    xcond_signal(&job.s->idle);
    xmutex_unlock(&job.s->m);
    return NULL;
}

static void spawn_handler(server *s, int fd)
{
    xmutex_lock(&s->m);
    /* Unbounded thread-per-request is how servers fall over under load: past
     * the cap the acceptor waits, and new connections wait in the kernel's
     * listen backlog.  Handlers end within work + 2 timeouts, so this ends. */
    while (s->active >= TPR_MAX_THREADS)
        xcond_wait(&s->idle, &s->m);
    s->active++;
    xmutex_unlock(&s->m);
    conn_job *job = xmalloc(sizeof *job);
    job->s = s;
    job->fd = fd;
    pthread_t t;
    int rc = pthread_create(&t, NULL, handler_main, job);
    if (rc != 0) {
        /* Out of threads (EAGAIN): refuse this one, keep serving. */
        warn_msg("pthread_create: %s", strerror(rc));
        free(job);
        xclose(fd);
        xmutex_lock(&s->m);
        s->active--;
        s->cut_off++;
        xmutex_unlock(&s->m);
        return;
    }
    rc = pthread_detach(t);
    if (rc != 0)
        die_code(rc, "pthread_detach");
}

/* ---- pool: workers take connections from the bounded queue ---------------- */

/* A worker takes connections until the queue is closed and drained. */
static void *worker_main(void *arg)
{
    server *s = arg;
    void *item;
    bq_status st;
    while ((st = bq_get(&s->q, &item)) == BQ_OK) {
        int fd = *(int *)item;
        free(item);
        serve_conn(s, fd);
    }
    xmutex_lock(&s->m);
    bool stopping = s->stopping;
    xmutex_unlock(&s->m);
    /* BQ_CLOSED after srv_stop closed the queue and it is empty: done.
     * Anything else is a broken queue; say so rather than serve nobody. */
    if (!stopping)
        die("pool worker: bq_get returned %s on an open queue: is bq_get "
            "finished (TODO 04.2 in bq.c)?",
            bq_status_name(st));
    return NULL;
}

static void enqueue(server *s, int fd)
{
    int *item = xmalloc(sizeof *item);
    *item = fd;
    /* Blocks while the queue is full: backpressure.  Workers free a slot
     * within work + 2 timeouts, or at once when stopping: this ends. */
    bq_status st = bq_put(&s->q, item);
    /* Only srv_stop closes the queue, after this thread has ended. */
    if (st != BQ_OK)
        die("pool acceptor: bq_put returned %s on an open queue: "
            "is bq_put finished (TODO 04.1 in bq.c)?",
            bq_status_name(st));
}

/* ---- the acceptor: one loop, three dispatches ------------------------------- */

static void *acceptor_main(void *arg)
{
    server *s = arg;
    double backoff_ms = 10; /* after EMFILE: 10, 20, ... 320 ms */
    bool out_of_fds_said = false;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->stop_pipe[0], .events = POLLIN},
                              {.fd = s->lfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        if (p[0].revents != 0)
            break; /* srv_stop: accept nothing more */
        if (p[1].revents == 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            /* The listening socket is non-blocking: a client that reset
             * between poll and accept gives EAGAIN/ECONNABORTED, not a hang. */
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* Out of descriptors: the connection waits in the backlog
                 * until a handler closes one.  Say so once, not once per
                 * retry, and back off (still listening for the stop). */
                if (!out_of_fds_said)
                    warn_errno("accept: backing off until connections close "
                               "(said once)");
                out_of_fds_said = true;
                if (!sleep_unless_readable(s->stop_pipe[0], backoff_ms))
                    break;
                backoff_ms = backoff_ms < 320 ? 2 * backoff_ms : 320;
                continue;
            }
            die_errno("accept");
        }
        backoff_ms = 10;
        /* Linux does not pass O_NONBLOCK on to accepted sockets, BSD does:
         * say what we want. */
        if (!set_nonblocking(fd, false)) {
            warn_errno("fcntl");
            xclose(fd);
            continue;
        }
        switch (s->mode) {
        case M_SEQUENTIAL: serve_conn(s, fd); break; /* nobody else meanwhile */
        case M_THREAD: spawn_handler(s, fd); break;  /* a thread per client */
        case M_POOL: enqueue(s, fd); break;          /* a worker will take it */
        case M_ALL: /* never a server's mode */ break;
        }
    }
    return NULL;
}

/* ---- start and stop ----------------------------------------------------------- */

static void srv_start(server *s, int lfd, const server_opts *o, enum mode mode)
{
    memset(s, 0, sizeof *s);
    s->lfd = lfd;
    s->mode = mode;
    s->workers = o->workers;
    s->work_ms = o->work_ms;
    s->timeout_ms = o->timeout_ms;
    xmutex_init(&s->m);
    xcond_init(&s->idle);
    if (pipe(s->stop_pipe) != 0)
        die_errno("pipe");
    if (mode == M_POOL) {
        bq_init(&s->q, (size_t)o->capacity);
        /* The pool runs on bq.c, which the handout leaves to students
         * (exercises 04.1, 04.2).  Try it once, alone, before any thread
         * depends on it: one clear message instead of a confusing failure. */
        int probe = 0;
        void *back = NULL;
        if (bq_put(&s->q, &probe) != BQ_OK || bq_get(&s->q, &back) != BQ_OK ||
            back != &probe)
            die("--mode pool runs on bq.c, and a put then a get on a new queue "
                "did not return the item: finish TODO 04.1/04.2 in bq.c first");
        s->pool = xcalloc((size_t)s->workers, sizeof *s->pool);
        for (int i = 0; i < s->workers; i++)
            xpthread_create(&s->pool[i], worker_main, s);
    }
    xpthread_create(&s->acceptor, acceptor_main, s);
}

/* Stop accepting, end what was accepted (a request still waiting for its
 * line or its slow I/O gets "ERR server stopping"), leave no thread, no fd. */
static void srv_stop(server *s)
{
    if (write(s->stop_pipe[1], "x", 1) != 1)
        die_errno("write to the stop pipe");
    xpthread_join(s->acceptor);
    if (s->mode == M_POOL) {
        xmutex_lock(&s->m);
        s->stopping = true;
        xmutex_unlock(&s->m);
        bq_close(&s->q); /* workers drain what is queued, then get BQ_CLOSED */
        for (int i = 0; i < s->workers; i++)
            xpthread_join(s->pool[i]);
        bq_destroy(&s->q);
        free(s->pool);
    }
    xmutex_lock(&s->m);
    while (s->active > 0) /* thread-per-request handlers still at work */
        xcond_wait(&s->idle, &s->m);
    xmutex_unlock(&s->m);
    xclose(s->stop_pipe[0]);
    xclose(s->stop_pipe[1]);
    xcond_destroy(&s->idle);
    xmutex_destroy(&s->m);
}

/* ---- the two ways to run it: --serve, or every mode under load ------------ */

static int serve_forever(const server_opts *o)
{
    /* Block the kit's stop signals (Ctrl-C, kill, a closed terminal,
     * Ctrl-\) before any thread exists, so every thread inherits the mask
     * and only sigwait() below receives them: the shutdown then runs as
     * ordinary code, not in a signal handler.  (No kit_cleanup_on here:
     * the server forks no child and makes no temp file.) */
    static const int stops[] = KIT_STOP_SIGNALS;
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < KIT_NSTOP_SIGNALS; i++)
        sigaddset(&set, stops[i]);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
    int bound;
    int lfd = listen_loopback(o->port, &bound);
    server s;
    srv_start(&s, lfd, o, o->mode);
    char extra[32] = "";
    if (o->mode == M_POOL)
        snprintf(extra, sizeof extra, " (%d workers)", o->workers);
    printf("server: listening on 127.0.0.1:%d, mode %s%s, "
           "%g ms of work per request; stop with Ctrl-C\n",
           bound, mode_names[o->mode], extra, o->work_ms);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    int sig;
    rc = sigwait(&set, &sig);
    if (rc != 0)
        die_code(rc, "sigwait");
    /* A second Ctrl-C now kills at once (only this thread unblocks it). */
    rc = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
    double t0 = kit_now();
    srv_stop(&s); /* bounded: every wait in the server watches the stop pipe */
    xclose(lfd);
    printf("server: %s: stopped in %.0f ms after answering %ld requests "
           "and cutting off %ld connections; no thread or socket left\n",
           kit_signal_name(sig), (kit_now() - t0) * 1000.0, s.answered,
           s.cut_off);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    return 0;
}

/* Every mode asked for, in turn, on one listening socket, under one load. */
static int compare_modes(const server_opts *o)
{
    int bound;
    int lfd = listen_loopback(0, &bound);
    target t;
    loadgen_target_local(&t, o, bound);
    result res[M_ALL];
    memset(res, 0, sizeof res);
    int nres = 0;
    for (int m = 0; m < M_ALL; m++) {
        if (o->mode != M_ALL && o->mode != (enum mode)m)
            continue;
        server s;
        srv_start(&s, lfd, o, (enum mode)m);
        run_load(&t, o, &res[nres]);
        srv_stop(&s);
        res[nres].mode = mode_names[m];
        res[nres].concurrency = m == M_SEQUENTIAL ? 1
                                : m == M_POOL     ? o->workers
                                                  : o->clients + o->nbad;
        nres++;
    }
    xclose(lfd);
    char where[100];
    snprintf(where, sizeof where,
             "an in-process server on 127.0.0.1:%d (port 0: any free one)",
             bound);
    return loadgen_report(o, res, nres, where);
}

int main(int argc, char **argv)
{
    kit_set_prog("server");
    server_opts o;
    server_parse_args(argc, argv, &o); /* server_cli.c: usage text, checks */
    /* A client that left must not kill the server with SIGPIPE (MSG_NOSIGNAL
     * covers Linux; this covers systems without it). */
    kit_ignore_sigpipe();
    if (o.serve)
        return serve_forever(&o);
    if (o.connect_arg)
        return loadgen_remote(&o); /* loadgen.c: a server in another process */
    return compare_modes(&o);
}
