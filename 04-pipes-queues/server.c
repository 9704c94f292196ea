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
 * A built-in load generator (--clients threads, each sending --requests
 * requests one after another) measures throughput and p50/p99 latency, and
 * checks every answer.
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
 * Try it by hand:
 *     ./server --serve --port 5000 &
 *     printf 'DOUBLE 21\n' | nc 127.0.0.1 5000
 *
 * Bounded everywhere: a request line is at most 63 bytes; every socket has
 * a deadline (poll for reading, SO_SNDTIMEO for writing); at most 256
 * handler threads; clients, requests and workers are capped; the server
 * listens on 127.0.0.1 only, and --connect refuses other addresses unless
 * --allow-remote.  Writes to a peer that left use MSG_NOSIGNAL (and SIGPIPE
 * is ignored), so they fail with EPIPE instead of killing the server.
 *
 * Usage:  server [--mode sequential|thread-per-request|pool|all] [--workers N]
 *                [--work-ms W] [--clients N] [--requests M] [--json]
 *         server --serve [--port P] [--mode M]        (until Ctrl-C)
 *         server --connect 127.0.0.1:P [--clients N] [--requests M]
 *
 * See also: bq.h (the queue the pool is built on), CS:APP 3e section 12.5.5
 * "Concurrent Programming with Threads: a prethreaded concurrent server",
 * TLPI chapter 60 "Sockets: Server Design", and accept(2), poll(2), socket(7).
 */
#include "bq.h"
#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* macOS has no MSG_NOSIGNAL: there, ignoring SIGPIPE (in main) protects us. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum mode { M_SEQUENTIAL, M_THREAD, M_POOL, M_ALL };
static const char *const mode_names[] = {"sequential", "thread-per-request",
                                         "pool", "all", NULL};

enum bad_kind { BAD_IDLE, BAD_GARBAGE, BAD_HALF, BAD_ALL, BAD_NONE };
static const char *const bad_names[] = {"idle", "garbage", "half", "all", NULL};

#define MAX_LINE 64 /* a request line (with its '\n') must fit */
#define MAX_CLIENTS 256
#define MAX_REQUESTS 10000 /* per client */
#define MAX_WORKERS 256
#define MAX_BAD 64
#define TPR_MAX_THREADS 256  /* thread-per-request: handlers alive at once */
#define N_LIMIT 1000000000LL /* requests carry 0 <= n < N_LIMIT, so 2n fits */

/* ---- small socket helpers -------------------------------------------- */

enum rl { RL_OK, RL_TIMEOUT, RL_EOF, RL_LONG, RL_ERR };

/*
 * Read one '\n'-terminated line into buf (NUL-terminated, '\n' and a '\r'
 * before it removed) before the absolute deadline (kit_now() seconds).  The
 * deadline bounds the whole line, not each recv: a client that sends one byte
 * a second cannot hold a thread for longer than the timeout either.
 */
static enum rl read_line(int fd, char *buf, size_t cap, double deadline)
{
    size_t len = 0;
    for (;;) {
        double left_ms = (deadline - kit_now()) * 1000.0;
        if (left_ms <= 0)
            return RL_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)ceil(left_ms));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return RL_ERR;
        if (r == 0)
            return RL_TIMEOUT;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 &&
            (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            return RL_ERR; /* ECONNRESET and friends: the peer is gone */
        if (n == 0)
            return RL_EOF; /* the peer closed before finishing its line */
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl != NULL) {
            *nl = '\0';
            if (nl > buf && nl[-1] == '\r') /* tolerate telnet-style CRLF */
                nl[-1] = '\0';
            return RL_OK;
        }
        if (len >= cap - 1)
            return RL_LONG;
    }
}

/* Send all of s; false if the peer is gone or SO_SNDTIMEO expired. */
static bool send_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a peer that already closed gives EPIPE, not SIGPIPE. */
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        s += n;
        len -= (size_t)n;
    }
    return true;
}

static bool send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Every socket gets a deadline: reads go through poll (read_line), but a
 * send to a peer that stopped reading would block forever without this. */
static bool set_timeouts(int fd, double ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000.0);
    tv.tv_usec = (suseconds_t)((ms - (double)tv.tv_sec * 1000.0) * 1000.0);
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 &&
           setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

static bool set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return false;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl) == 0;
}

static void xclose(int fd)
{
    if (close(fd) != 0)
        warn_errno("close");
}

/* connect(2) with a deadline: non-blocking connect, then poll for it. */
static int connect_to(const struct sockaddr *sa, socklen_t salen,
                      double deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (!set_nonblocking(fd, true))
        goto fail;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            goto fail;
        for (;;) {
            double left_ms = (deadline - kit_now()) * 1000.0;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r = left_ms > 0 ? poll(&p, 1, (int)ceil(left_ms)) : 0;
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                goto fail;
            if (r == 0) {
                errno = ETIMEDOUT;
                goto fail;
            }
            break;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
    }
    if (!set_nonblocking(fd, false))
        goto fail;
    return fd;
fail:
    soerr = errno;
    close(fd);
    errno = soerr;
    return -1;
}

