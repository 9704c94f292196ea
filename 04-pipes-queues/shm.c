/*
 * shm.c - multiprocessing.Value in C: one counter, P processes, three kinds of memory
 *
 * What it demonstrates
 *   P processes each add 1 to a counter N times, three ways:
 *     private        a plain global: fork() gave every child its own copy
 *                    (copy-on-write), so the parent still reads 0;
 *     shared-unsafe  a counter in a MAP_SHARED mapping: one copy, seen by
 *                    everyone - and lab 03's race, now between processes:
 *                    load, add, store is not atomic, updates are lost;
 *     shared-locked  the same counter, guarded by a mutex that lives in the
 *                    shared mapping too, initialised PTHREAD_PROCESS_SHARED
 *                    (where that is missing, a named semaphore): exact.
 *   Python's Value('i', 0) is the locked one; `with v.get_lock():` is the
 *   lock around `v.value += 1` that people forget.
 *
 * What you will observe
 *   private: 0.  shared-unsafe: less than expected (DATA RACE), a different
 *   number every run.  shared-locked: exactly P x N, and slower.  A
 *   child stopped (SIGSTOP) for 5 s fails the run by name, no hang.
 *
 * Usage
 *   ./shm [--processes P] [-n ITERATIONS] [-m MODE] [--json]
 *
 * See also
 *   race.c (lab 03: the same race between threads), shm_open(3), mmap(2),
 *   pthread_mutexattr_setpshared(3), sem_open(3);
 *   https://docs.python.org/3/library/multiprocessing.html#shared-ctypes-objects
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
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Process-shared mutexes are a POSIX option; macOS lacks it.  There we
 * fall back to a named semaphore, which every POSIX system has. */
#if defined(_POSIX_THREAD_PROCESS_SHARED) && _POSIX_THREAD_PROCESS_SHARED > 0
#define USE_PSHARED_MUTEX 1
#else
#define USE_PSHARED_MUTEX 0
#include <semaphore.h>
#endif

#define MAX_PROCS 64

_Static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_BOOL_LOCK_FREE == 2,
               "the roll call needs lock-free atomics in shared memory");

/* The roll call: of ROLL_CALL_BLOCK polls in a row (a few microseconds),
 * ROLL_CALL_SEEN must see another child's beat; on one CPU only a context
 * switch lets another beat in, once per time slice.  After ROLL_CALL_S
 * without a second CPU free, everyone starts anyway. */
enum { ROLL_CALL_BLOCK = 256, ROLL_CALL_SEEN = 32 };
/* Long enough that the unlocked children count for tens of milliseconds,
 * several time slices, so they interleave even on a busy machine; short
 * enough that the locked run stays under a second. */
enum { DEFAULT_ITERATIONS = 5000000 };
static const double ROLL_CALL_S = 0.2;

enum mode { M_PRIVATE, M_UNSAFE, M_LOCKED, M_ALL };
static const char *const mode_names[] = {"private", "shared-unsafe",
                                         "shared-locked", "all", NULL};

/* The shared page.  `counter` is volatile so that every increment really
 * loads and stores memory (the compiler may not add N at once): the race
 * is then the CPU's, not the optimiser's. */
typedef struct {
    volatile long
        counter; /* shared-* modes: the one counter of every process */
    /* The roll call (start_together), in the mapping so that every child
     * sees the one copy.  Lock-free atomics work between processes: they
     * are plain instructions on the shared memory, no hidden lock. */
    atomic_uint drum; /* every waiting child beats it */
    atomic_bool go;   /* the roll call is over: count */
    /* Written once, by the child that says go; the parent reads them after
     * reaping every child. */
    double started; /* kit_now() when counting began (a system-wide clock) */
    bool together;  /* two children were seen running at the same moment */
#if USE_PSHARED_MUTEX
    pthread_mutex_t lock; /* PTHREAD_PROCESS_SHARED: works across fork() */
#endif
} shared_page;

/* private mode: an ordinary global.  After fork() each child has a copy. */
static volatile long private_counter;

typedef struct {
    long long procs, iters;
    enum mode mode;
    bool json;
} config;

