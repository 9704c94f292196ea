/*
 * mpqueue.c - multiprocessing.Queue in C: producer and consumer processes, a pipe, exactly once
 *
 * What it demonstrates
 *   queue.c's experiment with PROCESSES: P producer processes send N
 *   numbered items through one pipe (the work queue) to C consumer
 *   processes, which check each item and acknowledge it to the parent
 *   through a second pipe (the result queue); the parent checks every item
 *   off: none lost, none delivered twice.
 *
 *   A pipe is a byte stream, so items are framed: a 4-byte length, then the
 *   body (bodies have different sizes on purpose).  Two rules keep frames
 *   whole with many writers and many readers:
 *     writers   each write() is a batch of whole frames of at most PIPE_BUF
 *               bytes, and POSIX makes such writes atomic: frames of
 *               different producers never interleave.  No lock needed.
 *     readers   reading a frame takes two read()s (length, then body), and
 *               nothing stops another reader from taking bytes in between;
 *               so with C > 1 a consumer holds a process-shared lock while it
 *               reads one frame.  Here the lock is itself a pipe holding one
 *               token byte: read it to lock, write it back to unlock.
 *   (Python's multiprocessing.Queue does the same: a lock for readers, and
 *   for writers too where writes are not atomic.)
 *   --transport mq uses a POSIX message queue instead (Linux): it keeps
 *   message boundaries, so no framing and no reader lock - but it has no EOF,
 *   so the parent sends each consumer a "stop" message (a poison pill).
 *
 *   The pitfall from Python's docs: a parent that joins its children before
 *   draining the result queue deadlocks once the pipe is full (64 KiB on
 *   Linux): the consumers block writing results nobody reads, the producers
 *   block writing items nobody takes, and the parent waits for all of them.
 *   --join-first does exactly that; a watchdog explains and exits 3.  It
 *   counts only time the parent ran: Ctrl-Z then `fg` is no stall.  A child
 *   that dies is named at once, with how it died, and the run exits 1.
 *
 * What you will observe
 *   "OK: every item delivered exactly once", items per second (far fewer
 *   than ./queue: every item costs system calls now), and with --join-first
 *   "DEADLOCK" after about a second.
 *
 * Usage
 *   ./mpqueue [-p P] [-c C] [-k CAPACITY] [-n ITEMS] [--transport pipe|mq]
 *             [--join-first] [--json]
 *
 * See also
 *   queue.c (threads), pipe.c (EOF and closing ends), pipe(7) (PIPE_BUF),
 *   mq_overview(7); "Joining processes that use queues" in
 *   https://docs.python.org/3/library/multiprocessing.html#programming-guidelines
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "xpthread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <mqueue.h>
#define HAVE_MQ 1
#else
#define HAVE_MQ 0
#endif

#define EXIT_WATCHDOG 3
#define MAX_PROCS 64
#define MAX_ITEMS 10000000LL

/* A frame on the work pipe: uint32 body length, then the body:
 *     uint32 producer, uint64 seq, 0..28 filler bytes (seq + i).
 * The largest frame is 4 + 12 + 28 = 44 bytes, far below the 512 bytes
 * that POSIX promises PIPE_BUF to be at least. */
#define BODY_FIXED 12
#define FILLER_MAX 28
#define BODY_MAX (BODY_FIXED + FILLER_MAX)
#define FRAME_MAX (4 + BODY_MAX)
#define PILL UINT32_MAX /* producer number of a "stop" message (mq) */
_Static_assert(FRAME_MAX <= 512, "a frame must fit in the smallest PIPE_BUF");

/* An acknowledgement on the result pipe: the item's id, top bit set if its
 * body was damaged. */
#define ACK_BAD (1ULL << 63)

enum transport { T_PIPE, T_MQ };
static const char *const transport_names[] = {"pipe", "mq", NULL};

typedef struct {
    long long producers, consumers, capacity, items;
    enum transport transport;
    bool join_first, json;
    double watchdog_ms;
} config;

/* ---- children and signals: nothing may outlive a Ctrl-C -----------------
 *
 * Children are made with kit_fork(), which records them; on a stop signal
 * (KIT_STOP_SIGNALS: SIGINT, SIGTERM, SIGHUP, SIGQUIT) the handler from
 * kit_cleanup_on() (see main) kills and reaps them all, then dies of the
 * signal (common/proc.h).  The message queue, if any, was
 * unlinked at birth, so nothing else is left to remove.  The list below is
 * the event loop's own: which child is which, and which are reaped. */