/* "DOUBLE 21" -> 21; false for anything else. */
static bool parse_request(const char *line, long long *n)
{
    return strncmp(line, "DOUBLE ", 7) == 0 &&
           kit_parse_ll(line + 7, 0, N_LIMIT - 1, n) == KIT_PARSE_OK;
}

/* ---- the server ------------------------------------------------------- */

typedef struct {
    int lfd;           /* listening socket on 127.0.0.1; main owns it */
    enum mode mode;    /* sequential, thread or pool: never M_ALL */
    int workers;       /* pool threads (mode pool) */
    double work_ms;    /* the simulated slow I/O of every request */
    double timeout_ms; /* bound on reading a request and on each send */
    int stop_pipe[2];  /* srv_stop writes a byte: the acceptor wakes, leaves */
    pthread_t acceptor;
    pthread_t *pool;     /* [workers] (mode pool) */
    bq q;                /* accepted connections waiting for a worker (pool) */
    pthread_mutex_t m;   /* guards the five fields below */
    pthread_cond_t idle; /* signalled whenever active drops */
    bool stopping;       /* srv_stop has begun: a closed queue is expected */
    int active;    /* thread-per-request handlers alive, <= TPR_MAX_THREADS */
    long answered; /* DOUBLE requests answered */
    long cut_off;  /* connections refused: garbage, timeout, half request */
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

/*
 * Say why, then hang up so that the reason arrives.  A close() with unread
 * input (the rest of the garbage) makes TCP send a reset, which can destroy
 * the reason before the client reads it.  So: half-close (the client sees
 * our FIN after the message), discard what it still sends for a short,
 * bounded while, then close: Apache's "lingering close".
 */
static void refuse(int fd, const char *why, double timeout_ms)
{
    if (send_str(fd, why) && shutdown(fd, SHUT_WR) == 0) {
        double ms = timeout_ms < 100 ? timeout_ms : 100;
        double end = kit_now() + ms / 1000.0;
        size_t drained = 0;
        char junk[512];
        while (drained < 64 * 1024) { /* until EOF, an error, or the end */
            double left_ms = (end - kit_now()) * 1000.0;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (left_ms <= 0 || poll(&p, 1, (int)ceil(left_ms)) <= 0)
                break;
            ssize_t n = recv(fd, junk, sizeof junk, 0);
            if (n <= 0)
                break;
            drained += (size_t)n;
        }
    }
    xclose(fd);
}

/* One connection, one request: read it, "process" it, answer, close. */
static void serve_conn(server *s, int fd)
{
    char line[MAX_LINE], out[96];
    long long n;
    bool answered = false;
    if (!set_timeouts(fd, s->timeout_ms)) {
        warn_errno("setsockopt");
        xclose(fd);
        count(s, false);
        return;
    }
    enum rl r =
        read_line(fd, line, sizeof line, kit_now() + s->timeout_ms / 1000.0);
    if (r == RL_OK && parse_request(line, &n)) {
        /* The "processing": slow I/O, such as a database, a disk, a service. */
        kit_sleep_ms(s->work_ms);
        snprintf(out, sizeof out, "%lld\n", 2 * n);
        answered = send_str(fd, out);
    } else if (r == RL_OK && strcmp(line, "INFO") == 0) {
        snprintf(out, sizeof out,
                 "mode %s workers %d work_ms %.3f timeout_ms %.0f\n",
                 mode_names[s->mode], s->mode == M_POOL ? s->workers : 0,
                 s->work_ms, s->timeout_ms);
        send_str(fd, out);
        xclose(fd);
        return; /* a question about the server, not a request: not counted */
    } else if (r == RL_OK || r == RL_LONG) {
        refuse(fd, "ERR bad request\n", s->timeout_ms);
        fd = -1;
    } else if (r == RL_TIMEOUT) {
        refuse(fd, "ERR timeout\n", s->timeout_ms);
        fd = -1;
    } /* RL_EOF, RL_ERR: it hung up mid-request; nobody to answer */
    if (fd >= 0)
        xclose(fd);
    count(s, answered);
}

/* thread-per-request: a detached thread per connection (CS:APP's
 * echoservert).  The last thing it does is to say it is gone, so srv_stop
 * can wait for all of them. */
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
    if (rc == 0)
        rc = pthread_detach(t);
    else {
        /* Out of threads (EAGAIN): refuse this one, keep serving. */
        errno = rc;
        warn_errno("pthread_create");
        free(job);
        xclose(fd);
        xmutex_lock(&s->m);
        s->active--;
        s->cut_off++;
        xmutex_unlock(&s->m);
        return;
    }
    if (rc != 0)
        die_code(rc, "pthread_detach");
}

/* pool: a worker takes connections until the queue is closed and drained. */
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

