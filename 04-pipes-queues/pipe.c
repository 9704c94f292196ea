/*
 * pipe.c - multiprocessing.Pipe in C: pipe(2) one way, socketpair(2) both ways, and EOF
 *
 * What it demonstrates
 *   The parent sends N numbered records to a child, the child transforms
 *   each one (adds 1 to every payload byte) and sends it back, and the
 *   parent checks every reply.  Two transports:
 *     pipe        pipe(2) carries bytes ONE way, so a round trip needs two
 *                 pipes (like Pipe(duplex=False), twice);
 *     socketpair  socketpair(2) is one connected pair of sockets that carries
 *                 bytes BOTH ways (like Pipe(duplex=True)).
 *   The discipline that makes it end: after fork() both processes hold both
 *   ends of everything, and a reader sees EOF only when EVERY write end is
 *   closed - so each side closes the ends it does not use, at once.
 *
 * What you will observe
 *   Every record verified, the throughput in MB/s and messages/s, and what
 *   PIPE_BUF promises.  With --forget-close the child keeps its copy of the
 *   write end of the pipe it reads from: after the last record it waits for
 *   an EOF that can never come (it is itself a writer), so it never answers
 *   EOF to the parent either.  A watchdog notices after about a second,
 *   explains, kills the child and exits with status 3 instead of hanging.
 *
 * Usage
 *   ./pipe [-n RECORDS] [-s SIZE] [-m pipe|socketpair|both] [--forget-close] [--json]
 *
 * See also
 *   pipe(2), socketpair(2), pipe(7) (PIPE_BUF), shutdown(2); TLPI ch. 44;
 *   mpqueue.c (many writers and readers on one pipe);
 *   https://docs.python.org/3/library/multiprocessing.html#multiprocessing.Pipe
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
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_WATCHDOG 3
#define HDR 8 /* a record: 8-byte sequence number, then payload */

enum mode { MODE_PIPE, MODE_SOCKETPAIR, MODE_BOTH };
static const char *const mode_names[] = {"pipe", "socketpair", "both", NULL};

typedef struct {
    long long records;
    size_t size; /* bytes per record, header included */
    enum mode mode;
    bool forget_close;
    double watchdog_ms;
    bool json;
} config;

typedef struct {
    const char *name;
    long long verified;
    double seconds;
} run_result;

/* ---- signals: a Ctrl-C must not leave the child behind --------------------
 *
 * The child is made with kit_fork(), which records it; on SIGINT/SIGTERM the
 * handler from kit_cleanup_on() (see main) kills and reaps it, then dies of
 * the signal (common/proc.h).  The watchdog below gives up the same way. */

static pthread_t writer_tid; /* the parent's sending thread ... */
static bool writer_running;  /* ... while it has not been joined */

/* ---- whole records: read() and write() may move fewer bytes -------------
 * kit_read_all/kit_write_all (common/proc.h) loop until the record is
 * whole; kit_read_all returns 0 only at EOF before a record's first byte. */

static void fill_record(unsigned char *rec, size_t size, uint64_t seq)
{
    memcpy(rec, &seq, HDR);
    for (size_t i = HDR; i < size; i++)
        rec[i] = (unsigned char)(seq * 31 + i);
}

/* ---- the child: read, transform, write back, until EOF ------------------- */

static _Noreturn void child_serve(int in, int out, size_t size)
{
    unsigned char *rec = xmalloc(size);
    for (;;) {
        ssize_t r = kit_read_all(in, rec, size);
        if (r == 0)
            break; /* EOF: every write end of our input is closed - done */
        if (r != (ssize_t)size)
            _exit(1);
        for (size_t i = HDR; i < size; i++)
            rec[i] = (unsigned char)(rec[i] + 1);
        if (!kit_write_all(out, rec, size))
            _exit(1); /* EPIPE: the parent is gone */
    }
    free(rec);
    if (close(out) != 0) /* our EOF for the parent */
        _exit(1);
    _exit(0);
}

/* ---- the parent: a writer thread sends, the main thread reads ------------ */

/* Sending everything first and reading afterwards would deadlock as soon as
 * both directions are full (we block writing, the child blocks writing back),
 * so a second thread sends while the main thread receives. */
typedef struct {
    int fd;
    bool socket; /* half-close with shutdown(), not close() */
    const config *cfg;
    bool ok;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    unsigned char *rec = xmalloc(a->cfg->size);
    a->ok = true;
    for (long long s = 0; s < a->cfg->records && a->ok; s++) {
        fill_record(rec, a->cfg->size, (uint64_t)s);
        a->ok = kit_write_all(a->fd, rec, a->cfg->size);
    }
    free(rec);
    if (a->socket) {
        /* The socket is also our way back: we may not close it yet.
         * shutdown(SHUT_WR) sends EOF and keeps the reading half open. */
        if (shutdown(a->fd, SHUT_WR) != 0)
            a->ok = false;
    } else if (close(a->fd) != 0) { /* EOF for the child */
        a->ok = false;
    }
    return NULL;
}