static pid_t children[2 * MAX_PROCS]; /* [0, P): producers; 0 once reaped */
static int nchildren;

/* ---- byte I/O: kit_read_all/kit_write_all (common/proc.h) move whole
 * buffers; kit_read_all returns 0 only at EOF before the first byte. ----- */

static size_t body_len(uint64_t seq)
{
    return BODY_FIXED + (size_t)(seq % (FILLER_MAX + 1));
}

static void make_body(unsigned char *b, uint32_t producer, uint64_t seq)
{
    memcpy(b, &producer, 4);
    memcpy(b + 4, &seq, 8);
    for (size_t i = BODY_FIXED; i < body_len(seq); i++)
        b[i] = (unsigned char)(seq + i);
}

/* The ack for a body: its id, or its id | ACK_BAD if the body is damaged. */
static uint64_t check_body(const unsigned char *b, size_t len, const config *c)
{
    uint32_t who;
    uint64_t seq;
    if (len < BODY_FIXED)
        return ACK_BAD;
    memcpy(&who, b, 4);
    memcpy(&seq, b + 4, 8);
    uint64_t id = seq * (uint64_t)c->producers + who;
    bool ok = len == body_len(seq) && who < (uint64_t)c->producers;
    for (size_t i = BODY_FIXED; ok && i < len; i++)
        ok = b[i] == (unsigned char)(seq + i);
    return ok ? id : (id & ~ACK_BAD) | ACK_BAD;
}

/* ---- the two kinds of children ------------------------------------------- */

typedef struct {
    int work[2];   /* pipe transport: producers -> consumers */
    int token[2];  /* the readers' lock: one byte in a pipe (C > 1) */
    int result[2]; /* consumers -> parent: acknowledgements */
#if HAVE_MQ
    mqd_t mq; /* mq transport instead of work[] */
#endif
    size_t batch; /* bytes per atomic write: min(PIPE_BUF, 4096) */
} channels;

static _Noreturn void producer(const config *c, channels *ch, uint32_t p,
                               pid_t parent)
{
    (void)parent; /* mq only: see below */
    unsigned char *buf = xmalloc(ch->batch);
    size_t used = 0;
    for (uint64_t seq = 0;
         seq * (uint64_t)c->producers + p < (uint64_t)c->items; seq++) {
        unsigned char body[BODY_MAX];
        make_body(body, p, seq);
        uint32_t len = (uint32_t)body_len(seq);
        if (c->transport == T_MQ) {
#if HAVE_MQ
            /* A message queue keeps boundaries: one message, no length.
             * Wake up now and then, as the consumers do: if the parent
             * died, the consumers soon stop, nobody will ever take this
             * message, and a plain mq_send() would wait forever. */
            for (;;) {
                struct timespec dl = kit_deadline_ms(1000);
                if (mq_timedsend(ch->mq, (const char *)body, len, 0, &dl) == 0)
                    break;
                if (errno != EINTR && errno != ETIMEDOUT)
                    _exit(1);
                if (getppid() != parent)
                    _exit(1);
            }
#endif
            continue;
        }
        if (used + 4 + len > ch->batch) {
            /* One write() of whole frames, <= PIPE_BUF bytes: atomic. */
            if (!kit_write_all(ch->work[1], buf, used))
                _exit(1); /* EPIPE: no consumer left */
            used = 0;
        }
        memcpy(buf + used, &len, 4);
        memcpy(buf + used + 4, body, len);
        used += 4 + len;
    }
    if (used > 0 && !kit_write_all(ch->work[1], buf, used))
        _exit(1);
    free(buf);
    _exit(0); /* closes our write end: when all producers are gone, EOF */
}

static void token_lock(const channels *ch)
{
    char t;
    if (kit_read_all(ch->token[0], &t, 1) != 1)
        _exit(1);
}

static void token_unlock(const channels *ch)
{
    char t = 'T';
    if (!kit_write_all(ch->token[1], &t, 1))
        _exit(1);
}

