/*
 * proc.h - process and descriptor plumbing: whole transfers, checked
 * closes, and children and temp files that never outlive the program.
 *
 * The labs that fork all need the same mechanics; the lessons (which end
 * to close and why, when to flush before fork) stay in the labs, at the
 * call sites.  What is here:
 *
 *   kit_write_all / kit_read_all   write() and read() may move fewer bytes
 *                                  than asked, or fail with EINTR: loop.
 *   kit_xclose / kit_child_close   a checked close(); the child's version
 *                                  _exits instead of exit()ing.
 *   kit_cleanup_on                 on SIGINT/SIGTERM/...: kill and reap every
 *                                  recorded child, remove every recorded
 *                                  temp file, then die of the same signal
 *                                  (so the shell sees how we ended).  The
 *                                  same cleanup runs at exit(), e.g. die().
 *                                  SIGHUP and SIGQUIT are always among them.
 *   kit_cleanup_scope_open/close   the same, for a library module (pool.c,
 *                                  the MapReduce runtime) that cannot know
 *                                  whether main() called kit_cleanup_on.
 *   kit_mkdtemp / kit_remove_dir   a recorded temp directory: what is in it
 *                                  when the cleanup runs is removed with it.
 *   kit_describe_status            "exited with code N" / "killed by signal
 *                                  N (SIGNAME)": one wording everywhere.
 *   kit_fork / kit_wait_child      fork() that records the child, waitpid()
 *                                  that forgets it.
 *   kit_poll_child                 a worker stopped (SIGSTOP, Ctrl-Z) or
 *                                  ended, without blocking: the liveness
 *                                  rule of pool.c and the MapReduce runtime.
 *   kit_ignore_sigpipe             EPIPE instead of death by SIGPIPE.
 *   kit_mkstemp / kit_unlink_temp  mkstemp() that records the path, unlink()
 *                                  that forgets it.
 *   kit_ipc_name                   a fresh name for shm_open/sem_open/mq_open.
 *   kit_ncpus                      CPUs this process may run on (its
 *                                  affinity mask: taskset -c 0 gives 1).
 *
 * Typical use (see 04-pipes-queues/shm.c):
 *
 *     static const int stops[] = KIT_STOP_SIGNALS;
 *     kit_cleanup_on(stops, KIT_NSTOP_SIGNALS);
 *     fflush(NULL);                  -- or the child prints our buffer too
 *     pid_t pid = kit_fork();
 *     if (pid == 0) { ...; _exit(0); }
 *     int status = kit_wait_child(pid);
 *
 * Rules: once kit_cleanup_on() is in place, fork only through kit_fork()
 * (a raw fork()'s child would inherit the handler and the parent's record,
 * and could kill its siblings).  A child ends with _exit(), never exit().
 *
 * See also: TLPI 20-22 (signals), 24-26 (fork, exit, wait), 44.2 (pipes),
 * readn()/writen() in TLPI 61.1; signal-safety(7).
 */
#ifndef KIT_PROC_H
#define KIT_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
    KIT_MAX_CHILDREN = 256,   /* recorded children at once */
    KIT_MAX_TEMPS = 4,        /* recorded temp files at once */
    KIT_MAX_STOP_SIGNALS = 8, /* signals given to kit_cleanup_on */
    KIT_TEMP_PATH_MAX = 4096, /* bytes of a recorded path, NUL included */
    KIT_MAX_TEMP_DIRS = 2,    /* recorded temp directories at once */
    KIT_NSTOP_SIGNALS = 4,    /* entries of KIT_STOP_SIGNALS */
};

/* The signals that mean "stop now" to every program of the kit: Ctrl-C,
 * kill, a closed terminal, Ctrl-\.  Use as
 *     static const int stops[] = KIT_STOP_SIGNALS;
 *     kit_cleanup_on(stops, KIT_NSTOP_SIGNALS); */
#define KIT_STOP_SIGNALS \
    { \
        SIGINT, SIGTERM, SIGHUP, SIGQUIT \
    }

/* ---- whole transfers -------------------------------------------------------- */

/* Write all n bytes, resuming after short writes and EINTR.  true, or false
 * with errno set (EPIPE: nobody reads any more, if SIGPIPE is ignored). */
bool kit_write_all(int fd, const void *buf, size_t n);

/* Read exactly n bytes, resuming after short reads and EINTR.  Returns n;
 * fewer (0 included) only at end of file: 0 means EOF before the first
 * byte, 0 < r < n a message cut short; -1 on error, errno set. */
ssize_t kit_read_all(int fd, void *buf, size_t n);

/* ---- closing ------------------------------------------------------------------ */

/* close(), or die_errno("close"): for the parent, whose exit() is fine. */
void kit_xclose(int fd);

/* close(), or _exit(1): for a child, which must not exit() (that would
 * flush the parent's stdio buffers and run its atexit handlers again). */
void kit_child_close(int fd);

/* ---- stop signals, children, temp files -------------------------------------- */

/* Catch sigs[0..n) (e.g. KIT_STOP_SIGNALS): the handler kills and reaps
 * every recorded child, removes every recorded temp file and directory,
 * restores the signal's default action and raises it again.  SIGHUP and
 * SIGQUIT are caught too even when sigs omits them: a closed terminal or a
 * Ctrl-\ must not leave more behind than a Ctrl-C.  Also registers the
 * same cleanup with atexit(), so die() leaves nothing behind either.  Call
 * once, before the first kit_fork(), and before any scope is opened;
 * n <= KIT_MAX_STOP_SIGNALS - 2. */
void kit_cleanup_on(const int *sigs, int n);