static _Noreturn void watchdog_fired(const config *cfg, const char *transport,
                                     long long verified)
{
    bool at_eof = verified == cfg->records;
    bool is_pipe = strcmp(transport, "pipe") == 0;
    if (cfg->json) { /* the stall is the result: say it in JSON too */
        json_w j;
        json_start(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "transport", transport);
        json_int(&j, "records", cfg->records);
        json_int(&j, "verified", verified);
        json_bool(&j, "stall", true);
        json_double(&j, "watchdog_seconds", cfg->watchdog_ms / 1000);
        json_int(&j, "exit", EXIT_WATCHDOG);
        json_end(&j);
        json_finish(&j);
    } else {
        printf("\n%sSTALL%s (%s): no data and no EOF for %.1f s, after %lld of "
               "%lld replies.\n",
               kit_color(stdout, "red"), kit_color(stdout, "reset"), transport,
               cfg->watchdog_ms / 1000, verified, cfg->records);
        if (at_eof && cfg->forget_close && !is_pipe)
            printf("Every reply arrived, but EOF never does: the child kept "
                   "an end of the\n"
                   "socket pair it does not use open (--forget-close).  A "
                   "reader sees EOF\n"
                   "only when every copy of the other end is closed.  Fix: "
                   "close the ends\n"
                   "you do not use right after fork().\n");
        else if (at_eof && cfg->forget_close)
            printf("Every reply arrived, but EOF never does: the child kept "
                   "its copy of\n"
                   "the write end of the pipe it reads from (--forget-close).  "
                   "A reader\n"
                   "sees EOF only when EVERY write end is closed, and the "
                   "child itself\n"
                   "is a writer, so its read() waits forever; it never closes "
                   "its side,\n"
                   "so the parent waits forever too.  Fix: close the ends you "
                   "do not use\n"
                   "right after fork().\n");
        else
            printf("The other side stopped talking without closing its end.\n");
        fflush(stdout);
    }
    warn_msg("watchdog: no EOF after %.1f s (%s): a write end was left open; "
             "killing the child, exit %d",
             cfg->watchdog_ms / 1000, transport, EXIT_WATCHDOG);
    kit_kill_children();
    if (writer_running) /* done, or its write() fails with EPIPE now */
        xpthread_join(writer_tid);
    exit(EXIT_WATCHDOG);
}

/* Wait until fd is readable; the watchdog fires if nothing happens. */
static void wait_readable(int fd, const config *cfg, const char *transport,
                          long long verified)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)cfg->watchdog_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_errno("poll");
        if (n == 0)
            watchdog_fired(cfg, transport, verified);
        return;
    }
}

