/*
 * server.h - what server.c's four files share.  Not a reusable module: the
 * lesson is server.c (three server designs); the other files are its tools:
 *
 *   server_net.c   socket helpers with deadlines: read a line, send, connect,
 *                  listen on loopback
 *   loadgen.c      the load generator (clients that check every answer,
 *                  well-behaved or not) and its report (table, JSON, notices)
 *   server_cli.c   options, usage text, and --connect's address checks
 *
 * See also: server.c (start there).
 */
#ifndef LAB04_SERVER_H
#define LAB04_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>

/* macOS has no MSG_NOSIGNAL: there, ignoring SIGPIPE (in main) protects us. */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

enum mode { M_SEQUENTIAL, M_THREAD, M_POOL, M_ALL };
extern const char *const mode_names[]; /* "sequential", ..., "all", NULL */

enum bad_kind { BAD_IDLE, BAD_GARBAGE, BAD_HALF, BAD_ALL, BAD_NONE };
extern const char *const bad_names[]; /* "idle", ..., "all", NULL */

#define MAX_LINE 64 /* a request line (with its '\n') must fit */
#define MAX_CLIENTS 256
#define MAX_REQUESTS 10000 /* per client */
#define MAX_WORKERS 256
#define MAX_BAD 64
#define TPR_MAX_THREADS 256  /* thread-per-request: handlers alive at once */
#define N_LIMIT 1000000000LL /* requests carry 0 <= n < N_LIMIT, so 2n fits */

/* ---- server_net.c: sockets with deadlines -------------------------------- */

enum rl {
    RL_OK,      /* a whole line, '\n' (and a '\r' before it) removed */
    RL_TIMEOUT, /* no whole line before the deadline */
    RL_EOF,     /* the peer closed before finishing its line */
    RL_LONG,    /* no '\n' within the buffer */
    RL_NUL,     /* a NUL byte inside the line: not text, not a request */
    RL_STOPPED, /* stop_fd became readable: the server is stopping */
    RL_ERR,     /* the connection failed (ECONNRESET and friends) */
};

/* Read one '\n'-terminated line into buf (NUL-terminated) before the absolute
 * deadline (kit_now() seconds), or until stop_fd is readable (-1: no stop). */
enum rl read_line(int fd, char *buf, size_t cap, double deadline, int stop_fd);
bool send_str(int fd, const char *s); /* false if the peer is gone */
bool set_timeouts(int fd, double ms);
bool sleep_unless_readable(int fd, double ms);
/* false: fd became readable */ /* SO_SNDTIMEO and SO_RCVTIMEO */
bool set_nonblocking(int fd, bool on);
void xclose(int fd); /* close(), warn on failure */
/* Send why, then close so that it arrives (a "lingering close"). */
void refuse_and_close(int fd, const char *why, double timeout_ms);
int connect_to(const struct sockaddr *sa, socklen_t salen, double deadline);
int listen_loopback(int port, int *bound); /* 127.0.0.1:port; dies on error */
bool parse_request(const char *line, long long *n); /* "DOUBLE 21" -> 21 */

/* ---- what the load generator aims at, and what it measured --------------- */

typedef struct {
    struct sockaddr_storage addr; /* where the server listens */
    socklen_t addrlen;
    int requests;   /* per good client */
    double wait_ms; /* a client gives up on one request after this */
} target;

typedef struct {
    const char *mode; /* label: a mode name, or the remote server's mode */
    int concurrency;  /* requests the server works on at once: ideal speedup */
    long ok, failed;
    double seconds; /* from the start until the last good client finished */
    double req_per_sec, p50_ms, p99_ms;
    int bad, bad_cut_off;
    char err[128]; /* first failure seen by any client */
} result;

/* ---- server_cli.c: the options -------------------------------------------- */

typedef struct {
    enum mode mode;
    enum bad_kind bad;
    int workers, capacity, port, clients, requests, nbad;
    double work_ms, timeout_ms;
    bool json, serve, allow_remote;
    const char *connect_arg; /* NULL: test an in-process server */
} server_opts;

/* Parse argv into *o, or exit 2 with one line (exit 0 for --help). */
void server_parse_args(int argc, char **argv, server_opts *o);

/* --connect HOST:PORT into t->addr, or exit 2.  Without allow_remote: numeric
 * loopback addresses (and "localhost") only, so no DNS query leaves either. */
void parse_connect(const char *arg, bool allow_remote, target *t);

/* ---- loadgen.c: the clients and the report -------------------------------- */

/* A target for 127.0.0.1:port, patient enough for o's clients. */
void loadgen_target_local(target *t, const server_opts *o, int port);

/* Run o->clients good and o->nbad bad clients against t, all at once. */
void run_load(const target *t, const server_opts *o, result *res);

/* --connect: load a running 'server --serve' once; the exit status. */
int loadgen_remote(server_opts *o);

/* Print the results as o asks (table and notices, or JSON); the exit status:
 * 0 when every run answered every request and cut off every bad client. */
int loadgen_report(const server_opts *o, const result *res, int nres,
                   const char *where);

#endif