/* Read one item.  1: got a body; 0: no more items (EOF or a pill). */
static int next_item(const config *c, const channels *ch, unsigned char *body,
                     size_t *len, pid_t parent)
{
    if (c->transport == T_MQ) {
#if HAVE_MQ
        for (;;) {
            /* Wake up now and then: if the parent died, nobody will send
             * our pill, so stop instead of waiting forever. */
            struct timespec dl = kit_deadline_ms(1000);
            char msg[BODY_MAX + 1];
            ssize_t n = mq_timedreceive(ch->mq, msg, sizeof msg, NULL, &dl);
            if (n < 0 && (errno == EINTR || errno == ETIMEDOUT)) {
                if (getppid() != parent)
                    _exit(1);
                continue;
            }
            if (n < 0)
                _exit(1);
            uint32_t who;
            if ((size_t)n >= 4) {
                memcpy(&who, msg, 4);
                if (who == PILL)
                    return 0;
            }
            memcpy(body, msg, (size_t)n <= BODY_MAX ? (size_t)n : BODY_MAX);
            *len = (size_t)n <= BODY_MAX ? (size_t)n : BODY_MAX + 1;
            return 1;
        }
#endif
    }
    (void)parent;
    bool locked = c->consumers > 1;
    if (locked)
        token_lock(ch); /* we alone read the next frame, both of its parts */
    uint32_t n;
    ssize_t r = kit_read_all(ch->work[0], &n, 4);
    int got = r == 0 ? 0 : -1; /* EOF between frames: no more items */
    /* (a length no producer writes means the stream is out of step) */
    if (r == 4 && n <= BODY_MAX &&
        kit_read_all(ch->work[0], body, n) == (ssize_t)n)
        got = 1; /* a whole frame */
    if (locked)
        token_unlock(ch);
    if (got < 0)
        _exit(1);
    *len = n;
    return got;
}

static _Noreturn void consumer(const config *c, channels *ch, pid_t parent)
{
    size_t cap = ch->batch / sizeof(uint64_t);
    uint64_t *acks = xmalloc(cap * sizeof *acks);
    size_t nacks = 0;
    unsigned char body[BODY_MAX + 1];
    size_t len;
    while (next_item(c, ch, body, &len, parent) == 1) {
        acks[nacks++] = check_body(body, len, c);
        if (nacks == cap) {
            /* <= PIPE_BUF bytes again: consumers' batches never interleave. */
            if (!kit_write_all(ch->result[1], acks, nacks * sizeof *acks))
                _exit(1);
            nacks = 0;
        }
    }
    if (nacks > 0 && !kit_write_all(ch->result[1], acks, nacks * sizeof *acks))
        _exit(1);
    free(acks);
    _exit(0);
}

#if HAVE_MQ
/* A fresh queue with a name nobody else can guess, unlinked at once: the
 * descriptor (inherited by fork) keeps it alive, and nothing is left in
 * /dev/mqueue even if we are killed. */
static mqd_t open_private_mq(const config *c)
{
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = c->capacity;
    attr.mq_msgsize = BODY_MAX + 1;
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        kit_ipc_name(name, sizeof name, "mpqueue", attempt);
        sigset_t old;
        kit_block_stop_signals(&old); /* no Ctrl-C between create and unlink */
        mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        int err = errno;
        if (q != (mqd_t)-1 && mq_unlink(name) != 0)
            die_errno("mq_unlink %s", name);
        kit_restore_signals(&old);
        if (q != (mqd_t)-1)
            return q;
        if (err != EEXIST) {
            errno = err;
            die_errno("mq_open (POSIX message queues unavailable here?)");
        }
    }
    die("mq_open: could not find a free name");
}
#endif

/* ---- the parent ---------------------------------------------------------- */

typedef struct {
    unsigned char *seen; /* seen[id]: acknowledgements of item id (saturates) */
    unsigned long long *count; /* [producers] items acknowledged */
    unsigned long long *sum;   /* [producers] sum of their ids */
    unsigned long long received, bad;
    unsigned char carry[8]; /* a partial ack between two reads */
    size_t ncarry;
} tally;