static run_result run_one(const config *cfg, enum mode m)
{
    run_result res = {.name = mode_names[m]};
    int to_child[2], to_parent[2]; /* [0] read end, [1] write end */
    bool sock = m == MODE_SOCKETPAIR;
    if (sock) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die_errno("socketpair");
        /* sv[0] is the parent's end, sv[1] the child's; each carries both ways. */
        to_child[1] = to_parent[0] = sv[0];
        to_child[0] = to_parent[1] = sv[1];
    } else {
        if (pipe(to_child) != 0 || pipe(to_parent) != 0)
            die_errno("pipe");
    }

    fflush(NULL); /* or buffered output would be printed twice */
    /* kit_fork: the child is recorded before any Ctrl-C can arrive, and
     * just dies on one itself (default action). */
    pid_t pid = kit_fork();
    if (pid == 0) {
        if (sock) {
            /* The parent's end: if we kept it, shutdown() would still give us
             * EOF (it acts on the socket, not on one descriptor), but it is
             * not ours to hold. */
            if (!cfg->forget_close)
                kit_child_close(to_child[1]);
        } else {
            /* The parent writes to to_child[1].  While we hold a write end
             * of our own input pipe, our reads never see EOF. */
            if (!cfg->forget_close)
                kit_child_close(to_child[1]);
            /* The parent reads from to_parent[0], not us. */
            kit_child_close(to_parent[0]);
        }
        child_serve(to_child[0], to_parent[1], cfg->size);
    }
    if (sock) {
        /* The child's end: if we kept it, the child could die and we would
         * never see EOF. */
        kit_xclose(to_child[0]);
    } else {
        /* The child reads from to_child[0]: keeping it would hide a dead
         * child (our writes would not fail with EPIPE). */
        kit_xclose(to_child[0]);
        /* The child writes to to_parent[1]: while we hold a write end, our
         * reads never see EOF. */
        kit_xclose(to_parent[1]);
    }

    writer_arg wa = {.fd = to_child[1], .socket = sock, .cfg = cfg};
    /* The writer thread must not take Ctrl-C: the main thread handles it. */
    sigset_t old;
    kit_block_stop_signals(&old);
    xpthread_create(&writer_tid, writer, &wa);
    writer_running = true;
    kit_restore_signals(&old);

    double t0 = kit_now();
    int in = to_parent[0];
    unsigned char *rec = xmalloc(cfg->size), *want = xmalloc(cfg->size);
    for (long long s = 0; s < cfg->records; s++) {
        wait_readable(in, cfg, res.name, res.verified);
        if (kit_read_all(in, rec, cfg->size) != (ssize_t)cfg->size)
            die("%s: the child stopped after %lld of %lld replies", res.name, s,
                cfg->records);
        fill_record(want, cfg->size, (uint64_t)s);
        for (size_t i = HDR; i < cfg->size; i++)
            want[i] = (unsigned char)(want[i] + 1);
        if (memcmp(rec, want, cfg->size) == 0)
            res.verified++;
    }
    /* All replies are in; now the child must close its end: EOF. */
    wait_readable(in, cfg, res.name, res.verified);
    if (kit_read_all(in, rec, 1) != 0)
        die("%s: more data than records", res.name);
    res.seconds = kit_now() - t0;
    free(rec);
    free(want);

    xpthread_join(writer_tid);
    writer_running = false;
    if (!wa.ok)
        die("%s: sending failed", res.name);
    kit_xclose(in);
    int st = kit_wait_child(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("%s: the child failed", res.name);
    return res;
}

/* PIPE_BUF: the most bytes a write() to a pipe moves atomically.  POSIX
 * guarantees at least 512; Linux has 4096. */
static long pipe_buf_size(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        die_errno("pipe");
    long pipe_buf = fpathconf(fds[1], _PC_PIPE_BUF);
    kit_xclose(fds[0]);
    kit_xclose(fds[1]);
    if (pipe_buf < 0)
        pipe_buf = PIPE_BUF;
    return pipe_buf;
}

/* ---- reporting ----------------------------------------------------------- */

/* Replies verified by the worst run: all records when every run was exact. */
static long long fewest_verified(const config *c, const run_result *runs,
                                 int nruns)
{
    long long verified = c->records;
    for (int i = 0; i < nruns; i++)
        if (runs[i].verified < verified)
            verified = runs[i].verified;
    return verified;
}

