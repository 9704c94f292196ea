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
#include "timing.h"

#include <dirent.h>
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

static int stop_sigs[KIT_MAX_STOP_SIGNALS]; /* set with the signals blocked */
static volatile sig_atomic_t nstop;         /* stop_sigs[0..nstop) are caught */

/* Scopes (kit_cleanup_scope_open): depth is the number open; every entry of
 * the record carries the depth it was made at (0: outside any scope), so a
 * scope's close finds what is its own.  handlers_scope is the depth of the
 * scope that installed the handlers (0: kit_cleanup_on did, or nobody). */
enum { KIT_MAX_SCOPES = 8 };
static int depth;
static int handlers_scope;
static struct sigaction saved_actions[KIT_MAX_STOP_SIGNALS];
static bool atexit_done;

/* kids[0..nkids) are the children not reaped yet.  Changed only with the
 * stop signals blocked (see the top of this file). */
static pid_t kids[KIT_MAX_CHILDREN];
static int kid_depth[KIT_MAX_CHILDREN];
static volatile sig_atomic_t nkids;

/* temps[i] holds a path to remove while temp_used[i] is 1; a slot is
 * filled before its flag is set and freed by clearing the flag. */
static char temps[KIT_MAX_TEMPS][KIT_TEMP_PATH_MAX];
static int temp_depth[KIT_MAX_TEMPS];
static volatile sig_atomic_t temp_used[KIT_MAX_TEMPS];

/* Temp directories, likewise; dir_handle[i] is opened when the directory
 * is recorded, so that the handler never allocates: it only rewinds and
 * reads a DIR that nothing else uses (readdir is not on the list of
 * signal-safety(7), but with a private, preallocated DIR it shares no lock
 * and no heap with the code it interrupts). */
static char dirs[KIT_MAX_TEMP_DIRS][KIT_TEMP_PATH_MAX];
static DIR *dir_handle[KIT_MAX_TEMP_DIRS];
static int dir_depth[KIT_MAX_TEMP_DIRS];
static volatile sig_atomic_t dir_used[KIT_MAX_TEMP_DIRS];

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

/* Async-signal-safe.  Kill and reap the children recorded at depth >= from
 * (0: all).  kill() may fail with ESRCH for a child reaped a moment ago but
 * not yet forgotten (kit_wait_child reaps, then forgets): harmless, and
 * waitpid() then fails with ECHILD, also harmless.  SIGKILL also ends a
 * stopped child (SIGSTOP, Ctrl-Z). */
static void kill_and_reap(int from)
{
    for (int i = 0; i < nkids; i++)
        if (kid_depth[i] >= from)
            (void)kill(kids[i], SIGKILL);
    int kept = 0;
    for (int i = 0; i < nkids; i++) {
        if (kid_depth[i] < from) {
            kids[kept] = kids[i];
            kid_depth[kept++] = kid_depth[i];
            continue;
        }
        while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR) {
            /* interrupted: wait again */
        }
    }
    nkids = kept;
}

/* Remove the files in a recorded directory, then the directory.  Returns
 * 0 or -1 (errno set).  Async-signal-safe in the sense above.  Unlinking
 * while reading may make readdir skip an entry, so read again until a pass
 * removes nothing. */
static int empty_and_remove(int slot)
{
    DIR *d = dir_handle[slot];
    int removed;
    do {
        removed = 0;
        rewinddir(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
                return -1;
            removed++;
        }
    } while (removed > 0);
    return rmdir(dirs[slot]);
}

/* Async-signal-safe.  Remove what was recorded at depth >= from; a file
 * already gone is fine: nothing to remove. */