static void take_acks(tally *t, const config *c, const unsigned char *buf,
                      size_t n)
{
    while (n > 0) {
        size_t k = 8 - t->ncarry < n ? 8 - t->ncarry : n;
        memcpy(t->carry + t->ncarry, buf, k);
        t->ncarry += k;
        buf += k;
        n -= k;
        if (t->ncarry < 8)
            break;
        t->ncarry = 0;
        uint64_t a;
        memcpy(&a, t->carry, 8);
        t->received++;
        uint64_t id = a & ~ACK_BAD;
        if ((a & ACK_BAD) || id >= (uint64_t)c->items) {
            t->bad++;
            continue;
        }
        if (t->seen[id] < UCHAR_MAX)
            t->seen[id]++;
        t->count[id % (uint64_t)c->producers]++;
        t->sum[id % (uint64_t)c->producers] += id;
    }
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 3; fd < 256; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* ---- the watchdog's clock: time we ran, not time we were stopped ----------
 *
 * "Nothing moved for watchdog_ms" must mean the children could have moved
 * and did not.  Ctrl-Z stops the whole process group, and `fg` continues it
 * with SIGCONT: the wall clock ran on meanwhile, but nobody could move.  So
 * a SIGCONT restarts the stall clock (the handler only sets a flag; the
 * event loop looks at it).  A child stopped alone (kill -STOP PID) while
 * the parent runs is a real stall, and the watchdog says so. */

static volatile sig_atomic_t continued;

static void on_sigcont(int sig)
{
    (void)sig;
    continued = 1;
}

/* In the parent only, after the forks: the children keep SIGCONT's default. */
static void restart_stall_clock_on_sigcont(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigcont;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCONT, &sa, NULL) != 0)
        die_errno("sigaction SIGCONT");
}

/* Milliseconds without progress since *since, or 0 (and *since restarted)
 * if we were continued after a stop since the last look.  The clock is read
 * BEFORE the flag: a stop that falls between the two leaves the flag set,
 * so a stop is never counted as a stall. */
static double stalled_ms(double *since)
{
    double now = kit_now();
    if (continued) {
        continued = 0;
        *since = kit_now();
        return 0;
    }
    return (now - *since) * 1000;
}

/* What the parent learned from a finished run. */
typedef struct {
    tally t;
    double secs;
    int fds_leaked;
    size_t batch;  /* bytes per framed write() */
    long pipe_buf; /* PIPE_BUF of the result pipe */
} outcome;

/* Needed by the run, defined with the reporting: the two ways it ends early. */
static _Noreturn void child_failed(const config *c, int i, pid_t pid,
                                   int status);
static _Noreturn void deadlock(const config *c, const tally *t, bool drained,
                               double secs);

/* One run: the queue, P producers and C consumers forked, and the parent's
 * event loop until every item is acknowledged and every child reaped. */