static void *acceptor_main(void *arg)
{
    server *s = arg;
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
                warn_errno("accept"); /* out of descriptors: back off, retry */
                kit_sleep_ms(50);
                continue;
            }
            die_errno("accept");
        }
        /* Linux does not pass O_NONBLOCK on to accepted sockets, BSD does:
         * say what we want. */
        if (!set_nonblocking(fd, false)) {
            warn_errno("fcntl");
            xclose(fd);
            continue;
        }
        switch (s->mode) {
        case M_SEQUENTIAL:
            serve_conn(s, fd); /* nobody else is accepted meanwhile */
            break;
        case M_THREAD:
            spawn_handler(s, fd); /* a thread per connection */
            break;
        case M_POOL: {
            int *item = xmalloc(sizeof *item);
            *item = fd;
            /* Blocks while the queue is full: backpressure.  Workers free a
             * slot within work + 2 timeouts, so this cannot hang. */
            bq_status st = bq_put(&s->q, item);
            /* Only srv_stop closes the queue, after this thread has ended. */
            if (st != BQ_OK)
                die("pool acceptor: bq_put returned %s on an open queue: "
                    "is bq_put finished (TODO 04.1 in bq.c)?",
                    bq_status_name(st));
            break;
        }
        case M_ALL: /* never a server's mode */ break;
        }
    }
    return NULL;
}

static void srv_start(server *s, int lfd, enum mode mode, int workers,
                      int capacity, double work_ms, double timeout_ms)
{
    memset(s, 0, sizeof *s);
    s->lfd = lfd;
    s->mode = mode;
    s->workers = workers;
    s->work_ms = work_ms;
    s->timeout_ms = timeout_ms;
    xmutex_init(&s->m);
    xcond_init(&s->idle);
    if (pipe(s->stop_pipe) != 0)
        die_errno("pipe");
    if (mode == M_POOL) {
        bq_init(&s->q, (size_t)capacity);
        /* The pool runs on bq.c, which the handout leaves to students
         * (exercises 04.1, 04.2).  Try it once, alone, before any thread
         * depends on it: one clear message instead of a confusing failure. */
        int probe = 0;
        void *back = NULL;
        if (bq_put(&s->q, &probe) != BQ_OK || bq_get(&s->q, &back) != BQ_OK ||
            back != &probe)
            die("--mode pool runs on bq.c, and a put then a get on a new queue "
                "did not return the item: finish TODO 04.1/04.2 in bq.c first");
        s->pool = xcalloc((size_t)workers, sizeof *s->pool);
        for (int i = 0; i < workers; i++)
            xpthread_create(&s->pool[i], worker_main, s);
    }
    xpthread_create(&s->acceptor, acceptor_main, s);
}

/* Stop accepting, finish what was accepted, leave no thread and no fd. */
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

/* A listening socket on 127.0.0.1 only: nothing off this machine reaches it. */
static int listen_loopback(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die_errno("socket");
    /* So that --serve can restart on the same --port while connections of
     * the previous run linger in TIME_WAIT. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        die_errno("setsockopt SO_REUSEADDR");
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die_errno("bind 127.0.0.1:%d", port);
    if (listen(fd, 1024) != 0) /* the kernel caps it at somaxconn */
        die_errno("listen");
    if (!set_nonblocking(fd, true))
        die_errno("fcntl");
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die_errno("getsockname");
    *bound = ntohs(a.sin_port);
    return fd;
}

/* ---- the load generator ----------------------------------------------- */

typedef struct {
    struct sockaddr_storage addr; /* where the server listens */
    socklen_t addrlen;
    int requests;   /* per good client */
    double wait_ms; /* a client gives up on one request after this */
} target;

typedef struct {
    const target *t;
    int id;
    enum bad_kind bad; /* BAD_NONE: a well-behaved client */
    kit_gate *gate;    /* all clients start together */
    double *lat_ms;    /* this client's slots: lat_ms[0 .. ok) */
    int ok;            /* answers received and correct */
    int failed;        /* requests that got no answer or a wrong one */
    bool cut_off;      /* bad client: the server refused or closed it in time */
    double done_at;    /* kit_now() when this client finished */
    char err[128];     /* the first failure, for the report */
} client;

static void client_fail(client *c, const char *what, int err)
{
    c->failed++;
    if (c->err[0] == '\0')
        snprintf(c->err, sizeof c->err, "%s%s%s", what, err ? ": " : "",
                 err ? strerror(err) : "");
}

static void good_client(client *c)
{
    const target *t = c->t;
    for (int i = 0; i < t->requests; i++) {
        /* Every request of the run asks a different question. */
        long long n = (long long)c->id * t->requests + i;
        double t0 = kit_now(), deadline = t0 + t->wait_ms / 1000.0;
        int fd =
            connect_to((const struct sockaddr *)&t->addr, t->addrlen, deadline);
        if (fd < 0) {
            client_fail(c, "connect", errno);
            continue;
        }
        char buf[MAX_LINE];
        snprintf(buf, sizeof buf, "DOUBLE %lld\n", n);
        long long got;
        if (!set_timeouts(fd, t->wait_ms) || !send_str(fd, buf))
            client_fail(c, "send", errno);
        else if (read_line(fd, buf, sizeof buf, deadline) != RL_OK)
            client_fail(c, "no answer before the deadline", 0);
        else if (kit_parse_ll(buf, 0, 2 * N_LIMIT, &got) != KIT_PARSE_OK ||
                 got != 2 * n)
            client_fail(c, "wrong answer", 0);
        else
            c->lat_ms[c->ok++] = (kit_now() - t0) * 1000.0;
        xclose(fd);
    }
}

/* A client that misbehaves once, then checks that the server got rid of it
 * (ERR, or the connection closed) before its own, longer deadline. */