/*
 * A cleanup scope, for a library module that forks or makes temp files on
 * behalf of a program that may or may not have called kit_cleanup_on:
 *
 *     kit_cleanup_scope_open();      -- KIT_STOP_SIGNALS caught, if not yet
 *     pid_t pid = kit_fork();        -- children and temp dirs recorded ...
 *     ...  kit_wait_child(pid)  ...  -- ... and forgotten as usual
 *     kit_cleanup_scope_close();     -- what the scope still holds: killed,
 *                                       reaped, removed; handlers restored
 *
 * Inside the scope a stop signal cleans up everything recorded (the
 * module's and the program's) and kills the process with that signal,
 * exactly as under kit_cleanup_on.  Scopes nest; close the innermost first.
 * Close kills and reaps the children forked inside the scope that are still
 * recorded, and removes its temp files and directories still recorded: the
 * error path of a module is then just "close the scope".  If open installed
 * the handlers, close puts the previous actions back.
 */
void kit_cleanup_scope_open(void);
void kit_cleanup_scope_close(void);

/* Block the signals given to kit_cleanup_on (none before it), saving the
 * old mask in *old; kit_restore_signals puts it back.  Between the two, the
 * cleanup cannot run: use it around anything that creates something and
 * records it, or that a thread must inherit blocked. */
void kit_block_stop_signals(sigset_t *old);
void kit_restore_signals(const sigset_t *old);

/* fork() with the stop signals blocked, so that none arrives between the
 * fork and the recording of the child.  Parent: the child's pid, recorded.
 * Child: 0, with the stop signals back to their default action and an
 * empty record (the parent's children and files are not its to clean up).
 * It does not flush stdio: the caller does, with fflush(NULL).  Dies on
 * failure, or when KIT_MAX_CHILDREN are recorded already. */
pid_t kit_fork(void);

/* waitpid() for a recorded child (resuming after EINTR; dies on any other
 * error), then forget it.  Returns the raw wait status. */
int kit_wait_child(pid_t pid);

/* Forget a child reaped some other way (waitpid with WNOHANG, say). */
void kit_forget_child(pid_t pid);

/* Poll a recorded child without blocking, for a parent that must notice a
 * worker stopped by SIGSTOP or Ctrl-Z (waiting for its result would hang
 * forever): waitpid(WNOHANG | WUNTRACED | WCONTINUED).  *stopped_since is
 * kit_now() from when the child was first seen stopped, 0 while it runs;
 * only time the parent itself sees it stopped counts, so Ctrl-Z then fg of
 * the whole job never adds up.  *status: how it was last seen (stopped, or
 * ended).  Returns true when it has ended: it is then reaped and forgotten,
 * as by kit_wait_child.  Dies on a waitpid error other than EINTR. */
bool kit_poll_child(pid_t pid, double *stopped_since, int *status);

/* Kill (SIGKILL) and reap every recorded child, and forget them all: the
 * error path (a watchdog that gives up, say). */
void kit_kill_children(void);

/* Ignore SIGPIPE: a write() to a pipe or socket nobody reads any more then
 * fails with EPIPE (which the caller can report) instead of killing the
 * process.  Inherited by kit_fork's children.  Dies on failure. */
void kit_ignore_sigpipe(void);

/* Restore sig's default action, unblock it and raise it: die of the signal
 * as if it had never been caught.  Async-signal-safe; never returns (if the
 * signal does not kill, _exit(128 + sig)). */
_Noreturn void kit_die_of_signal(int sig);

/* mkstemp(tmpl), and record the path for removal, as one step (the stop
 * signals blocked).  Returns the descriptor; dies on failure. */
int kit_mkstemp(char *tmpl);

/* unlink() a recorded temp file (dies on failure) and forget it. */
void kit_unlink_temp(const char *path);

/* Forget a recorded temp file without removing it: it was renamed into
 * place (see out.h) and is no longer temporary. */
void kit_forget_temp(const char *path);

/* mkdtemp(tmpl), and record the directory, as one step (the stop signals
 * blocked).  The cleanup removes the files in it (one level: no
 * subdirectories), then the directory, so a cleanup costs what exists, not
 * what might have.  Returns tmpl; dies on failure. */
char *kit_mkdtemp(char *tmpl);

/* Remove a recorded temp directory and the files in it, and forget it.
 * Dies on failure. */
void kit_remove_dir(const char *path);

/* ---- how a child ended ------------------------------------------------------------ */

/* One wording for a wait status, in buf: "exited with code 3", "killed by
 * signal 9 (SIGKILL)", or "stopped by signal 19 (SIGSTOP)".  Returns buf. */
char *kit_describe_status(int status, char *buf, size_t n);

/* "SIGINT" for SIGINT, "an unnamed signal" for one without a portable name.  The
 * returned string is static (never overwritten): async-signal-safe. */
const char *kit_signal_name(int sig);

/* ---- names and numbers ---------------------------------------------------------- */

/* "/kit-WHAT-PID-NONCE" in buf: a POSIX IPC name (shm_open, sem_open,
 * mq_open) that no other process uses.  Create it with O_CREAT | O_EXCL and
 * call again with attempt + 1 on EEXIST. */
void kit_ipc_name(char *buf, size_t n, const char *what, int attempt);

/* CPUs this process may run on, at least 1: the affinity mask on Linux
 * (sched_getaffinity: `taskset -c 0 prog` gives 1), online CPUs elsewhere
 * (sysconf).  joblib's n_jobs=-1 and os.process_cpu_count() agree. */
int kit_ncpus(void);

#endif