static outcome run(const config *cfg)
{
    int fds_before = open_fds();
    outcome o;
    const int P = (int)cfg->producers, C = (int)cfg->consumers;
    const uint64_t N = (uint64_t)cfg->items;

    channels ch;
    memset(&ch, 0, sizeof ch);
    ch.work[0] = ch.work[1] = ch.token[0] = ch.token[1] = -1;
    if (pipe(ch.result) != 0)
        die_errno("pipe");
    long pipe_buf = fpathconf(ch.result[1], _PC_PIPE_BUF);
    if (pipe_buf < 0)
        pipe_buf = 512; /* the POSIX minimum */
    ch.batch = pipe_buf < 4096 ? (size_t)pipe_buf : 4096;
    if (cfg->transport == T_PIPE) {
        if (pipe(ch.work) != 0)
            die_errno("pipe");
        if (C > 1) {
            if (pipe(ch.token) != 0)
                die_errno("pipe");
            char t = 'T';
            /* the lock starts unlocked */
            if (!kit_write_all(ch.token[1], &t, 1))
                die_errno("write");
        }
    } else {
#if HAVE_MQ
        ch.mq = open_private_mq(cfg);
#endif
    }

    double t0 = kit_now();
    pid_t parent = getpid();
    for (int i = 0; i < P + C; i++) {
        bool is_producer = i < P;
        fflush(NULL); /* or buffered output would be printed twice */
        pid_t pid = kit_fork();
        if (pid != 0) {
            children[nchildren++] = pid;
            continue;
        }
        /* The child closes every end it does not use, at once: */
        kit_child_close(ch.result[0]); /* only the parent reads results */
        if (is_producer)
            kit_child_close(ch.result[1]); /* producers send no results */
        if (ch.work[0] >= 0) {
            /* A consumer must not hold a write end of the work pipe, or it
             * would wait for its own EOF; a producer does not read it. */
            kit_child_close(is_producer ? ch.work[0] : ch.work[1]);
        }
        if (ch.token[0] >= 0 && is_producer) {
            kit_child_close(ch.token[0]); /* the readers' lock is for readers */
            kit_child_close(ch.token[1]);
        }
        if (is_producer)
            producer(cfg, &ch, (uint32_t)i, parent);
        consumer(cfg, &ch, parent);
    }
    /* The parent only reads results.  Its copies of the work pipe's write
     * end and of the result pipe's write end must go now: EOF on a pipe
     * comes when the LAST write end is closed. */
    if (ch.work[0] >= 0) {
        kit_xclose(ch.work[0]);
        kit_xclose(ch.work[1]);
    }
    if (ch.token[0] >= 0) {
        kit_xclose(ch.token[0]);
        kit_xclose(ch.token[1]);
    }
    kit_xclose(ch.result[1]);
    restart_stall_clock_on_sigcont();

    tally t;
    memset(&t, 0, sizeof t);
    t.seen = xcalloc((size_t)N, 1);
    t.count = xcalloc((size_t)P, sizeof *t.count);
    t.sum = xcalloc((size_t)P, sizeof *t.sum);

    /* The event loop: read results (unless --join-first), reap children,
     * send the pills (mq) once the producers are done, watch for a stall. */
    bool drain = !cfg->join_first, result_open = true;
    int live = P + C, producers_left = P, pills = 0;
    double last_progress = kit_now();
    unsigned char buf[65536];
    while (live > 0 || result_open) {
        bool progress = false;
        struct pollfd pfd = {.fd = ch.result[0], .events = POLLIN};
        int n = poll(&pfd, drain && result_open ? 1 : 0, 10);
        if (n < 0 && errno != EINTR)
            die_errno("poll");
        if (n > 0) {
            ssize_t r = read(ch.result[0], buf, sizeof buf);
            if (r < 0 && errno != EINTR)
                die_errno("read");
            if (r == 0)
                result_open = false; /* every consumer has closed its end */
            if (r > 0)
                take_acks(&t, cfg, buf, (size_t)r);
            progress = true;
        }
        for (int i = 0; i < nchildren; i++) {
            int st;
            if (children[i] <= 0)
                continue;
            pid_t w = waitpid(children[i], &st, WNOHANG);
            if (w < 0 && errno != EINTR)
                die_errno("waitpid");
            if (w <= 0)
                continue;
            /* reaped here with WNOHANG: off the cleanup's record too */
            pid_t pid = children[i];
            kit_forget_child(pid);
            children[i] = 0;
            live--;
            progress = true;
            if (i < P)
                producers_left--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                child_failed(cfg, i, pid, st);
        }
#if HAVE_MQ
        /* No EOF on a message queue: one pill per consumer, after the last
         * item (FIFO), and never blocking for long - we must keep reading. */
        while (cfg->transport == T_MQ && producers_left == 0 && pills < C) {
            uint32_t pill = PILL;
            struct timespec dl = kit_deadline_ms(1);
            if (mq_timedsend(ch.mq, (const char *)&pill, sizeof pill, 0, &dl) !=
                0) {
                if (errno == ETIMEDOUT || errno == EINTR)
                    break;
                die_errno("mq_send");
            }
            pills++;
            progress = true;
        }
#endif
        if (!drain && live == 0)
            drain = true; /* --join-first got away with it: read now */
        if (progress)
            last_progress = kit_now();
        else if (stalled_ms(&last_progress) >= cfg->watchdog_ms)
            deadlock(cfg, &t, drain, kit_now() - t0);
    }
    double secs = kit_now() - t0;
    (void)pills;
    kit_xclose(ch.result[0]);
#if HAVE_MQ
    if (cfg->transport == T_MQ && mq_close(ch.mq) != 0)
        die_errno("mq_close");
#endif
    o.t = t;
    o.secs = secs;
    o.fds_leaked = open_fds() - fds_before;
    o.batch = ch.batch;
    o.pipe_buf = pipe_buf;
    return o;
}