/* ---- children and signals -------------------------------------------------
 *
 * Children are made with kit_fork(), which records them; on SIGINT/SIGTERM
 * the handler from kit_cleanup_on() (see main) kills and reaps them, then
 * dies of the signal (common/proc.h).  The shared memory object was
 * unlinked right after it was created: nothing else to remove. */

/* ---- shared memory: a POSIX shm object, mapped, then unlinked at once ---- */

/* A name nobody else uses (kit_ipc_name); the object lives only between
 * shm_open and shm_unlink (signals blocked), then only the mapping keeps it
 * alive, so nothing is ever left in /dev/shm. */
static shared_page *map_shared_page(void)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        kit_ipc_name(name, sizeof name, "shm-page", attempt);
        sigset_t old;
        kit_block_stop_signals(&old);
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        int err = errno;
        if (fd >= 0 && shm_unlink(name) != 0)
            die_errno("shm_unlink %s", name);
        kit_restore_signals(&old);
        if (fd < 0 && err == EEXIST)
            continue;
        if (fd < 0) {
            errno = err;
            die_errno("shm_open");
        }
        if (ftruncate(fd, (off_t)sizeof(shared_page)) != 0)
            die_errno("ftruncate");
        /* MAP_SHARED: stores go to the one object every process maps.
         * (MAP_PRIVATE would give each process a private copy again.) */
        void *p = mmap(NULL, sizeof(shared_page), PROT_READ | PROT_WRITE,
                       MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            die_errno("mmap");
        /* the mapping stays valid without the descriptor */
        kit_xclose(fd);
        return p;
    }
    die("shm_open: could not find a free name");
}

/* ---- the lock ------------------------------------------------------------ */

#if USE_PSHARED_MUTEX
static void lock_init(shared_page *pg)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutex_init(&pg->lock, &a);
    if (rc != 0)
        die_code(rc, "process-shared mutex");
    pthread_mutexattr_destroy(&a);
}
static void lock_destroy(shared_page *pg) { xmutex_destroy(&pg->lock); }
/* xmutex_* die with exit(), so in a child a failure would run atexit
 * handlers; these are the kit's, harmless, and a failure cannot happen. */
static void lock(shared_page *pg) { xmutex_lock(&pg->lock); }
static void unlock(shared_page *pg) { xmutex_unlock(&pg->lock); }
#else
static sem_t *sem; /* named, but unlinked at once like the page */
static void lock_init(shared_page *pg)
{
    (void)pg;
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        kit_ipc_name(name, sizeof name, "shm-sem", attempt);
        sigset_t old;
        kit_block_stop_signals(&old);
        sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
        int err = errno;
        if (sem != SEM_FAILED && sem_unlink(name) != 0)
            die_errno("sem_unlink %s", name);
        kit_restore_signals(&old);
        if (sem != SEM_FAILED)
            return;
        if (err != EEXIST) {
            errno = err;
            die_errno("sem_open");
        }
    }
    die("sem_open: could not find a free name");
}
static void lock_destroy(shared_page *pg)
{
    (void)pg;
    if (sem_close(sem) != 0)
        die_errno("sem_close");
}
static void lock(shared_page *pg)
{
    (void)pg;
    while (sem_wait(sem) != 0)
        if (errno != EINTR)
            _exit(1);
}
static void unlock(shared_page *pg)
{
    (void)pg;
    if (sem_post(sem) != 0)
        _exit(1);
}
#endif

/* ---- one run: P children, a start gun, a roll call, N increments each ---- */

static void say_go(shared_page *pg, bool together)
{
    double now = kit_now();
    bool no = false;
    if (atomic_compare_exchange_strong(&pg->go, &no, true)) {
        pg->started = now; /* the first to say go records the start */
        pg->together = together;
    }
}

/* The start gun wakes every child, but woken is not running: on a busy
 * machine two children can take turns on one CPU, each counting alone, and
 * nothing is lost.  So, as in lab 03's race.c, each child answers a roll
 * call: it beats a drum in the shared page and watches the others' beats.
 * Seeing them advance poll after poll proves another child is on another
 * CPU right now; the first to see it says go. */
