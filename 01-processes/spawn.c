/*
 * spawn.c - what creating a process costs, next to creating a thread
 *
 * Creates COUNT processes one at a time -- fork(), the child calls _exit(0)
 * at once, the parent waitpid()s it -- then COUNT threads the same way --
 * pthread_create() of a function that returns at once, pthread_join() --
 * and prints the time per creation and the ratio.  With --posix-spawn it
 * also starts COUNT copies of the program `true` (fork + exec in one call:
 * what starting a new program costs, as Python's multiprocessing "spawn"
 * start method pays for every worker).
 *
 * What you will observe: a process costs several times a thread (often
 * 5-20x on Linux): fork() copies the page tables, the file table and the
 * signal state, and the child must be scheduled, exit and be reaped; a
 * thread shares all of that.  Grow the parent (--memory 256M) and fork() gets
 * dearer, because there are more page tables to copy; threads do not care.
 * Timings depend on the machine and on what else runs: never compare
 * numbers from a busy machine.
 *
 * Usage:   spawn [-n COUNT] [--memory SIZE] [--posix-spawn] [--json]
 * Example: ./spawn -n 2000 --posix-spawn
 * See also: fork.c (what fork() copies), 02-threads/threads.c (what threads
 *          share), fork(2), pthread_create(3), posix_spawn(3), TLPI 28.3.
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
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Set by SIGINT/SIGTERM/SIGHUP: the loops stop after the current child is
 * reaped, so that an interrupted run leaves no child behind. */
static volatile sig_atomic_t stop_sig;

static void on_signal(int sig) { stop_sig = sig; }

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};
enum { NHANDLED = sizeof handled / sizeof handled[0] };

static void set_handlers(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NHANDLED; i++)
        if (sigaction(handled[i], &sa, NULL) != 0)
            die_errno("sigaction");
}

/* Interrupted: every child is reaped by now; die of the signal we got, so
 * the shell sees how we ended. */
static void stop_if_signalled(void)
{
    if (stop_sig)
        kit_die_of_signal(stop_sig);
}

/*
 * Wait for one child and check that it ended with exit code 0.  Until it is
 * waited for, a child that has exited stays in the process table as a
 * zombie, holding its PID and its exit status for the parent to collect.
 */
static void reap(pid_t pid)
{
#ifndef HANDOUT
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) /* a signal interrupted the wait: wait again */
            die_errno("waitpid(%ld)", (long)pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("child %ld did not end with exit code 0 (status 0x%x)", (long)pid,
            (unsigned)st);
#else
    /* TODO(01.2): wait for this child with waitpid() (wait again if it fails
     * with EINTR; any other failure: die_errno) so that it does not stay a
     * zombie, and die() unless it exited with code 0 (WIFEXITED,
     * WEXITSTATUS). */
    (void)pid;
#endif
}

/* The timed loops: COUNT creations each, or fewer if a signal stops them.
 * Each returns the seconds taken and stores how many were made in *done. */

static double time_forks(long count, long *done)
{
    fflush(NULL); /* nothing buffered for the children to copy (none prints) */
    double t0 = kit_now();
    long i;
    for (i = 0; i < count && !stop_sig; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork (child %ld of %ld)", i + 1, count);
        if (pid == 0)
            /* _exit: no stdio flush, no atexit handlers -- just end. */
            _exit(0);
        reap(pid);
    }
    *done = i;
    return kit_now() - t0;
}

static void *nothing(void *arg) { return arg; }

static double time_threads(long count, long *done)
{
    double t0 = kit_now();
    long i;
    for (i = 0; i < count && !stop_sig; i++) {
        pthread_t t;
        xpthread_create(&t, nothing, NULL);
        xpthread_join(t);
    }
    *done = i;
    return kit_now() - t0;
}

static double time_spawns(long count, long *done)
{
    char *const args[] = {"true", NULL};
    fflush(NULL);
    double t0 = kit_now();
    long i;
    for (i = 0; i < count && !stop_sig; i++) {
        pid_t pid;
        /* posix_spawn returns an error number; it does not set errno. */
        int rc = posix_spawnp(&pid, "true", NULL, NULL, args, environ);
        if (rc != 0)
            die_code(rc, "posix_spawnp true (child %ld of %ld)", i + 1, count);
        reap(pid);
    }
    *done = i;
    return kit_now() - t0;
}

/* Is any child left unreaped?  WNOWAIT only looks: the zombie stays (and a
 * test harness still counts it). */
static void check_all_reaped(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid != 0)
        warn_msg("warning: child %ld was never reaped: it stays a zombie until "
                 "spawn "
                 "exits.  Every fork() needs its waitpid() (exercise 01.2).",
                 (long)si.si_pid);
}

/* Make the parent big: touch every page of SIZE bytes of heap, so that they
 * are really mapped and fork() must copy their page-table entries. */
static void *grow(unsigned long long size)
{
    if (size == 0)
        return NULL;
    char *p = malloc((size_t)size);
    if (p == NULL)
        die_errno("malloc %llu bytes", size);
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    for (unsigned long long i = 0; i < size; i += (unsigned long long)page)
        p[i] = 1;
    return p;
}

/* ---- reporting ----------------------------------------------------------- */

/* What was measured: totals in seconds, per creation in microseconds. */
struct costs {
    long count;
    unsigned long long memory;
    bool posix;
    double fork_s, thread_s, spawn_s;
    double fork_us, thread_us, spawn_us, ratio;
};

