/*
 * proc.c - see proc.h.
 *
 * The record of children and temp files is read by a signal handler, so
 * it is built for that: fixed-size arrays, counts and flags of type
 * volatile sig_atomic_t, and one invariant that makes it consistent --
 * the record changes only while the stop signals are blocked.  The handler
 * can therefore never see a child that exists but is not recorded yet, or
 * a half-copied path.  The handler itself calls only async-signal-safe
 * functions (kill, waitpid, unlink, sigaction, pthread_sigmask, raise,
 * _exit; signal-safety(7)) and never returns.
 *
 * Threads: pthread_sigmask blocks the calling thread only.  Any other
 * thread must run with the stop signals blocked (create it between
 * kit_block_stop_signals and kit_restore_signals), so that the handler
 * always runs in the thread that changes the record, never alongside it.
 */
#include "proc.h"

#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- whole transfers -------------------------------------------------------- */

bool kit_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue; /* a signal came before any byte moved: again */
        if (w < 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

ssize_t kit_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break; /* end of file: return what we have */
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* ---- closing ------------------------------------------------------------------ */

void kit_xclose(int fd)
{
    if (close(fd) != 0)
        die_errno("close");
}

void kit_child_close(int fd)
{
    if (close(fd) != 0)
        _exit(1);
}

/* ---- the record ----------------------------------------------------------------- */

static int stop_sigs[KIT_MAX_STOP_SIGNALS]; /* set once, before the handler */
static int nstop;                           /* stop_sigs[0..nstop) are caught */

/* kids[0..nkids) are the children not reaped yet.  Changed only with the
 * stop signals blocked (see the top of this file). */
static pid_t kids[KIT_MAX_CHILDREN];
static volatile sig_atomic_t nkids;

/* temps[i] holds a path to remove while temp_used[i] is 1; a slot is
 * filled before its flag is set and freed by clearing the flag. */
static char temps[KIT_MAX_TEMPS][KIT_TEMP_PATH_MAX];
static volatile sig_atomic_t temp_used[KIT_MAX_TEMPS];

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    for (int i = 0; i < nstop; i++)
        sigaddset(set, stop_sigs[i]);
}

void kit_block_stop_signals(sigset_t *old)
{
    sigset_t set;
    stop_set(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, old);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
}

void kit_restore_signals(const sigset_t *old)
{
    int rc = pthread_sigmask(SIG_SETMASK, old, NULL);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
}

/* Async-signal-safe.  kill() may fail with ESRCH for a child reaped a
 * moment ago but not yet forgotten (kit_wait_child reaps, then forgets):
 * harmless, and waitpid() then fails with ECHILD, also harmless. */
static void kill_and_reap_all(void)
{
    for (int i = 0; i < nkids; i++)
        (void)kill(kids[i], SIGKILL);
    for (int i = 0; i < nkids; i++)
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR) {
            /* interrupted: wait again */
        }
    nkids = 0;
}

/* Async-signal-safe.  A file already gone is fine: nothing to remove. */
static void remove_temps(void)
{
    for (int i = 0; i < KIT_MAX_TEMPS; i++)
        if (temp_used[i]) {
            (void)unlink(temps[i]);
            temp_used[i] = 0;
        }
}

void kit_die_of_signal(int sig)
{
    /* Nothing here can be reported (we may be in a handler, and are dying
     * anyway): if a call fails, the _exit below still ends the process. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(sig, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    (void)pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    (void)raise(sig);
    /* Not reached for the signals that terminate by default.  Just in case:
     * cppcheck-suppress unreachableCode */
    _exit(128 + sig);
}

void kit_ignore_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        die_errno("sigaction SIGPIPE");
}

/* The handler: clean up, then die of the same signal, so that the shell
 * (or the test harness) sees how we ended.  Never returns. */
static void on_stop_signal(int sig)
{
    kill_and_reap_all();
    remove_temps();
    kit_die_of_signal(sig);
}

/* The same cleanup on a runtime error: die() calls exit(), which runs this.
 * In a child the record is empty (kit_fork cleared it), so a child's exit()
 * touches nothing of the parent's. */