static void start_together(shared_page *pg, long long procs)
{
    if (procs == 1)
        return; /* nobody to wait for */
    unsigned mine = 0, others_before = atomic_load(&pg->drum);
    int seen = 0; /* polls in this block that saw another child's beat */
    const double give_up = kit_now() + ROLL_CALL_S;
    for (unsigned polls = 1; !atomic_load(&pg->go); polls++) {
        unsigned others = atomic_fetch_add(&pg->drum, 1) - mine++;
        seen += others != others_before;
        others_before = others;
        if (seen >= ROLL_CALL_SEEN) {
            say_go(pg, true);
        } else if (polls % ROLL_CALL_BLOCK == 0) {
            seen = 0;
            if (kit_now() > give_up)
                say_go(pg, false); /* no second CPU came free */
        }
    }
}

static void child_work(enum mode m, shared_page *pg, long long procs,
                       long long iters)
{
    start_together(pg, procs);
    for (long long i = 0; i < iters; i++) {
        switch (m) {
        case M_PRIVATE:
            private_counter++; /* this process's copy */
            break;
        case M_UNSAFE:
            pg->counter++; /* load, add, store: another process may store between */
            break;
        default:
            lock(pg);
            pg->counter++; /* nobody else is between our load and our store */
            unlock(pg);
            break;
        }
    }
}

/*
 * The liveness rule (as 02-threads/pool.h's).  A child that dies ends, and
 * waitpid() says how; a child that is STOPPED (kill -STOP, a debugger) never
 * ends, and the parent would wait forever -- in shared-locked mode, with the
 * lock held, so would every other child.  So the parent waits with
 * WUNTRACED | WCONTINUED: a child it sees stopped for STOPPED_LIMIT_S
 * seconds fails the run, and the message names it.  Only time seen stopped
 * counts: after Ctrl-Z and fg the whole group was stopped, the parent too,
 * and the children are continued (WIFCONTINUED) by the time it looks.
 */
enum { STOPPED_LIMIT_S = 5 };

/* Reap pids[0..n) as they end; die naming the first child that failed or
 * stayed stopped (die's exit kills and reaps the rest: common/proc.h). */
static void reap_children(const pid_t *pids, int n, const char *mode)
{
    double stopped_since[MAX_PROCS] = {0}; /* kit_now() when seen stopped */
    int stop_status[MAX_PROCS] = {0};
    bool ended[MAX_PROCS] = {false};
    int left = n, stopped = 0;
    while (left > 0) {
        int st;
        /* Nobody stopped: block until a child changes state.  Somebody
         * stopped: look four times a second, to see the limit pass. */
        pid_t pid =
            waitpid(-1, &st, WUNTRACED | WCONTINUED | (stopped ? WNOHANG : 0));
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            die_errno("waitpid");
        char how[64];
        if (pid == 0) {
            for (int i = 0; i < n; i++)
                if (!ended[i] && stopped_since[i] > 0 &&
                    kit_now() - stopped_since[i] >= STOPPED_LIMIT_S)
                    die("%s: child %ld %s and made no progress for %d s: "
                        "giving up",
                        mode, (long)pids[i],
                        kit_describe_status(stop_status[i], how, sizeof how),
                        STOPPED_LIMIT_S);
            kit_sleep_ms(250);
            continue;
        }
        int i = 0;
        while (i < n && pids[i] != pid)
            i++;
        if (i == n)
            continue; /* not one of this run's children */
        if (WIFSTOPPED(st)) {
            if (stopped_since[i] == 0) {
                stopped_since[i] = kit_now();
                stopped++;
            }
            stop_status[i] = st;
            continue;
        }
        if (stopped_since[i] > 0) { /* continued, or ended while stopped */
            stopped_since[i] = 0;
            stopped--;
        }
        if (WIFCONTINUED(st))
            continue;
        ended[i] = true;
        left--;
        kit_forget_child(pid); /* reaped here, not by kit_wait_child */
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("%s: child %ld %s", mode, (long)pid,
                kit_describe_status(st, how, sizeof how));
    }
}

