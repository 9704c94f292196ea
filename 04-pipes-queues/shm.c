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
 *   number every run.  shared-locked: exactly P x N, and slower.
 *
 * Usage
 *   ./shm [-p PROCESSES] [-n ITERATIONS] [-m MODE] [--json]
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
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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

enum mode { M_PRIVATE, M_UNSAFE, M_LOCKED, M_ALL };
static const char *const mode_names[] = {"private", "shared-unsafe",
                                         "shared-locked", "all", NULL};

/* The shared page.  `counter` is volatile so that every increment really
 * loads and stores memory (the compiler may not add N at once): the race
 * is then the CPU's, not the optimiser's. */
typedef struct {
    volatile long
        counter; /* shared-* modes: the one counter of every process */
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

/* ---- shared memory: a POSIX shm object, mapped, then unlinked at once ----- */

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

/* ---- the lock ------------------------------------------------------------------ */

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

/* ---- one run: P children, a start gun, N increments each -------------------- */

static void child_work(enum mode m, shared_page *pg, long long iters)
{
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

typedef struct {
    enum mode mode;
    long long expected, got;
    double seconds;
} result;

static result run(const config *c, enum mode m, shared_page *pg)
{
    result r = {.mode = m, .expected = c->procs * c->iters};
    pg->counter = 0;
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
            child_work(m, pg, c->iters);
            _exit(0);
        }
    }
    /* the parent never reads the gun */
    kit_xclose(gun[0]);
    double t0 = kit_now();
    /* bang: every child sees EOF */
    kit_xclose(gun[1]);
    for (int i = 0; i < c->procs; i++) {
        int st = kit_wait_child(children[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("%s: a child failed", mode_names[m]);
    }
    r.seconds = kit_now() - t0;
    r.got = m == M_PRIVATE ? private_counter : pg->counter;
    return r;
}

static const char usage[] =
    "usage: shm [-p PROCESSES] [-n ITERATIONS] [-m MODE] [--json]\n"
    "PROCESSES processes each increment one counter ITERATIONS times, in "
    "private\n"
    "memory, in shared memory without a lock, and in shared memory with a "
    "lock.\n"
    "\n"
    "  -p, --processes P    processes, 1..64 (default 4)\n"
    "  -n, --iterations N   increments per process, 1..100000000 (default "
    "1000000)\n"
    "  -m, --mode MODE      private|shared-unsafe|shared-locked|all (default "
    "all)\n"
    "      --json           one JSON object on stdout instead of the table\n"
    "  -h, --help           this help\n"
    "\n"
    "example: ./shm -p 2 -n 5000000 -m shared-unsafe\n";

static void parse(int argc, char **argv, config *c)
{
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"processes", required_argument, NULL, 'p'},
        {"iterations", required_argument, NULL, 'n'},
        {"mode", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (config){.procs = 4, .iters = 1000000, .mode = M_ALL};
    int ch;
    while ((ch = getopt_long(argc, argv, ":p:n:m:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
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
    /* Ctrl-C or kill: kill and reap every child, then die of the signal. */
    static const int stops[] = {SIGINT, SIGTERM};
    kit_cleanup_on(stops, sizeof stops / sizeof stops[0]);

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

    bool ok = true;
    for (int i = 0; i < nres; i++) {
        if (res[i].mode == M_PRIVATE && res[i].got != 0)
            ok = false;
        if (res[i].mode == M_LOCKED && res[i].got != res[i].expected)
            ok = false;
    }
    if (cfg.json) {
        json_w j;
        json_start(&j, stdout);
        json_obj(&j, NULL);
        json_int(&j, "processes", cfg.procs);
        json_int(&j, "iterations", cfg.iters);
        json_arr(&j, "results");
        for (int i = 0; i < nres; i++) {
            json_obj(&j, NULL);
            json_str(&j, "mode", mode_names[res[i].mode]);
            json_int(&j, "expected", res[i].expected);
            json_int(&j, "got", res[i].got);
            json_int(&j, "lost", res[i].expected - res[i].got);
            json_double(&j, "seconds", res[i].seconds);
            json_end(&j);
        }
        json_end(&j);
        json_end(&j);
        json_finish(&j);
    } else {
        printf("shm: %lld processes x %lld increments of one counter (%s)\n\n",
               cfg.procs, cfg.iters,
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
            if (r->mode == M_PRIVATE)
                tbl_cell(&t, "%s",
                         r->got == 0
                             ? "PRIVATE: each child changed its own copy"
                             : "WRONG: private memory was shared?");
            else if (r->got == r->expected)
                tbl_cell(&t, "%s",
                         r->mode == M_UNSAFE
                             ? "OK (lucky: run again, or raise -n)"
                             : "OK");
            else
                tbl_cell(&t, "%s",
                         r->mode == M_UNSAFE ? "DATA RACE: updates lost"
                                             : "WRONG: the lock did not work");
        }
        tbl_print(&t, stdout);
        printf("\nnotice: after fork() a global is a copy; only MAP_SHARED "
               "memory is shared, "
               "and shared memory needs a lock, exactly like threads\n");
    }
    if (fflush(stdout) != 0)
        die_errno("stdout");
    if (!ok) {
        warn_msg(
            "the private counter changed or the locked counter is not exact");
        return KIT_EXIT_RUNTIME;
    }
    return 0;
}