/* ---- reporting ----------------------------------------------------------- */

/* What producer p sends: how many items, and the sum of their ids. */
static unsigned long long sent_count(const config *c, int p)
{
    uint64_t N = (uint64_t)c->items, P = (uint64_t)c->producers;
    return (N - (uint64_t)p + P - 1) / P;
}

static unsigned long long sent_sum(const config *c, int p)
{
    unsigned long long cnt = sent_count(c, p);
    return cnt * (uint64_t)p + (uint64_t)c->producers * (cnt * (cnt - 1) / 2);
}

typedef struct {
    unsigned long long distinct, missing, duplicates;
    bool exactly_once;
} summary;

static summary summarize(const tally *t, const config *c)
{
    summary s = {0};
    for (uint64_t id = 0; id < (uint64_t)c->items; id++)
        s.distinct += t->seen[id] > 0;
    s.missing = (uint64_t)c->items - s.distinct;
    s.duplicates = t->received - t->bad - s.distinct;
    bool sums_ok = true;
    for (int p = 0; p < c->producers; p++)
        sums_ok = sums_ok && t->count[p] == sent_count(c, p) &&
                  t->sum[p] == sent_sum(c, p);
    s.exactly_once =
        s.missing == 0 && s.duplicates == 0 && t->bad == 0 && sums_ok;
    return s;
}

/* One object, on both ends of a run: "watchdog" is "none" for a run that
 * finished, else "deadlock" or "stall" (exit 3: then "delivered" is what
 * the parent had read when it gave up, and there is no "fds_leaked", since
 * the children were killed, not finished). */
static void print_json(const config *c, const tally *t, double secs,
                       const char *watchdog, int fds_leaked)
{
    summary s = summarize(t, c);
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "producers", c->producers);
    json_int(&j, "consumers", c->consumers);
    json_int(&j, "capacity", c->capacity);
    json_uint(&j, "items", (uint64_t)c->items);
    json_uint(&j, "delivered", s.distinct);
    json_uint(&j, "missing", s.missing);
    json_uint(&j, "duplicates", s.duplicates);
    json_bool(&j, "exactly_once", s.exactly_once);
    json_double(&j, "items_per_sec", secs > 0 ? (double)t->received / secs : 0);
    json_str(&j, "transport", transport_names[c->transport]);
    json_uint(&j, "damaged", t->bad);
    if (strcmp(watchdog, "none") == 0)
        json_int(&j, "fds_leaked", fds_leaked);
    json_bool(&j, "join_first", c->join_first);
    json_str(&j, "watchdog", watchdog);
    json_bool(&j, "deadlock", strcmp(watchdog, "deadlock") == 0);
    json_double(&j, "watchdog_ms", c->watchdog_ms);
    json_end(&j);
    json_finish(&j);
}