static void print_json(const config *c, const run_result *runs, int nruns,
                       long pipe_buf)
{
    double bytes = 0, secs = 0;
    for (int i = 0; i < nruns; i++) {
        bytes +=
            2.0 * (double)c->records * (double)c->size; /* there and back */
        secs += runs[i].seconds;
    }
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "records", c->records);
    json_int(&j, "verified", fewest_verified(c, runs, nruns));
    json_double(&j, "bytes_per_sec", secs > 0 ? bytes / secs : 0);
    json_int(&j, "record_size", (long long)c->size);
    json_int(&j, "pipe_buf", pipe_buf);
    json_arr(&j, "runs");
    for (int i = 0; i < nruns; i++) {
        double s = runs[i].seconds;
        json_obj(&j, NULL);
        json_str(&j, "mode", runs[i].name);
        json_int(&j, "verified", runs[i].verified);
        json_double(&j, "bytes_per_sec",
                    s > 0 ? 2.0 * (double)c->records * (double)c->size / s : 0);
        json_double(&j, "messages_per_sec", s > 0 ? (double)c->records / s : 0);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static void print_report(const config *c, const run_result *runs, int nruns,
                         long pipe_buf)
{
    printf("pipe: %lld records of %zu bytes, parent -> child (adds 1 to "
           "every byte) "
           "-> parent\n\n",
           c->records, c->size);
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "transport", TBL_LEFT);
    tbl_col(&t, "records", TBL_RIGHT);
    tbl_col(&t, "verified", TBL_RIGHT);
    tbl_col(&t, "MB/s", TBL_RIGHT);
    tbl_col(&t, "round trips/s", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    for (int i = 0; i < nruns; i++) {
        double s = runs[i].seconds;
        tbl_cell(&t, "%s", runs[i].name);
        tbl_cell(&t, "%lld", c->records);
        tbl_cell(&t, "%lld", runs[i].verified);
        tbl_cell(&t, "%.1f",
                 s > 0 ? 2.0 * (double)c->records * (double)c->size / s / 1e6
                       : 0);
        tbl_cell(&t, "%.0f", s > 0 ? (double)c->records / s : 0);
        tbl_cell(&t, "%s", runs[i].verified == c->records ? "OK" : "CORRUPTED");
    }
    tbl_print(&t, stdout);
    printf("\nMB/s counts the bytes both ways.  PIPE_BUF here is %ld "
           "bytes: a write()\n"
           "of at most PIPE_BUF bytes to a pipe is atomic, so records from "
           "concurrent\n"
           "writers never interleave; a bigger write may be split and "
           "interleaved.\n"
           "(These %zu-byte records are %s.)\n",
           pipe_buf, c->size,
           (long)c->size <= pipe_buf ? "atomic"
                                     : "NOT atomic: fine for one writer only");
    /* The pipe's lesson; with --forget-close over a socketpair the
     * parent's shutdown(SHUT_WR) still gave EOF, and "try
     * --forget-close" would be advice already taken. */
    if (!(c->forget_close && c->mode == MODE_SOCKETPAIR))
        printf("notice: the child saw EOF only because every write end of "
               "its input was closed - try --forget-close\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: pipe [-n RECORDS] [-s SIZE] [-m pipe|socketpair|both] "
    "[--forget-close] [--json]\n"
    "The parent sends RECORDS records to a child, which transforms each and "
    "sends it\n"
    "back; the parent verifies every reply.\n"
    "\n"
    "  -n, --records N      records to round-trip, 1..1000000 (default 10000)\n"
    "  -s, --size SIZE      bytes per record, 16..1M, suffix K/M (default 64)\n"
    "  -m, --mode MODE      pipe (two one-way pipes), socketpair (one duplex "
    "pair)\n"
    "                       or both (default)\n"
    "      --forget-close   the child keeps a write end it should close: no "
    "EOF,\n"
    "                       the watchdog explains and exits 3\n"
    "      --watchdog MS    stall detection, 100..60000 ms (default 1000)\n"
    "      --json           one JSON object on stdout instead of the report\n"
    "  -h, --help           this help\n"
    "\n"
    "example: ./pipe -n 100000 -s 4K -m pipe\n";

static void parse(int argc, char **argv, config *c)
{
    enum { OPT_FORGET = 256, OPT_WATCHDOG, OPT_JSON };
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'm'},
        {"forget-close", no_argument, NULL, OPT_FORGET},
        {"watchdog", required_argument, NULL, OPT_WATCHDOG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (config){
        .records = 10000, .size = 64, .mode = MODE_BOTH, .watchdog_ms = 1000};
    int ch;
    while ((ch = getopt_long(argc, argv, ":n:s:m:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n': c->records = opt_int("--records", optarg, 1, 1000000); break;
        case 's':
            c->size = (size_t)opt_size("--size", optarg, 16, 1 << 20);
            break;
        case 'm':
            c->mode = (enum mode)opt_choice("--mode", optarg, mode_names);
            break;
        case OPT_FORGET: c->forget_close = true; break;
        case OPT_WATCHDOG:
            c->watchdog_ms = (double)opt_int("--watchdog", optarg, 100, 60000);
            break;
        case OPT_JSON: c->json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(ch, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);
}

int main(int argc, char **argv)
{
    kit_set_prog("pipe");
    config cfg;
    parse(argc, argv, &cfg);
    /* A write to a pipe nobody reads must fail with EPIPE, not kill us. */
    kit_ignore_sigpipe();
    /* Ctrl-C or kill: kill and reap the child, then die of the signal. */
    static const int stops[] =
        KIT_STOP_SIGNALS; /* + a closed terminal, Ctrl-\ */
    kit_cleanup_on(stops, KIT_NSTOP_SIGNALS);

    run_result runs[2];
    int nruns = 0;
    if (cfg.mode == MODE_PIPE || cfg.mode == MODE_BOTH)
        runs[nruns++] = run_one(&cfg, MODE_PIPE);
    if (cfg.mode == MODE_SOCKETPAIR || cfg.mode == MODE_BOTH)
        runs[nruns++] = run_one(&cfg, MODE_SOCKETPAIR);

    long pipe_buf = pipe_buf_size();
    bool ok = fewest_verified(&cfg, runs, nruns) == cfg.records;
    if (cfg.json)
        print_json(&cfg, runs, nruns, pipe_buf);
    else
        print_report(&cfg, runs, nruns, pipe_buf);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    if (!ok) {
        warn_msg("some replies did not match what was sent");
        return KIT_EXIT_RUNTIME;
    }
    return 0;
}