typedef struct {
    enum mode mode;
    long long expected, got;
    double seconds; /* roll call over to the last child reaped */
    bool together;  /* two children were seen running at the same moment */
} result;

static result run(const config *c, enum mode m, shared_page *pg)
{
    result r = {.mode = m, .expected = c->procs * c->iters};
    pg->counter = 0;
    atomic_store(&pg->drum, 0);
    atomic_store(&pg->go, false);
    pg->together = false;
    private_counter = 0;
    /* The start gun: children block reading `gun` until the parent closes
     * its write end; EOF reaches them all at once, so their loops overlap. */
    int gun[2];
    if (pipe(gun) != 0)
        die_errno("pipe");
    pid_t children[MAX_PROCS];
    for (int i = 0; i < c->procs; i++) {
        fflush(NULL); /* or buffered output would be printed twice */
        children[i] = kit_fork();
        if (children[i] == 0) {
            /* else our own copy would keep the gun silent */
            kit_child_close(gun[1]);
            char b;
            if (kit_read_all(gun[0], &b, 1) < 0) /* returns 0 at the bang */
                _exit(1);
            child_work(m, pg, c->procs, c->iters);
            _exit(0);
        }
    }
    /* the parent never reads the gun */
    kit_xclose(gun[0]);
    pg->started = kit_now(); /* one child: no roll call, counting starts now */
    /* bang: every child sees EOF */
    kit_xclose(gun[1]);
    reap_children(children, (int)c->procs, mode_names[m]);
    r.seconds = kit_now() - pg->started;
    r.together = pg->together;
    r.got = m == M_PRIVATE ? private_counter : pg->counter;
    return r;
}

/* ---- reporting ----------------------------------------------------------- */

static const char *verdict(const result *r, long long procs)
{
    if (r->mode == M_PRIVATE)
        return r->got == 0 ? "PRIVATE: each child changed its own copy"
                           : "WRONG: private memory was shared?";
    if (r->mode == M_LOCKED)
        return r->got == r->expected ? "OK" : "WRONG: the lock did not work";
    if (procs == 1)
        return "OK: one process has no one to race";
    if (r->got != r->expected)
        return "DATA RACE: updates lost";
    return r->together ? "DATA RACE: lucky this time, nothing lost"
                       : "DATA RACE: nothing lost, never ran at once";
}

/* The line under the table about the unlocked row, when it needs one. */
static void explain_unsafe(const result *r, long long procs)
{
    if (r->mode != M_UNSAFE)
        return;
    if (procs == 1)
        printf("one process: nobody else stores between its load and its "
               "store, so nothing\nis lost; the race needs two (--processes "
               "2).\n");
    else if (r->got != r->expected)
        printf("shared-unsafe lost %lld of %lld updates: load, add and store "
               "are\nthree steps, and another process's store in between is "
               "overwritten.\n",
               r->expected - r->got, r->expected);
    else if (!r->together)
        printf("shared-unsafe lost nothing: its processes were never seen "
               "running at the same\nmoment (one CPU, or the others busy). "
               "Run it again.\n");
    else
        printf("shared-unsafe lost nothing this time, and is still a data "
               "race: run it again.\n");
}

/* Did the runs that must be exact come out exact? */
static bool results_ok(const result *res, int nres)
{
    bool ok = true;
    for (int i = 0; i < nres; i++) {
        if (res[i].mode == M_PRIVATE && res[i].got != 0)
            ok = false;
        if (res[i].mode == M_LOCKED && res[i].got != res[i].expected)
            ok = false;
    }
    return ok;
}

