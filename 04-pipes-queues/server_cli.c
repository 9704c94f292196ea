/*
 * server_cli.c - server's options: usage text, parsing, combinations that
 * mean nothing, and --connect's "is this address allowed" check
 *
 * Options that would be silently ignored are mistakes, and say so:
 * "--clients: only for the load generator, not with --serve".  --connect
 * accepts loopback addresses only, numerically, unless --allow-remote.
 *
 * See also: server.c (the lesson), common/cli.h (the kit's option rules),
 * getaddrinfo(3) AI_NUMERICHOST.
 */
#include "server.h"

#include "cli.h"
#include "err.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ---- --connect: where, and is it allowed ---------------------------------- */

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
void parse_connect(const char *arg, bool allow_remote, target *t)
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

/* ---- usage text and options ------------------------------------------------ */

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
    "      --timeout-ms T  a client has T ms to send its request, every\n"
    "                      send T ms to finish, 10..60000 (default 1000)\n"
    "      --serve         serve only, on 127.0.0.1; Ctrl-C stops it\n"
    "                      within a second, whatever the clients do\n"
    "      --port P        with --serve: 0..65535, 0 = any free (default 0)\n"
    "load generator:\n"
    "      --clients N     concurrent clients, 1..256 (default 8)\n"
    "  -n, --requests M    requests per client, one connection each,\n"
    "                      1..10000 (default 10)\n"
    "      --connect H:P   load a running 'server --serve' (loopback only)\n"
    "      --allow-remote  let --connect leave this machine\n"
    "      --misbehave K   add clients that are idle|garbage|half|all:\n"
    "                      they send nothing, junk, or half a request;\n"
    "                      the server must cut them off, alone\n"
    "      --bad-clients B how many misbehave, 1..64 (default 3)\n"
    "      --json          one JSON object on stdout instead of the table\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  ./server                      all three modes side by side\n"
    "  ./server --mode pool --workers 8 --clients 16\n"
    "  ./server --misbehave idle --timeout-ms 300\n"
    "  ./server --serve --port 5000 &\n"
    "  ./server --connect 127.0.0.1:5000;  kill -INT %1\n";

/* Long-only options: -t, -p and -c mean --threads, --producers and
 * --consumers in the kit, so the server's timeout, port and clients have no
 * short form; --json has none anywhere. */
enum {
    OPT_SERVE = 256,
    OPT_TIMEOUT_MS,
    OPT_PORT,
    OPT_CLIENTS,
    OPT_CONNECT,
    OPT_ALLOW_REMOTE,
    OPT_MISBEHAVE,
    OPT_BAD_CLIENTS,
    OPT_JSON,
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

/* Options that would be silently ignored are mistakes: say so. */
static void check_combinations(server_opts *o, unsigned given)
{
    if (o->serve) {
        const char *why = "only for the load generator, not with --serve";
        if (o->connect_arg)
            usage_error("--connect: not with --serve (run the load generator "
                        "separately)");
        conflict(given, G_CLIENTS, "--clients", why);
        conflict(given, G_REQUESTS, "--requests", why);
        conflict(given, G_MISBEHAVE, "--misbehave", why);
        conflict(given, G_BAD, "--bad-clients", why);
        conflict(given, G_JSON, "--json", why);
        conflict(given, G_ALLOW, "--allow-remote", why);
        if (o->mode == M_ALL && (given & G_MODE))
            usage_error("--mode: --serve runs one mode: "
                        "sequential|thread-per-request|pool");
        if (o->mode == M_ALL)
            o->mode = M_POOL;
    } else {
        conflict(
            given, G_PORT, "--port",
            "only with --serve (the in-process server takes any free port)");
    }
    if (o->connect_arg) {
        const char *why = "set by the server you --connect to, not here";
        conflict(given, G_MODE, "--mode", why);
        conflict(given, G_WORKERS, "--workers", why);
        conflict(given, G_QUEUE, "--queue", why);
        conflict(given, G_WORK, "--work-ms", why);
        conflict(given, G_TIMEOUT, "--timeout-ms", why);
    } else {
        conflict(given, G_ALLOW, "--allow-remote", "only with --connect");
    }
    if ((given & G_BAD) && o->bad == BAD_NONE)
        usage_error(
            "--bad-clients: only with --misbehave idle|garbage|half|all");
    if (o->bad == BAD_NONE)
        o->nbad = 0;
}

void server_parse_args(int argc, char **argv, server_opts *o)
{
    *o = (server_opts){
        .mode = M_ALL,
        .bad = BAD_NONE,
        .workers = 4,
        .capacity = 16,
        .clients = 8,
        .requests = 10,
        .nbad = 3,
        .work_ms = 20,
        .timeout_ms = 1000,
    };
    unsigned given = 0;
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"workers", required_argument, NULL, 'w'},
        {"queue", required_argument, NULL, 'k'},
        {"work-ms", required_argument, NULL, 'W'},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
        {"serve", no_argument, NULL, OPT_SERVE},
        {"port", required_argument, NULL, OPT_PORT},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"requests", required_argument, NULL, 'n'},
        {"connect", required_argument, NULL, OPT_CONNECT},
        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
        {"misbehave", required_argument, NULL, OPT_MISBEHAVE},
        {"bad-clients", required_argument, NULL, OPT_BAD_CLIENTS},
        {"json", no_argument, NULL, OPT_JSON}, /* long only: -j is --jobs */
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":m:w:k:W:n:h", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'm':
            o->mode = (enum mode)opt_choice("--mode", optarg, mode_names);
            given |= G_MODE;
            break;
        case 'w':
            o->workers = (int)opt_int("--workers", optarg, 1, MAX_WORKERS);
            given |= G_WORKERS;
            break;
        case 'k':
            o->capacity = (int)opt_int("--queue", optarg, 1, 1024);
            given |= G_QUEUE;
            break;
        case 'W':
            o->work_ms = opt_double("--work-ms", optarg, 0, 10000);
            given |= G_WORK;
            break;
        case OPT_TIMEOUT_MS:
            o->timeout_ms = opt_double("--timeout-ms", optarg, 10, 60000);
            given |= G_TIMEOUT;
            break;
        case OPT_PORT:
            o->port = (int)opt_int("--port", optarg, 0, 65535);
            given |= G_PORT;
            break;
        case OPT_CLIENTS:
            o->clients = (int)opt_int("--clients", optarg, 1, MAX_CLIENTS);
            given |= G_CLIENTS;
            break;
        case 'n':
            o->requests = (int)opt_int("--requests", optarg, 1, MAX_REQUESTS);
            given |= G_REQUESTS;
            break;
        case OPT_SERVE: o->serve = true; break;
        case OPT_CONNECT:
            if (optarg[0] == '\0')
                usage_error("--connect: expected HOST:PORT such as "
                            "127.0.0.1:5000, got ''");
            o->connect_arg = optarg;
            break;
        case OPT_ALLOW_REMOTE:
            o->allow_remote = true;
            given |= G_ALLOW;
            break;
        case OPT_MISBEHAVE:
            o->bad =
                (enum bad_kind)opt_choice("--misbehave", optarg, bad_names);
            given |= G_MISBEHAVE;
            break;
        case OPT_BAD_CLIENTS:
            o->nbad = (int)opt_int("--bad-clients", optarg, 1, MAX_BAD);
            given |= G_BAD;
            break;
        case OPT_JSON:
            o->json = true;
            given |= G_JSON;
            break;
        case 'h': kit_help(usage_text);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);
    check_combinations(o, given);
}