static void cleanup_at_exit(void)
{
    sigset_t set, old; /* no die() in here: exit() is already under way */
    stop_set(&set);
    bool blocked = pthread_sigmask(SIG_BLOCK, &set, &old) == 0;
    kill_and_reap_all();
    remove_temps();
    if (blocked)
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void kit_cleanup_on(const int *sigs, int n)
{
    if (nstop > 0 || n < 1 || n > KIT_MAX_STOP_SIGNALS)
        die("internal error: kit_cleanup_on: call it once, with 1..%d signals",
            KIT_MAX_STOP_SIGNALS);
    for (int i = 0; i < n; i++)
        stop_sigs[i] = sigs[i];
    nstop = n;
    if (atexit(cleanup_at_exit) != 0)
        die("atexit failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    stop_set(&sa.sa_mask); /* one cleanup at a time */
    for (int i = 0; i < n; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            die_errno("sigaction");
}

/* ---- children ------------------------------------------------------------------- */

pid_t kit_fork(void)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    if (nkids == KIT_MAX_CHILDREN)
        die("internal error: more than %d children at once", KIT_MAX_CHILDREN);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        kit_restore_signals(&old);
        errno = e;
        die_errno("fork");
    }
    if (pid == 0) {
        /* The child: an empty record, default actions, then the old mask (a
         * signal sent meanwhile now acts by default).  These calls cannot
         * fail with these arguments; if one did, the child could not die()
         * (exit() would flush the parent's buffers), so: _exit(1). */
        nkids = 0;
        for (int i = 0; i < KIT_MAX_TEMPS; i++)
            temp_used[i] = 0;
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (int i = 0; i < nstop; i++)
            if (sigaction(stop_sigs[i], &dfl, NULL) != 0)
                _exit(1);
        if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
            _exit(1);
        return 0;
    }
    kids[nkids] = pid;
    nkids = nkids + 1;
    /* A signal sent meanwhile is delivered now, and finds the child recorded. */
    kit_restore_signals(&old);
    return pid;
}

void kit_forget_child(pid_t pid)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    for (int i = 0; i < nkids; i++) {
        if (kids[i] == pid) {
            kids[i] = kids[nkids - 1];
            nkids = nkids - 1;
            break;
        }
    }
    kit_restore_signals(&old);
}

int kit_wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die_errno("waitpid(%ld)", (long)pid);
    /* Reaped but still recorded for a moment: see kill_and_reap_all. */
    kit_forget_child(pid);
    return status;
}

void kit_kill_children(void)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    kill_and_reap_all();
    kit_restore_signals(&old);
}

/* ---- temp files ----------------------------------------------------------------- */

int kit_mkstemp(char *tmpl)
{
    size_t len = strlen(tmpl);
    if (len >= KIT_TEMP_PATH_MAX)
        die("temp file path too long: %s", tmpl);
    sigset_t old;
    kit_block_stop_signals(&old); /* created and recorded as one step */
    int slot = 0;
    while (slot < KIT_MAX_TEMPS && temp_used[slot])
        slot++;
    if (slot == KIT_MAX_TEMPS)
        die("internal error: more than %d temp files at once", KIT_MAX_TEMPS);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        die_errno("mkstemp %s", tmpl);
    memcpy(temps[slot], tmpl, len + 1);
    temp_used[slot] = 1;
    kit_restore_signals(&old);
    return fd;
}

void kit_unlink_temp(const char *path)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    if (unlink(path) != 0)
        die_errno("unlink %s", path);
    for (int i = 0; i < KIT_MAX_TEMPS; i++)
        if (temp_used[i] && strcmp(temps[i], path) == 0)
            temp_used[i] = 0;
    kit_restore_signals(&old);
}

/* ---- names and numbers ---------------------------------------------------------- */

void kit_ipc_name(char *buf, size_t n, const char *what, int attempt)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        die_errno("clock_gettime");
    int r =
        snprintf(buf, n, "/kit-%s-%ld-%lx", what, (long)getpid(),
                 (unsigned long)ts.tv_nsec ^ ((unsigned long)attempt << 20));
    if (r < 0 || (size_t)r >= n)
        die("internal error: IPC name for '%s' does not fit in %zu bytes", what,
            n);
}

int kit_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}