static void print_json(const config *c, const result *res, int nres)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "processes", c->procs);
    json_int(&j, "iterations", c->iters);
    json_arr(&j, "results");
    for (int i = 0; i < nres; i++) {
        json_obj(&j, NULL);
        json_str(&j, "mode", mode_names[res[i].mode]);
        json_int(&j, "expected", res[i].expected);
        json_int(&j, "got", res[i].got);
        json_int(&j, "lost", res[i].expected - res[i].got);
        json_double(&j, "seconds", res[i].seconds);
        json_bool(&j, "together", res[i].together);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static void print_report(const config *c, const result *res, int nres)
{
    printf("shm: %lld process%s x %lld increments of one counter (%s)\n\n",
           c->procs, c->procs == 1 ? "" : "es", c->iters,
           USE_PSHARED_MUTEX ? "lock: PTHREAD_PROCESS_SHARED mutex"
                             : "lock: named semaphore");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "mode", TBL_LEFT);
    tbl_col(&t, "expected", TBL_RIGHT);
    tbl_col(&t, "got", TBL_RIGHT);
    tbl_col(&t, "lost", TBL_RIGHT);
    tbl_col(&t, "time", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    for (int i = 0; i < nres; i++) {
        const result *r = &res[i];
        tbl_cell(&t, "%s", mode_names[r->mode]);
        tbl_cell(&t, "%lld", r->expected);
        tbl_cell(&t, "%lld", r->got);
        tbl_cell(&t, "%lld", r->expected - r->got);
        tbl_cell(&t, "%.2fs", r->seconds);
        tbl_cell(&t, "%s", verdict(r, c->procs));
    }
    tbl_print(&t, stdout);
    putchar('\n');
    for (int i = 0; i < nres; i++)
        explain_unsafe(&res[i], c->procs);
    printf("notice: after fork() a global is a copy; only MAP_SHARED "
           "memory is shared,\nand shared memory needs a lock, exactly "
           "like threads\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: shm [--processes P] [-n ITERATIONS] [-m MODE] [--json]\n"
    "P processes each increment one counter ITERATIONS times, in "
    "private\n"
    "memory, in shared memory without a lock, and in shared memory with a "
    "lock.\n"
    "\n"
    "      --processes P    processes, 1..64 (default 4)\n"
    "  -n, --iterations N   increments per process, 1..100000000 (default "
    "5000000)\n"
    "  -m, --mode MODE      private|shared-unsafe|shared-locked|all (default "
    "all)\n"
    "      --json           one JSON object on stdout instead of the table\n"
    "  -h, --help           this help\n"
    "\n"
    "example: ./shm --processes 2 -n 5000000 -m shared-unsafe\n";

static void parse(int argc, char **argv, config *c)
{
    enum { OPT_JSON = 256, OPT_PROCESSES };
    /* --processes is long only: -p means --producers in the kit. */
    static const struct option longopts[] = {
        {"processes", required_argument, NULL, OPT_PROCESSES},
        {"iterations", required_argument, NULL, 'n'},
        {"mode", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (config){.procs = 4, .iters = DEFAULT_ITERATIONS, .mode = M_ALL};
    int ch;
    while ((ch = getopt_long(argc, argv, ":n:m:h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_PROCESSES:
            c->procs = opt_int("--processes", optarg, 1, MAX_PROCS);
            break;
        case 'n':
            c->iters = opt_int("--iterations", optarg, 1, 100000000);
            break;
        case 'm':
            c->mode = (enum mode)opt_choice("--mode", optarg, mode_names);
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
    kit_set_prog("shm");
    config cfg;
    parse(argc, argv, &cfg);
    /* Ctrl-C, kill, a closed terminal, Ctrl-\: kill and reap every child,
     * then die of the signal. */
    static const int stops[] = KIT_STOP_SIGNALS;
    kit_cleanup_on(stops, KIT_NSTOP_SIGNALS);

    shared_page *pg = map_shared_page();
    lock_init(pg);
    result res[3];
    int nres = 0;
    for (int m = M_PRIVATE; m <= M_LOCKED; m++)
        if (cfg.mode == M_ALL || cfg.mode == (enum mode)m)
            res[nres++] = run(&cfg, (enum mode)m, pg);
    lock_destroy(pg);
    if (munmap(pg, sizeof *pg) != 0)
        die_errno("munmap");

    bool ok = results_ok(res, nres);
    if (cfg.json)
        print_json(&cfg, res, nres);
    else
        print_report(&cfg, res, nres);
    if (fflush(stdout) != 0)
        die_errno("stdout");
    if (!ok) {
        warn_msg(
            "the private counter changed or the locked counter is not exact");
        return KIT_EXIT_RUNTIME;
    }
    return 0;
}
