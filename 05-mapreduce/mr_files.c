/*
 * mr_files.c - the job's temporary files, and the cleanup that removes
 * them.  Not a phase of the slide but what makes the process workers safe:
 * the intermediate files mr-<m>-<r> (map task m's partition r) and
 * mr-out-<r> (reduce task r's sorted run) live in a private mkdtemp
 * directory, each written under a temporary name and renamed (a reader
 * never sees half a file), and the directory is removed at exit and on
 * SIGINT/SIGTERM, with every live worker killed first.
 *
 * The seam: this file is the runtime's one cleanup record.  When
 * common/proc.h grows a cleanup scope, cleanup_* below become calls to it.
 *
 * Before: mr_procs.c (the workers that write these files).
 */
#include "mr_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------
 * Cleanup: the temp dir, the workers, the app's output temp file.  Runs at
 * exit and from the SIGINT/SIGTERM handler, so it uses only
 * async-signal-safe calls (kill, waitpid, unlink, rmdir) and names it can
 * build without snprintf.
 * ------------------------------------------------------------------- */
static struct {
    pid_t coordinator;                /* cleanup runs only in this process */
    char dir[PATHLEN];                /* "" when there is none */
    volatile pid_t pids[MAX_WORKERS]; /* live workers, 0 = none */
    int M, R;                         /* names mr-<m>-<r>[.tmp] to remove */
    char outfile[PATHLEN];            /* the app's temp output, "" if none */
} cleanup;

static size_t cat(char *dst, size_t at, const char *s)
{
    while (*s && at + 1 < PATHLEN)
        dst[at++] = *s++;
    dst[at] = '\0';
    return at;
}

static size_t cat_num(char *dst, size_t at, long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0 && at + 1 < PATHLEN)
        dst[at++] = tmp[--n];
    dst[at] = '\0';
    return at;
}

/* dir/mr-<m>-<r><sfx> (m < 0: mr-out-<r><sfx>) */
void mr_inter_name(char *dst, int m, int r, const char *sfx)
{
    size_t at = cat(dst, 0, cleanup.dir);
    at = cat(dst, at, m < 0 ? "/mr-out-" : "/mr-");
    if (m >= 0) {
        at = cat_num(dst, at, m);
        at = cat(dst, at, "-");
    }
    at = cat_num(dst, at, r);
    cat(dst, at, sfx);
}

void mr_cleanup_now(void)
{
    if (getpid() != cleanup.coordinator)
        return; /* a worker exiting must not tear down the job */
    for (int i = 0; i < MAX_WORKERS; i++) {
        pid_t p = cleanup.pids[i];
        if (p > 0) {
            kill(p, SIGKILL);
            while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
                ;
            cleanup.pids[i] = 0;
        }
    }
    if (cleanup.dir[0]) {
        char path[PATHLEN];
        for (int m = -1; m < cleanup.M; m++)
            for (int r = 0; r < cleanup.R; r++) {
                mr_inter_name(path, m, r, "");
                unlink(path);
                mr_inter_name(path, m, r, ".tmp");
                unlink(path);
            }
        cat(path, cat(path, 0, cleanup.dir), "/stdin");
        unlink(path);
        rmdir(cleanup.dir);
        cleanup.dir[0] = '\0';
    }
    if (cleanup.outfile[0]) {
        unlink(cleanup.outfile);
        cleanup.outfile[0] = '\0';
    }
}

static void on_signal(int sig)
{
    /* The signal stays blocked until the handler returns, so raise() only
     * queues it: save errno for the code we interrupted until then. */
    int saved = errno;
    mr_cleanup_now();
    signal(sig, SIG_DFL);
    raise(sig); /* die of the signal as soon as we return: the shell sees why */
    errno = saved;
}

void mr_cleanup_add_file(const char *path) { cat(cleanup.outfile, 0, path); }

void mr_cleanup_forget_file(void) { cleanup.outfile[0] = '\0'; }

void mr_cleanup_install(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    cleanup.coordinator = getpid();
    if (atexit(mr_cleanup_now) != 0)
        die("atexit failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        die_errno("sigaction");
}

void mr_make_tmpdir(void)
{
    if (cleanup.dir[0])
        return;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char tmpl[PATHLEN];
    int n = snprintf(tmpl, sizeof tmpl, "%s/%s.XXXXXX", base, kit_prog());
    if (n < 0 || (size_t)n >= sizeof tmpl - 16)
        die("TMPDIR is too long: %s", base);
    if (!mkdtemp(tmpl))
        die_errno("cannot create a temporary directory in %s", base);
    /* Published only once complete: the handler may read it any time. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    cat(cleanup.dir, 0, tmpl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

const char *mr_job_tmpdir(void) { return cleanup.dir; }

void mr_cleanup_expect(int M, int R)
{
    cleanup.M = M;
    cleanup.R = R;
}

/* The pid table changes with every signal blocked: the handler never sees
 * it half updated. */
static void set_worker(int slot, pid_t pid)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    cleanup.pids[slot] = pid;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void mr_cleanup_worker_started(int slot, pid_t pid) { set_worker(slot, pid); }

void mr_cleanup_worker_reaped(int slot) { set_worker(slot, 0); }

/* ---------------------------------------------------------------------
 * Writing and reading the intermediate files
 * ------------------------------------------------------------------- */
void mr_write_all(int fd, const char *p, size_t n, const char *what)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die_errno("write %s", what);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Publish b as `final`: write a temp name, then rename (atomic), so a
 * reader sees the whole file or none. */
void mr_publish(const buf_t *b, const char *tmp, const char *final)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die_errno("create %s", tmp);
    mr_write_all(fd, b->p, b->len, tmp);
    if (close(fd) != 0)
        die_errno("close %s", tmp);
    if (rename(tmp, final) != 0)
        die_errno("rename %s", tmp);
}

void mr_slurp(const char *path, buf_t *b)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die_errno("open %s", path);
    b->len = 0;
    struct stat st; /* one allocation, big enough, if fstat says */
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        buf_reserve(b, 1); /* room to see EOF (or a file that grew) */
        ssize_t n = read(fd, b->p + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die_errno("read %s", path);
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    close(fd);
}