static void bad_client(client *c)
{
    const target *t = c->t;
    double deadline = kit_now() + t->wait_ms / 1000.0;
    int fd =
        connect_to((const struct sockaddr *)&t->addr, t->addrlen, deadline);
    if (fd < 0) {
        snprintf(c->err, sizeof c->err, "bad client: connect: %s",
                 strerror(errno));
        return;
    }
    if (set_timeouts(fd, t->wait_ms)) {
        /* garbage: someone else's protocol (a web browser's, say) */
        if (c->bad == BAD_GARBAGE)
            send_str(fd, "GET / HTTP/1.0\r\n\r\n");
        else if (c->bad == BAD_HALF)
            send_str(fd, "DOUBLE 12"); /* ...and never the '\n' */
        /* BAD_IDLE: connects and says nothing at all */
        char buf[MAX_LINE];
        enum rl r = read_line(fd, buf, sizeof buf, deadline);
        c->cut_off = (r == RL_OK && strncmp(buf, "ERR", 3) == 0) ||
                     r == RL_EOF || r == RL_ERR;
        if (!c->cut_off)
            snprintf(c->err, sizeof c->err, "a %s client was never cut off",
                     bad_names[c->bad]);
    }
    xclose(fd);
}

static void *client_main(void *arg)
{
    client *c = arg;
    gate_wait(c->gate);
    if (c->bad == BAD_NONE)
        good_client(c);
    else
        bad_client(c);
    c->done_at = kit_now();
    return NULL;
}

typedef struct {
    const char *mode; /* label: a mode name, or the remote server's mode */
    int concurrency;  /* requests the server works on at once: ideal speedup */
    long ok, failed;
    double seconds; /* from the start until the last good client finished */
    double req_per_sec, p50_ms, p99_ms;
    int bad, bad_cut_off;
    char err[128]; /* first failure seen by any client */
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, long n, double p)
{
    if (n == 0)
        return NAN; /* written as null in JSON, "-" in the table */
    long k = (long)ceil(p / 100.0 * (double)n);
    return v[k < 1 ? 0 : k - 1];
}

static void run_load(const target *t, int clients, int nbad, enum bad_kind bad,
                     result *res)
{
    int n = clients + nbad;
    client *cs = xcalloc((size_t)n, sizeof *cs);
    pthread_t *th = xcalloc((size_t)n, sizeof *th);
    double *lat = xcalloc((size_t)clients * (size_t)t->requests, sizeof *lat);
    kit_gate gate;
    gate_init(&gate, n + 1);
    for (int i = 0; i < n; i++) {
        cs[i].t = t;
        cs[i].id = i;
        cs[i].gate = &gate;
        cs[i].bad = i < clients      ? BAD_NONE
                    : bad == BAD_ALL ? (enum bad_kind)((i - clients) % 3)
                                     : bad;
        cs[i].lat_ms =
            i < clients ? lat + (size_t)i * (size_t)t->requests : NULL;
        xpthread_create(&th[i], client_main, &cs[i]);
    }
    gate_wait(&gate);
    double t0 = kit_now();
    for (int i = 0; i < n; i++)
        xpthread_join(th[i]);
    gate_destroy(&gate);

    /* Gather every client's latencies into one sorted array. */
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (cs[i].bad == BAD_NONE) {
            memmove(lat + total, cs[i].lat_ms, (size_t)cs[i].ok * sizeof *lat);
            total += cs[i].ok;
            res->failed += cs[i].failed;
            /* Throughput counts the good clients' time only: a bad client
             * waiting to be cut off is not work the server does. */
            if (cs[i].done_at - t0 > res->seconds)
                res->seconds = cs[i].done_at - t0;
        } else {
            res->bad++;
            res->bad_cut_off += cs[i].cut_off;
        }
        if (res->err[0] == '\0' && cs[i].err[0] != '\0')
            snprintf(res->err, sizeof res->err, "%s", cs[i].err);
    }
    res->ok = total;
    qsort(lat, (size_t)total, sizeof *lat, cmp_double);
    res->req_per_sec = res->seconds > 0 ? (double)total / res->seconds : 0;
    res->p50_ms = percentile(lat, total, 50);
    res->p99_ms = percentile(lat, total, 99);
    free(lat);
    free(th);
    free(cs);
}

/* ---- --connect: where, and is it allowed ------------------------------ */

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127; /* 127.0.0.0/8 */
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a =
            &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* "127.0.0.1:5000", "[::1]:5000", "localhost:5000".  Without --allow-remote
 * only numeric addresses are accepted, so not even a DNS query leaves the
 * machine, and they must be loopback. */