static void remove_temps(int from)
{
    for (int i = 0; i < KIT_MAX_TEMPS; i++)
        if (temp_used[i] && temp_depth[i] >= from) {
            (void)unlink(temps[i]);
            temp_used[i] = 0;
        }
    for (int i = 0; i < KIT_MAX_TEMP_DIRS; i++)
        if (dir_used[i] && dir_depth[i] >= from) {
            (void)empty_and_remove(i);
            dir_used[i] = 0; /* the DIR stays open: no free() in a handler */
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
    kill_and_reap(0);
    remove_temps(0);
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
    kill_and_reap(0);
    remove_temps(0);
    if (blocked)
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static bool has_signal(const int *sigs, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (sigs[i] == sig)
            return true;
    return false;
}

/* Catch sigs[0..n) with on_stop_signal, saving the old actions if save;
 * the signals are blocked meanwhile, so none finds half a set-up. */
static void install(const int *sigs, int n, bool save)
{
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < n; i++)
        sigaddset(&block, sigs[i]);
    int rc = pthread_sigmask(SIG_BLOCK, &block, &old);
    if (rc != 0)
        die_code(rc, "pthread_sigmask");
    if (!atexit_done) {
        if (atexit(cleanup_at_exit) != 0)
            die("atexit failed");
        atexit_done = true;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_mask = block; /* one cleanup at a time */
    for (int i = 0; i < n; i++) {
        if (sigaction(sigs[i], &sa, save ? &saved_actions[i] : NULL) != 0)
            die_errno("sigaction");
        stop_sigs[i] = sigs[i];
    }
    nstop = n;
    kit_restore_signals(&old);
}

void kit_cleanup_on(const int *sigs, int n)
{
    if ((nstop > 0 && handlers_scope == 0) || n < 1 ||
        n > KIT_MAX_STOP_SIGNALS - 2)
        die("internal error: kit_cleanup_on: call it once, with 1..%d signals",
            KIT_MAX_STOP_SIGNALS - 2);
    int all[KIT_MAX_STOP_SIGNALS], nall = 0;
    for (int i = 0; i < n; i++)
        if (!has_signal(all, nall, sigs[i]))
            all[nall++] = sigs[i];
    static const int always[] = {SIGHUP, SIGQUIT};
    for (int i = 0; i < 2; i++)
        if (!has_signal(all, nall, always[i]))
            all[nall++] = always[i];
    /* A scope may have caught KIT_STOP_SIGNALS already: keep those too, and
     * the handlers now stay when that scope closes. */
    for (int i = 0; i < nstop && nall < KIT_MAX_STOP_SIGNALS; i++)
        if (!has_signal(all, nall, stop_sigs[i]))
            all[nall++] = stop_sigs[i];
    handlers_scope = 0;
    install(all, nall, false);
}

void kit_cleanup_scope_open(void)
{
    if (depth == KIT_MAX_SCOPES)
        die("internal error: more than %d cleanup scopes open", KIT_MAX_SCOPES);
    depth++;
    if (nstop == 0) {
        static const int stops[] = KIT_STOP_SIGNALS;
        install(stops, KIT_NSTOP_SIGNALS, true);
        handlers_scope = depth;
    }
}

void kit_cleanup_scope_close(void)
{
    if (depth == 0)
        die("internal error: kit_cleanup_scope_close without an open scope");
    sigset_t old;
    kit_block_stop_signals(&old);
    kill_and_reap(depth);
    remove_temps(depth);
    for (int i = 0; i < KIT_MAX_TEMP_DIRS; i++)
        if (!dir_used[i] && dir_handle[i] != NULL) {
            closedir(dir_handle[i]); /* removed by remove_temps above */
            dir_handle[i] = NULL;
        }
    if (handlers_scope == depth) {
        for (int i = 0; i < nstop; i++)
            if (sigaction(stop_sigs[i], &saved_actions[i], NULL) != 0)
                die_errno("sigaction");
        nstop = 0;
        handlers_scope = 0;
    }
    depth--;
    kit_restore_signals(&old); /* a pending signal now meets the old action */
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
        for (int i = 0; i < KIT_MAX_TEMP_DIRS; i++)
            dir_used[i] = 0;
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
    kid_depth[nkids] = depth;
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
            kid_depth[i] = kid_depth[nkids - 1];
            nkids = nkids - 1;
            break;
        }
    }
    kit_restore_signals(&old);
}