static void print_json(const struct costs *k)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "count", k->count);
    json_double(&j, "fork_us", k->fork_us);
    json_double(&j, "thread_us", k->thread_us);
    json_double(&j, "ratio", k->ratio);
    if (k->posix)
        json_double(&j, "spawn_us", k->spawn_us);
    json_end(&j);
    json_finish(&j);
}

static void print_table(const struct costs *k)
{
    printf(
        "creating %ld of each, one at a time: create it, then wait for it to "
        "end",
        k->count);
    if (k->memory >= (1ULL << 20))
        printf(" (the parent holds %llu MiB of touched heap)", k->memory >> 20);
    else if (k->memory > 0)
        printf(" (the parent holds %llu KiB of touched heap)", k->memory >> 10);
    printf("\n\n");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "what", TBL_LEFT);
    tbl_col(&t, "count", TBL_RIGHT);
    tbl_col(&t, "total", TBL_RIGHT);
    tbl_col(&t, "per creation", TBL_RIGHT);
    tbl_col(&t, "vs a thread", TBL_RIGHT);
    tbl_cell(&t, "fork + _exit + waitpid");
    tbl_cell(&t, "%ld", k->count);
    tbl_cell(&t, "%.3f s", k->fork_s);
    tbl_cell(&t, "%.1f us", k->fork_us);
    tbl_cell(&t, "%.1fx", k->ratio);
    tbl_cell(&t, "pthread_create + pthread_join");
    tbl_cell(&t, "%ld", k->count);
    tbl_cell(&t, "%.3f s", k->thread_s);
    tbl_cell(&t, "%.1f us", k->thread_us);
    tbl_cell(&t, "1.0x");
    if (k->posix) {
        tbl_cell(&t, "posix_spawn(true) + waitpid");
        tbl_cell(&t, "%ld", k->count);
        tbl_cell(&t, "%.3f s", k->spawn_s);
        tbl_cell(&t, "%.1f us", k->spawn_us);
        tbl_cell(&t, "%.1fx", k->spawn_us / k->thread_us);
    }
    tbl_print(&t, stdout);
    printf(
        "\n%sa process costs ~%.0fx a thread here%s   expected: several times "
        "(2x or more)   %s%s%s\n",
        kit_color(stdout, "bold"), k->ratio, kit_color(stdout, "reset"),
        kit_color(stdout, k->ratio >= 2 ? "green" : "yellow"),
        k->ratio >= 2 ? "OK" : "SURPRISING: is the machine busy?",
        kit_color(stdout, "reset"));
    printf(
        "Notice: fork() copies the page tables, the descriptor table and more, "
        "and the child must run, exit and be reaped; a thread shares all "
        "that.\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: spawn [-n COUNT] [--memory SIZE] [--posix-spawn] [--json]\n"
    "\n"
    "Creates COUNT processes (fork + _exit + waitpid) and COUNT threads\n"
    "(pthread_create + pthread_join), one at a time, and compares the cost.\n"
    "\n"
    "  -n, --count N       how many of each, 1..1000000 (1000)\n"
    "      --memory SIZE   the parent first fills SIZE of heap (0..1G, e.g. "
    "256M):\n"
    "                      fork() copies more page tables, threads do not care "
    "(0)\n"
    "      --posix-spawn   also time posix_spawn() of `true` + waitpid\n"
    "      --json          one JSON object on stdout:\n"
    "                      "
    "{\"count\":N,\"fork_us\":F,\"thread_us\":T,\"ratio\":R}\n"
    "                      (plus \"spawn_us\" with --posix-spawn)\n"
    "  -h, --help          this help\n"
    "\n"
    "example:\n"
    "  ./spawn -n 2000 --posix-spawn\n";

int main(int argc, char *argv[])
{
    kit_set_prog("spawn");
    enum { OPT_JSON = 256, OPT_MEMORY, OPT_POSIX_SPAWN };
    /* Long only: -m means --mode and -p --producers in the kit. */
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'n'},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"posix-spawn", no_argument, NULL, OPT_POSIX_SPAWN},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long count = 1000;
    unsigned long long memory = 0;
    bool json = false, posix = false;
    int c;
    while ((c = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': count = (long)opt_int("--count", optarg, 1, 1000000); break;
        case OPT_MEMORY:
            memory = opt_size("--memory", optarg, 0, 1ULL << 30);
            break;
        case OPT_POSIX_SPAWN: posix = true; break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    void *ballast = grow(memory);
    set_handlers(on_signal);

    /* Warm up first (page faults, the thread stack cache, the dynamic
     * loader for posix_spawn), so the timed loops measure the steady state.
     * A tenth of the count, at most 20: `spawn -n 1` creates exactly one of
     * each, for strace (make syscalls). */
    long warm = count / 10 < 20 ? count / 10 : 20, done;
    time_forks(warm, &done);
    time_threads(warm, &done);
    if (posix)
        time_spawns(warm, &done);

    long nf = 0, nt = 0, ns = 0;
    double fork_s = time_forks(count, &nf);
    double thread_s = time_threads(count, &nt);
    double spawn_s = posix ? time_spawns(count, &ns) : 0;
    stop_if_signalled();
    check_all_reaped();
    free(ballast);

    double fork_us = fork_s / (double)nf * 1e6;
    double thread_us = thread_s / (double)nt * 1e6;
    double spawn_us = posix ? spawn_s / (double)ns * 1e6 : 0;
    double ratio = fork_us / thread_us;

    struct costs k = {count,   memory,  posix,     fork_s,   thread_s,
                      spawn_s, fork_us, thread_us, spawn_us, ratio};
    if (json)
        print_json(&k);
    else
        print_table(&k);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("writing to stdout");
    return 0;
}