/* The table and verdict of a finished run (--json: print_json). */
static void print_report(const config *c, const tally *t, const summary *sm,
                         double secs, int fds_leaked, size_t batch,
                         long pipe_buf)
{
    const int P = (int)c->producers, C = (int)c->consumers;
    const uint64_t N = (uint64_t)c->items;
    double rate = secs > 0 ? (double)t->received / secs : 0;
    printf("mpqueue: %d producer process%s -> %s -> %d consumer process%s "
           "-> parent, "
           "%llu items\n\n",
           P, P == 1 ? "" : "es",
           c->transport == T_PIPE ? "one pipe (framed, atomic writes)"
                                  : "a POSIX message queue",
           C, C == 1 ? "" : "es", (unsigned long long)N);
    kit_table tb;
    tbl_init(&tb);
    tbl_col(&tb, "producer", TBL_LEFT);
    tbl_col(&tb, "sent", TBL_RIGHT);
    tbl_col(&tb, "received", TBL_RIGHT);
    tbl_col(&tb, "checksum sent", TBL_RIGHT);
    tbl_col(&tb, "checksum got", TBL_RIGHT);
    tbl_col(&tb, "verdict", TBL_LEFT);
    for (int p = 0; p < P; p++) {
        unsigned long long cnt = sent_count(c, p);
        unsigned long long sum = sent_sum(c, p);
        tbl_cell(&tb, "%d", p);
        tbl_cell(&tb, "%llu", cnt);
        tbl_cell(&tb, "%llu", t->count[p]);
        tbl_cell(&tb, "%llu", sum);
        tbl_cell(&tb, "%llu", t->sum[p]);
        tbl_cell(&tb, "%s",
                 t->count[p] == cnt && t->sum[p] == sum ? "OK"
                 : t->count[p] < cnt                    ? "LOST"
                                                        : "WRONG");
    }
    tbl_print(&tb, stdout);
    printf("\ndelivered %llu of %llu items: %llu missing, %llu duplicates, "
           "%llu damaged -> ",
           sm->distinct, (unsigned long long)N, sm->missing, sm->duplicates,
           t->bad);
    if (sm->exactly_once)
        printf("%sOK: every item delivered exactly once%s\n",
               kit_color(stdout, "green"), kit_color(stdout, "reset"));
    else
        printf("%sFAILED: not exactly once%s\n", kit_color(stdout, "red"),
               kit_color(stdout, "reset"));
    printf("throughput: %.0f items/s (%.3f s), every child reaped, %d "
           "descriptors leaked\n",
           rate, secs, fds_leaked);
    if (c->transport == T_PIPE)
        printf("frames: <= %zu bytes per write(), PIPE_BUF is %ld: atomic, "
               "so producers "
               "need no lock;\n        %s\n",
               batch, pipe_buf,
               C > 1 ? "consumers read each frame under a lock (a token in "
                       "a pipe)"
                     : "one consumer reads alone: no lock");
    if (c->join_first)
        printf("note: --join-first got away with it this time: all results "
               "fit in the\n"
               "      pipe's buffer.  Try more items (-n 100000) to see it "
               "deadlock.\n");
    printf("notice: compare items/s with ./queue: every item now costs "
           "system calls\n");
}

/* "producer 1" / "consumer 0": which of the P + C children children[i] is. */
static void name_child(const config *c, int i, char *buf, size_t n)
{
    if (i < c->producers)
        snprintf(buf, n, "producer %d", i);
    else
        snprintf(buf, n, "consumer %d", i - (int)c->producers);
}

/* A child did not exit 0: its items, or their acknowledgements, can no
 * longer all arrive.  Say at once which child and how, not "something
 * failed" after the watchdog or the end of the run. */
static _Noreturn void child_failed(const config *c, int i, pid_t pid,
                                   int status)
{
    char who[32], how[64];
    name_child(c, i, who, sizeof who);
    kit_describe_status(status, how, sizeof how);
    kit_kill_children();
    die("%s (pid %ld) %s: not every item can arrive now; the other "
        "children were killed and reaped",
        who, (long)pid, how);
}

static _Noreturn void deadlock(const config *c, const tally *t, bool drained,
                               double secs)
{
    kit_kill_children();
    if (c->json)
        print_json(c, t, secs, drained ? "stall" : "deadlock", 0);
    else {
        if (!drained)
            printf("\n%sDEADLOCK%s: for %.1f s no child has exited, and the "
                   "parent reads\n"
                   "nothing until they all have.\n"
                   "The parent waited for its children before reading their "
                   "results.\n"
                   "The result pipe holds only 64 KiB (Linux): once it is full "
                   "the\n"
                   "consumers block in write(), so they stop taking items, so "
                   "the\n"
                   "producers block too - and the parent waits for all of them "
                   "forever.\n"
                   "Python's docs: \"make sure that all items which have been "
                   "put on the\n"
                   "queue will eventually be removed before the process is "
                   "joined.\"\n"
                   "Fix: drain the queue first, then join (run without "
                   "--join-first).\n",
                   kit_color(stdout, "red"), kit_color(stdout, "reset"),
                   c->watchdog_ms / 1000);
        else
            printf("\n%sSTALL%s: for %.1f s no result arrived and no child "
                   "exited.\n",
                   kit_color(stdout, "red"), kit_color(stdout, "reset"),
                   c->watchdog_ms / 1000);
        fflush(stdout);
    }
    warn_msg("watchdog: %s, nothing moved for %.1f s; children killed and "
             "reaped, exit %d",
             drained ? "stall" : "deadlock", c->watchdog_ms / 1000,
             EXIT_WATCHDOG);
    exit(EXIT_WATCHDOG);
}