static void parse_connect(const char *arg, bool allow_remote, target *t)
{
    char host[256];
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof host)
        usage_error(
            "--connect: expected HOST:PORT such as 127.0.0.1:5000, got '%s'",
            arg);
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') { /* [::1] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    long long port;
    if (kit_parse_ll(colon + 1, 1, 65535, &port) != KIT_PARSE_OK)
        usage_error(
            "--connect: port: expected an integer in 1..65535, got '%s'",
            colon + 1);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = allow_remote ? 0 : AI_NUMERICHOST;
    int rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0 || ai == NULL || ai->ai_addrlen > sizeof t->addr)
        usage_error("--connect: cannot use '%s' (%s)%s", host, gai_strerror(rc),
                    allow_remote
                        ? ""
                        : "; names other than localhost need --allow-remote");
    memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
    t->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (t->addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&t->addr)->sin_port =
            htons((unsigned short)port);
    else
        ((struct sockaddr_in6 *)&t->addr)->sin6_port =
            htons((unsigned short)port);
    if (!allow_remote && !is_loopback(&t->addr))
        usage_error(
            "--connect: %s is not a loopback address; add --allow-remote to "
            "send requests off this machine",
            host);
}

/* Ask a --serve instance what it is (INFO), so the report can say so and the
 * clients can wait long enough for it. */
typedef struct {
    enum mode mode;
    int workers;
    double work_ms, timeout_ms;
} server_info;

static void ask_info(const target *t, const char *where, server_info *info)
{
    double deadline = kit_now() + 2.0;
    int fd =
        connect_to((const struct sockaddr *)&t->addr, t->addrlen, deadline);
    if (fd < 0)
        die_errno("--connect %s", where);
    char buf[128];
    if (!set_timeouts(fd, 2000) || !send_str(fd, "INFO\n") ||
        read_line(fd, buf, sizeof buf, deadline) != RL_OK)
        die("--connect %s: no answer to INFO: is it a './server --serve'?",
            where);
    xclose(fd);
    /* "mode pool workers 4 work_ms 20 timeout_ms 1000" */
    int seen = 0;
    char *save = NULL;
    for (char *key = strtok_r(buf, " ", &save); key;
         key = strtok_r(NULL, " ", &save)) {
        char *val = strtok_r(NULL, " ", &save);
        long long w;
        if (val == NULL)
            break;
        if (strcmp(key, "mode") == 0) {
            for (int m = 0; m < M_ALL; m++)
                if (strcmp(val, mode_names[m]) == 0) {
                    info->mode = (enum mode)m;
                    seen |= 1;
                }
        } else if (strcmp(key, "workers") == 0 &&
                   kit_parse_ll(val, 0, MAX_WORKERS, &w) == KIT_PARSE_OK) {
            info->workers = (int)w;
            seen |= 2;
        } else if (strcmp(key, "work_ms") == 0 &&
                   kit_parse_double(val, 0, 1e6, &info->work_ms) ==
                       KIT_PARSE_OK) {
            seen |= 4;
        } else if (strcmp(key, "timeout_ms") == 0 &&
                   kit_parse_double(val, 0, 1e6, &info->timeout_ms) ==
                       KIT_PARSE_OK) {
            seen |= 8;
        }
    }
    if (seen != 15)
        die("--connect %s: unexpected answer to INFO: "
            "is it a './server --serve'?",
            where);
}

/* ---- main -------------------------------------------------------------- */

static const char usage_text[] =
    "usage: server [options]             test an in-process server, by mode\n"
    "       server --serve [--port P]    only serve, until Ctrl-C\n"
    "       server --connect HOST:PORT   test a running 'server --serve'\n"
    "\n"
    "Request -> processing -> response: each request waits --work-ms on\n"
    "simulated slow I/O.  Serve them one at a time, one thread each, or\n"
    "with a pool of workers, and compare throughput and latency.\n"
    "\n"
    "server:\n"
    "  -m, --mode M        sequential|thread-per-request|pool|all\n"
    "                      (default all; with --serve one, default pool)\n"
    "  -w, --workers N     pool threads, 1..256 (default 4)\n"
    "  -k, --queue K       pool queue capacity, 1..1024 (default 16)\n"
    "  -W, --work-ms W     ms of 'I/O' per request, 0..10000 (default 20)\n"
    "  -t, --timeout-ms T  a client has T ms to send its request, every\n"
    "                      send T ms to finish, 10..60000 (default 1000)\n"
    "      --serve         serve only, on 127.0.0.1; Ctrl-C stops it\n"
    "  -p, --port P        with --serve: 0..65535, 0 = any free (default 0)\n"
    "load generator:\n"
    "  -c, --clients N     concurrent clients, 1..256 (default 8)\n"
    "  -n, --requests M    requests per client, one connection each,\n"
    "                      1..10000 (default 10)\n"
    "      --connect H:P   load a running 'server --serve' (loopback only)\n"
    "      --allow-remote  let --connect leave this machine\n"
    "      --misbehave K   add clients that are idle|garbage|half|all:\n"
    "                      they send nothing, junk, or half a request;\n"
    "                      the server must cut them off, alone\n"
    "      --bad-clients B how many misbehave, 1..64 (default 3)\n"
    "  -j, --json          one JSON object on stdout instead of the table\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  ./server                      all three modes side by side\n"
    "  ./server --mode pool --workers 8 --clients 16\n"
    "  ./server --misbehave idle --timeout-ms 300\n"
    "  ./server --serve --port 5000 &\n"
    "  ./server --connect 127.0.0.1:5000;  kill -INT %1\n";

/* Long-only options. */
enum {
    OPT_SERVE = 256,
    OPT_CONNECT,
    OPT_ALLOW_REMOTE,
    OPT_MISBEHAVE,
    OPT_BAD_CLIENTS
};