bool kit_poll_child(pid_t pid, double *stopped_since, int *status)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG | WUNTRACED | WCONTINUED)) == pid) {
        if (WIFSTOPPED(st)) {
            if (*stopped_since == 0)
                *stopped_since = kit_now();
            *status = st;
        } else if (WIFCONTINUED(st)) {
            *stopped_since = 0;
        } else {
            *status = st;
            kit_forget_child(pid);
            return true;
        }
    }
    if (r < 0 && errno != EINTR)
        die_errno("waitpid(%ld)", (long)pid);
    return false;
}

int kit_wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die_errno("waitpid(%ld)", (long)pid);
    /* Reaped but still recorded for a moment: see kill_and_reap. */
    kit_forget_child(pid);
    return status;
}

void kit_kill_children(void)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    kill_and_reap(0);
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
    temp_depth[slot] = depth;
    temp_used[slot] = 1;
    kit_restore_signals(&old);
    return fd;
}

void kit_forget_temp(const char *path)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    for (int i = 0; i < KIT_MAX_TEMPS; i++)
        if (temp_used[i] && strcmp(temps[i], path) == 0)
            temp_used[i] = 0;
    kit_restore_signals(&old);
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

char *kit_mkdtemp(char *tmpl)
{
    size_t len = strlen(tmpl);
    if (len >= KIT_TEMP_PATH_MAX)
        die("temp directory path too long: %s", tmpl);
    sigset_t old;
    kit_block_stop_signals(&old); /* created and recorded as one step */
    int slot = 0;
    while (slot < KIT_MAX_TEMP_DIRS && dir_used[slot])
        slot++;
    if (slot == KIT_MAX_TEMP_DIRS)
        die("internal error: more than %d temp directories at once",
            KIT_MAX_TEMP_DIRS);
    if (dir_handle[slot] != NULL) { /* left open by a signal-time removal */
        closedir(dir_handle[slot]);
        dir_handle[slot] = NULL;
    }
    if (mkdtemp(tmpl) == NULL)
        die_errno("mkdtemp %s", tmpl);
    DIR *d = opendir(tmpl);
    if (d == NULL) {
        int e = errno;
        (void)rmdir(tmpl);
        errno = e;
        die_errno("opendir %s", tmpl);
    }
    memcpy(dirs[slot], tmpl, len + 1);
    dir_handle[slot] = d;
    dir_depth[slot] = depth;
    dir_used[slot] = 1;
    kit_restore_signals(&old);
    return tmpl;
}

void kit_remove_dir(const char *path)
{
    sigset_t old;
    kit_block_stop_signals(&old);
    for (int i = 0; i < KIT_MAX_TEMP_DIRS; i++) {
        if (!dir_used[i] || strcmp(dirs[i], path) != 0)
            continue;
        if (empty_and_remove(i) != 0)
            die_errno("removing %s", path);
        dir_used[i] = 0;
        closedir(dir_handle[i]);
        dir_handle[i] = NULL;
        kit_restore_signals(&old);
        return;
    }
    die("internal error: kit_remove_dir: %s is not recorded", path);
}

/* ---- how a child ended ------------------------------------------------------------ */

const char *kit_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
        {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
        {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
        {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
        {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
        {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "an unnamed signal";
}

char *kit_describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exited with code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
                 kit_signal_name(WTERMSIG(status)));
    else if (WIFSTOPPED(status))
        snprintf(buf, n, "stopped by signal %d (%s)", WSTOPSIG(status),
                 kit_signal_name(WSTOPSIG(status)));
    else
        snprintf(buf, n, "neither exited nor killed (status 0x%x)",
                 (unsigned)status);
    return buf;
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