static const char usage[] =
    "usage: mpqueue [-p P] [-c C] [-k CAPACITY] [-n ITEMS] [--transport "
    "pipe|mq]\n"
    "               [--join-first] [--json]\n"
    "P producer processes send N items through a pipe to C consumer "
    "processes;\n"
    "the parent checks that every item arrived exactly once.\n"
    "\n"
    "  -p, --producers P     producer processes, 1..64 (default 2)\n"
    "  -c, --consumers C     consumer processes, 1..64 (default 2)\n"
    "  -k, --capacity K      mq: messages the queue holds, 1..10 (default "
    "10);\n"
    "                        a pipe's capacity is the kernel's (64 KiB on "
    "Linux)\n"
    "  -n, --items N         items in total, 1..10000000 (default 100000)\n"
    "      --transport T     pipe (default) or mq (POSIX message queue, "
    "Linux)\n"
    "      --join-first      wait for the children before reading their "
    "results:\n"
    "                        the deadlock from Python's docs (watchdog, exit "
    "3)\n"
    "      --watchdog MS     no progress for this long is a deadlock, "
    "100..60000 (1000)\n"
    "      --json            one JSON object on stdout instead of the report\n"
    "  -h, --help            this help\n"
    "\n"
    "example: ./mpqueue -p 4 -c 4 -n 200000\n";

static void parse(int argc, char **argv, config *c)
{
    enum { OPT_JOIN = 256, OPT_WATCHDOG, OPT_JSON, OPT_TRANSPORT };
    /* --transport is long only: -t means --threads in the kit. */
    static const struct option longopts[] = {
        {"producers", required_argument, NULL, 'p'},
        {"consumers", required_argument, NULL, 'c'},
        {"capacity", required_argument, NULL, 'k'},
        {"items", required_argument, NULL, 'n'},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"join-first", no_argument, NULL, OPT_JOIN},
        {"watchdog", required_argument, NULL, OPT_WATCHDOG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (config){.producers = 2,
                  .consumers = 2,
                  .capacity = 10,
                  .items = 100000,
                  .watchdog_ms = 1000};
    int ch;
    while ((ch = getopt_long(argc, argv, ":p:c:k:n:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            c->producers = opt_int("--producers", optarg, 1, MAX_PROCS);
            break;
        case 'c':
            c->consumers = opt_int("--consumers", optarg, 1, MAX_PROCS);
            break;
        /* 10 is Linux's default /proc/sys/fs/mqueue/msg_max for non-root */
        case 'k': c->capacity = opt_int("--capacity", optarg, 1, 10); break;
        case 'n': c->items = opt_int("--items", optarg, 1, MAX_ITEMS); break;
        case OPT_TRANSPORT:
            c->transport = (enum transport)opt_choice("--transport", optarg,
                                                      transport_names);
            break;
        case OPT_JOIN: c->join_first = true; break;
        case OPT_WATCHDOG:
            c->watchdog_ms = (double)opt_int("--watchdog", optarg, 100, 60000);
            break;
        case OPT_JSON: c->json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(ch, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);
    if (c->transport == T_MQ && !HAVE_MQ)
        usage_error("--transport: mq (POSIX message queues) is available on "
                    "Linux only");
}

int main(int argc, char **argv)
{
    kit_set_prog("mpqueue");
    config cfg;
    parse(argc, argv, &cfg);
    kit_ignore_sigpipe(); /* a write to a dead reader: EPIPE, not death */
    /* Ctrl-C, kill, a closed terminal, Ctrl-\: kill and reap every child,
     * then die of the signal. */
    static const int stops[] = KIT_STOP_SIGNALS;
    kit_cleanup_on(stops, KIT_NSTOP_SIGNALS);
    outcome o = run(&cfg);
    tally t = o.t;
    summary sm = summarize(&t, &cfg);

    if (cfg.json)
        print_json(&cfg, &t, o.secs, "none", o.fds_leaked);
    else
        print_report(&cfg, &t, &sm, o.secs, o.fds_leaked, o.batch, o.pipe_buf);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    free(t.seen);
    free(t.count);
    free(t.sum);
    if (!sm.exactly_once) {
        warn_msg("items were lost, duplicated or damaged");
        return KIT_EXIT_RUNTIME;
    }
    return 0;
}