/* Which options were given, to reject combinations that mean nothing. */
enum {
    G_MODE = 1 << 0,
    G_WORKERS = 1 << 1,
    G_QUEUE = 1 << 2,
    G_WORK = 1 << 3,
    G_TIMEOUT = 1 << 4,
    G_PORT = 1 << 5,
    G_CLIENTS = 1 << 6,
    G_REQUESTS = 1 << 7,
    G_MISBEHAVE = 1 << 8,
    G_BAD = 1 << 9,
    G_JSON = 1 << 10,
    G_ALLOW = 1 << 11,
};

static void conflict(unsigned given, unsigned bit, const char *opt,
                     const char *why)
{
    if (given & bit)
        usage_error("%s: %s", opt, why);
}

static int serve_forever(int port, enum mode mode, int workers, int capacity,
                         double work_ms, double timeout_ms)
{
    /* Block SIGINT/SIGTERM before any thread exists, so every thread
     * inherits the mask and only sigwait() below receives them: the
     * shutdown then runs as ordinary code, not in a signal handler. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
    int bound;
    int lfd = listen_loopback(port, &bound);
    server s;
    srv_start(&s, lfd, mode, workers, capacity, work_ms, timeout_ms);
    char extra[32] = "";
    if (mode == M_POOL)
        snprintf(extra, sizeof extra, " (%d workers)", workers);
    printf("server: listening on 127.0.0.1:%d, mode %s%s, "
           "%g ms of work per request; stop with Ctrl-C\n",
           bound, mode_names[mode], extra, work_ms);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    int sig;
    rc = sigwait(&set, &sig);
    if (rc != 0)
        die_code(rc, "sigwait");
    double t0 = kit_now();
    srv_stop(&s); /* in-flight requests finish: bounded by work + timeouts */
    xclose(lfd);
    printf("server: %s: stopped in %.0f ms after answering %ld requests "
           "and cutting off %ld connections; no thread or socket left\n",
           sig == SIGINT ? "SIGINT" : "SIGTERM", (kit_now() - t0) * 1000.0,
           s.answered, s.cut_off);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    return 0;
}

static void print_json(const result *res, int nres, double work_ms, int clients,
                       int requests, bool with_bad)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_double(&j, "work_ms", work_ms);
    json_int(&j, "clients", clients);
    json_int(&j, "requests", requests);
    json_arr(&j, "runs");
    for (int i = 0; i < nres; i++) {
        json_obj(&j, NULL);
        json_str(&j, "mode", res[i].mode);
        json_int(&j, "ok", res[i].ok);
        json_int(&j, "failed", res[i].failed);
        json_double(&j, "req_per_sec", res[i].req_per_sec);
        json_double(&j, "p50_ms", res[i].p50_ms);
        json_double(&j, "p99_ms", res[i].p99_ms);
        if (with_bad) {
            json_int(&j, "bad_clients", res[i].bad);
            json_int(&j, "bad_cut_off", res[i].bad_cut_off);
        }
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static bool run_ok(const result *r, long expected)
{
    return r->ok == expected && r->failed == 0 && r->bad_cut_off == r->bad;
}

static void print_table(const result *res, int nres, int clients, long expected,
                        bool with_bad)
{
    const result *seq = NULL;
    for (int i = 0; i < nres; i++)
        if (strcmp(res[i].mode, "sequential") == 0)
            seq = &res[i];
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "mode", TBL_LEFT);
    tbl_col(&t, "threads", TBL_RIGHT);
    tbl_col(&t, "expected", TBL_RIGHT);
    tbl_col(&t, "ok", TBL_RIGHT);
    tbl_col(&t, "failed", TBL_RIGHT);
    tbl_col(&t, "req/s", TBL_RIGHT);
    tbl_col(&t, "p50 ms", TBL_RIGHT);
    tbl_col(&t, "p99 ms", TBL_RIGHT);
    /* The ideal is the number of requests served at once; bad clients
     * stall the sequential server, so then there is no simple ideal. */
    tbl_col(&t, with_bad ? "speedup" : "speedup (ideal)", TBL_RIGHT);
    if (with_bad)
        tbl_col(&t, "bad cut off", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        tbl_cell(&t, "%s", r->mode);
        tbl_cell(&t, "%d", r->concurrency);
        tbl_cell(&t, "%ld", expected);
        tbl_cell(&t, "%ld", r->ok);
        tbl_cell(&t, "%ld", r->failed);
        tbl_cell(&t, "%.1f", r->req_per_sec);
        if (r->ok > 0) {
            tbl_cell(&t, "%.1f", r->p50_ms);
            tbl_cell(&t, "%.1f", r->p99_ms);
        } else {
            tbl_cell(&t, "-");
            tbl_cell(&t, "-");
        }
        double speedup =
            seq && seq->req_per_sec > 0 ? r->req_per_sec / seq->req_per_sec : 0;
        int ideal = r->concurrency < clients ? r->concurrency : clients;
        if (speedup > 0 && !with_bad)
            tbl_cell(&t, "%.1fx (%dx)", speedup, ideal);
        else if (speedup > 0)
            tbl_cell(&t, "%.1fx", speedup);
        else
            tbl_cell(&t, "-");
        if (with_bad)
            tbl_cell(&t, "%d/%d", r->bad_cut_off, r->bad);
        if (run_ok(r, expected))
            tbl_cell(&t, "OK");
        else if (r->bad_cut_off != r->bad && r->ok == expected)
            tbl_cell(&t, "STALLED: a bad client was never cut off");
        else
            tbl_cell(&t, "FAILED: %ld requests (%s)", expected - r->ok, r->err);
    }
    tbl_print(&t, stdout);
}

