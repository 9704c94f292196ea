/*
 * loadgen.c - server's load generator: clients that check every answer,
 * clients that misbehave on purpose, and the report of what they saw
 *
 * --clients threads start together (a kit_gate) and each sends --requests
 * requests, one connection each, one after another: "DOUBLE n" with an n no
 * other request of the run uses, so a wrong or crossed answer shows.  Each
 * answer's latency is kept; the report gives throughput (good clients' time
 * only) and p50/p99 (nearest rank).  --misbehave adds clients that send
 * nothing, garbage or half a request, and checks that the server cut them
 * off (ERR, or the connection closed) before their own, longer deadline.
 *
 * See also: server.c (the lesson), server_net.c (the sockets it uses).
 */
#include "server.h"

#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "timing.h"
#include "xpthread.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bad_names[] = {"idle", "garbage", "half", "all", NULL};

/* ---- the clients ------------------------------------------------------------ */

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
        else if (read_line(fd, buf, sizeof buf, deadline, -1) != RL_OK)
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
        enum rl r = read_line(fd, buf, sizeof buf, deadline, -1);
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

void run_load(const target *t, const server_opts *o, result *res)
{
    int clients = o->clients, n = o->clients + o->nbad;
    client *cs = xcalloc((size_t)n, sizeof *cs);
    pthread_t *th = xcalloc((size_t)n, sizeof *th);
    double *lat = xcalloc((size_t)clients * (size_t)t->requests, sizeof *lat);
    kit_gate gate;
    gate_init(&gate, n + 1);
    for (int i = 0; i < n; i++) {
        cs[i].t = t;
        cs[i].id = i;
        cs[i].gate = &gate;
        cs[i].bad = i < clients         ? BAD_NONE
                    : o->bad == BAD_ALL ? (enum bad_kind)((i - clients) % 3)
                                        : o->bad;
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

/* The longest a request can wait: every other client's request and every bad
 * client's timeout ahead of it (sequential), doubled. */
static double patience_ms(const server_opts *o)
{
    return 2 * (2000 + (o->clients + 1) * o->work_ms +
                (o->nbad + 1) * o->timeout_ms);
}

void loadgen_target_local(target *t, const server_opts *o, int port)
{
    memset(t, 0, sizeof *t);
    struct sockaddr_in *a = (struct sockaddr_in *)&t->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t->addrlen = sizeof *a;
    t->requests = o->requests;
    t->wait_ms = patience_ms(o);
}

/* ---- --connect: a server in another process ----------------------------------- */

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
        read_line(fd, buf, sizeof buf, deadline, -1) != RL_OK)
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

int loadgen_remote(server_opts *o)
{
    target t;
    memset(&t, 0, sizeof t);
    t.requests = o->requests;
    parse_connect(o->connect_arg, o->allow_remote, &t);
    server_info info;
    memset(&info, 0, sizeof info);
    ask_info(&t, o->connect_arg, &info);
    o->work_ms = info.work_ms; /* the server's, for the clients' patience */
    o->timeout_ms = info.timeout_ms;
    t.wait_ms = patience_ms(o);
    result res;
    memset(&res, 0, sizeof res);
    res.mode = mode_names[info.mode];
    res.concurrency = info.mode == M_SEQUENTIAL ? 1
                      : info.mode == M_POOL     ? info.workers
                                                : o->clients + o->nbad;
    run_load(&t, o, &res);
    char where[300];
    snprintf(where, sizeof where, "the server at %s", o->connect_arg);
    return loadgen_report(o, &res, 1, where);
}

/* ---- the report ------------------------------------------------------------- */

static void print_json(const result *res, int nres, const server_opts *o)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_double(&j, "work_ms", o->work_ms);
    json_int(&j, "clients", o->clients);
    json_int(&j, "requests", o->requests);
    json_arr(&j, "runs");
    for (int i = 0; i < nres; i++) {
        json_obj(&j, NULL);
        json_str(&j, "mode", res[i].mode);
        json_int(&j, "ok", res[i].ok);
        json_int(&j, "failed", res[i].failed);
        json_double(&j, "req_per_sec", res[i].req_per_sec);
        json_double(&j, "p50_ms", res[i].p50_ms);
        json_double(&j, "p99_ms", res[i].p99_ms);
        if (o->bad != BAD_NONE) {
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

static const result *find_run(const result *res, int nres, const char *mode)
{
    for (int i = 0; i < nres; i++)
        if (strcmp(res[i].mode, mode) == 0)
            return &res[i];
    return NULL;
}

static void print_table(const result *res, int nres, int clients, long expected,
                        bool with_bad)
{
    const result *seq = find_run(res, nres, "sequential");
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

/* The lines to notice, after the table. */
static void print_notices(const result *res, int nres, const server_opts *o)
{
    const result *seq = find_run(res, nres, "sequential");
    const result *pool = find_run(res, nres, "pool");
    if (seq && pool && seq->req_per_sec > 0 && o->work_ms == 0)
        printf("Notice: with no work to wait for there is nothing to "
               "overlap: what differs is each\n"
               "        mode's overhead (a thread per request pays for "
               "creating a thread).\n");
    else if (seq && pool && seq->req_per_sec > 0)
        printf("Notice: %d pool workers answer %.1fx the requests per "
               "second of one thread.\n"
               "        The work is waiting, not computing: waits overlap "
               "on any number of CPUs.\n",
               o->workers, pool->req_per_sec / seq->req_per_sec);
    if (seq && (o->bad == BAD_IDLE || o->bad == BAD_HALF || o->bad == BAD_ALL))
        printf("Notice: each silent client held the sequential server's "
               "only thread for %g ms,\n"
               "        and everyone queued behind it (see p99); in the "
               "pool it held one worker.\n",
               o->timeout_ms);
    if (o->bad == BAD_GARBAGE)
        printf("Notice: garbage costs the server almost nothing: "
               "'ERR bad request', and it hangs up.\n");
    if (!seq || !pool)
        printf("Notice: every answer was checked (DOUBLE n -> 2n); "
               "compare req/s and p99\n"
               "        with the other --mode values.\n");
}

int loadgen_report(const server_opts *o, const result *res, int nres,
                   const char *where)
{
    long expected = (long)o->clients * o->requests;
    bool all_ok = true;
    for (int i = 0; i < nres; i++)
        all_ok = all_ok && run_ok(&res[i], expected);
    if (o->json) {
        print_json(res, nres, o);
    } else {
        printf("%d clients x %d requests, each waiting %g ms on simulated "
               "slow I/O,\nagainst %s\n",
               o->clients, o->requests, o->work_ms, where);
        if (o->bad != BAD_NONE)
            printf("plus %d misbehaving client%s (%s), to be cut off after %g "
                   "ms\n",
                   o->nbad, o->nbad == 1 ? "" : "s", bad_names[o->bad],
                   o->timeout_ms);
        printf("\n");
        print_table(res, nres, o->clients, expected, o->bad != BAD_NONE);
        printf("\n");
        print_notices(res, nres, o);
    }
    if (fflush(stdout) != 0)
        die_errno("stdout");
    if (all_ok)
        return 0;
    for (int i = 0; i < nres; i++)
        if (!run_ok(&res[i], expected))
            warn_msg("%s: %ld of %ld requests answered correctly, "
                     "%d of %d bad clients cut off%s%s",
                     res[i].mode, res[i].ok, expected, res[i].bad_cut_off,
                     res[i].bad, res[i].err[0] ? "; first problem: " : "",
                     res[i].err);
    return 1;
}