int main(int argc, char **argv)
{
    kit_set_prog("server");
    enum mode mode = M_ALL;
    enum bad_kind bad = BAD_NONE;
    int workers = 4, capacity = 16, port = 0, clients = 8, requests = 10,
        nbad = 3;
    double work_ms = 20, timeout_ms = 1000;
    bool json = false, serve = false, allow_remote = false;
    const char *connect_arg = NULL;
    unsigned given = 0;

    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"workers", required_argument, NULL, 'w'},
        {"queue", required_argument, NULL, 'k'},
        {"work-ms", required_argument, NULL, 'W'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"serve", no_argument, NULL, OPT_SERVE},
        {"port", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'},
        {"connect", required_argument, NULL, OPT_CONNECT},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"misbehave", required_argument, NULL, OPT_MISBEHAVE},
        {"bad-clients", required_argument, NULL, OPT_BAD_CLIENTS},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":m:w:k:W:t:p:c:n:jh", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'm':
            mode = (enum mode)opt_choice("--mode", optarg, mode_names);
            given |= G_MODE;
            break;
        case 'w':
            workers = (int)opt_int("--workers", optarg, 1, MAX_WORKERS);
            given |= G_WORKERS;
            break;
        case 'k':
            capacity = (int)opt_int("--queue", optarg, 1, 1024);
            given |= G_QUEUE;
            break;
        case 'W':
            work_ms = opt_double("--work-ms", optarg, 0, 10000);
            given |= G_WORK;
            break;
        case 't':
            timeout_ms = opt_double("--timeout-ms", optarg, 10, 60000);
            given |= G_TIMEOUT;
            break;
        case 'p':
            port = (int)opt_int("--port", optarg, 0, 65535);
            given |= G_PORT;
            break;
        case 'c':
            clients = (int)opt_int("--clients", optarg, 1, MAX_CLIENTS);
            given |= G_CLIENTS;
            break;
        case 'n':
            requests = (int)opt_int("--requests", optarg, 1, MAX_REQUESTS);
            given |= G_REQUESTS;
            break;
        case OPT_SERVE: serve = true; break;
        case OPT_CONNECT:
            if (optarg[0] == '\0')
                usage_error("--connect: expected HOST:PORT such as "
                            "127.0.0.1:5000, got ''");
            connect_arg = optarg;
            break;
        case OPT_ALLOW_REMOTE:
            allow_remote = true;
            given |= G_ALLOW;
            break;
        case OPT_MISBEHAVE:
            bad = (enum bad_kind)opt_choice("--misbehave", optarg, bad_names);
            given |= G_MISBEHAVE;
            break;
        case OPT_BAD_CLIENTS:
            nbad = (int)opt_int("--bad-clients", optarg, 1, MAX_BAD);
            given |= G_BAD;
            break;
        case 'j':
            json = true;
            given |= G_JSON;
            break;
        case 'h': kit_help(usage_text);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    /* Options that would be silently ignored are mistakes: say so. */
    if (serve) {
        const char *why = "only for the load generator, not with --serve";
        if (connect_arg)
            usage_error("--connect: not with --serve (run the load generator "
                        "separately)");
        conflict(given, G_CLIENTS, "--clients", why);
        conflict(given, G_REQUESTS, "--requests", why);
        conflict(given, G_MISBEHAVE, "--misbehave", why);
        conflict(given, G_BAD, "--bad-clients", why);
        conflict(given, G_JSON, "--json", why);
        conflict(given, G_ALLOW, "--allow-remote", why);
        if (mode == M_ALL && (given & G_MODE))
            usage_error("--mode: --serve runs one mode: "
                        "sequential|thread-per-request|pool");
        if (mode == M_ALL)
            mode = M_POOL;
    } else {
        conflict(
            given, G_PORT, "--port",
            "only with --serve (the in-process server takes any free port)");
    }
    if (connect_arg) {
        const char *why = "set by the server you --connect to, not here";
        conflict(given, G_MODE, "--mode", why);
        conflict(given, G_WORKERS, "--workers", why);
        conflict(given, G_QUEUE, "--queue", why);
        conflict(given, G_WORK, "--work-ms", why);
        conflict(given, G_TIMEOUT, "--timeout-ms", why);
    } else {
        conflict(given, G_ALLOW, "--allow-remote", "only with --connect");
    }
    if ((given & G_BAD) && bad == BAD_NONE)
        usage_error(
            "--bad-clients: only with --misbehave idle|garbage|half|all");
    if (bad == BAD_NONE)
        nbad = 0;

    /* A client that left must not kill the server with SIGPIPE (MSG_NOSIGNAL
     * covers Linux; this covers systems without it). */
    kit_ignore_sigpipe();

    if (serve)
        return serve_forever(port, mode, workers, capacity, work_ms,
                             timeout_ms);

    target t;
    memset(&t, 0, sizeof t);
    t.requests = requests;
    result res[3];
    memset(res, 0, sizeof res);
    int nres = 0;
    char where[300] = "";
    if (connect_arg) {
        parse_connect(connect_arg, allow_remote, &t);
        server_info info;
        memset(&info, 0, sizeof info);
        ask_info(&t, connect_arg, &info);
        work_ms = info.work_ms;
        timeout_ms = info.timeout_ms;
        snprintf(where, sizeof where, "the server at %s", connect_arg);
        /* The longest a request can wait: every other client's request and
         * every bad client's timeout ahead of it (sequential), doubled. */
        t.wait_ms =
            2 * (2000 + (clients + 1) * work_ms + (nbad + 1) * timeout_ms);
        res[0].mode = mode_names[info.mode];
        res[0].concurrency = info.mode == M_SEQUENTIAL ? 1
                             : info.mode == M_POOL     ? info.workers
                                                       : clients + nbad;
        run_load(&t, clients, nbad, bad, &res[0]);
        nres = 1;
    } else {
        int bound;
        int lfd = listen_loopback(0, &bound); /* one socket for every mode */
        struct sockaddr_in *a = (struct sockaddr_in *)&t.addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)bound);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        t.addrlen = sizeof *a;
        t.wait_ms =
            2 * (2000 + (clients + 1) * work_ms + (nbad + 1) * timeout_ms);
        snprintf(where, sizeof where,
                 "an in-process server on 127.0.0.1:%d (port 0: any free one)",
                 bound);
        for (int m = 0; m < M_ALL; m++) {
            if (mode != M_ALL && mode != (enum mode)m)
                continue;
            server s;
            srv_start(&s, lfd, (enum mode)m, workers, capacity, work_ms,
                      timeout_ms);
            run_load(&t, clients, nbad, bad, &res[nres]);
            srv_stop(&s);
            res[nres].mode = mode_names[m];
            res[nres].concurrency = m == M_SEQUENTIAL ? 1
                                    : m == M_POOL     ? workers
                                                      : clients + nbad;
            nres++;
        }
        xclose(lfd);
    }

    long expected = (long)clients * requests;
    bool all_ok = true;
    for (int i = 0; i < nres; i++)
        all_ok = all_ok && run_ok(&res[i], expected);
    if (json) {
        print_json(res, nres, work_ms, clients, requests, bad != BAD_NONE);
    } else {
        printf("%d clients x %d requests, each waiting %g ms on simulated "
               "slow I/O,\nagainst %s\n",
               clients, requests, work_ms, where);
        if (bad != BAD_NONE)
            printf("plus %d misbehaving client%s (%s), to be cut off after %g "
                   "ms\n",
                   nbad, nbad == 1 ? "" : "s", bad_names[bad], timeout_ms);
        printf("\n");
        print_table(res, nres, clients, expected, bad != BAD_NONE);
        printf("\n");
        const result *seq = NULL, *pool = NULL;
        for (int i = 0; i < nres; i++) {
            if (strcmp(res[i].mode, "sequential") == 0)
                seq = &res[i];
            if (strcmp(res[i].mode, "pool") == 0)
                pool = &res[i];
        }
        if (seq && pool && seq->req_per_sec > 0 && work_ms == 0)
            printf("Notice: with no work to wait for there is nothing to "
                   "overlap: what differs is each\n"
                   "        mode's overhead (a thread per request pays for "
                   "creating a thread).\n");
        else if (seq && pool && seq->req_per_sec > 0)
            printf("Notice: %d pool workers answer %.1fx the requests per "
                   "second of one thread.\n"
                   "        The work is waiting, not computing: waits overlap "
                   "on any number of CPUs.\n",
                   workers, pool->req_per_sec / seq->req_per_sec);
        if (seq && (bad == BAD_IDLE || bad == BAD_HALF || bad == BAD_ALL))
            printf("Notice: each silent client held the sequential server's "
                   "only thread for %g ms,\n"
                   "        and everyone queued behind it (see p99); in the "
                   "pool it held one worker.\n",
                   timeout_ms);
        if (bad == BAD_GARBAGE)
            printf("Notice: garbage costs the server almost nothing: "
                   "'ERR bad request', and it hangs up.\n");
        if (!seq || !pool)
            printf("Notice: every answer was checked (DOUBLE n -> 2n); "
                   "compare req/s and p99\n"
                   "        with the other --mode values.\n");
    }
    if (fflush(stdout) != 0)
        die_errno("stdout");
    if (!all_ok) {
        for (int i = 0; i < nres; i++)
            if (!run_ok(&res[i], expected))
                warn_msg("%s: %ld of %ld requests answered correctly, "
                         "%d of %d bad clients cut off%s%s",
                         res[i].mode, res[i].ok, expected, res[i].bad_cut_off,
                         res[i].bad, res[i].err[0] ? "; first problem: " : "",
                         res[i].err);
        return 1;
    }
    return 0;
}
