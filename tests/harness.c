/* harness.c - see harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *bin_path(const char *name)
{
    static char buf[4096];
    if (strchr(name, '/')) {
        snprintf(buf, sizeof buf, "%s", name);
        return buf;
    }
    const char *dir = getenv("KIT_BIN_DIR");
    snprintf(buf, sizeof buf, "%s/%s", dir && *dir ? dir : ".", name);
    return buf;
}

bool san_is(const char *which)
{
    const char *s = getenv("KIT_SAN");
    return s && strstr(s, which) != NULL;
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void sb_read(sbuf *b, int fd, bool *open_)
{
    if (b->cap - b->len < 65536) {
        b->cap = b->cap * 2 + 65536;
        b->buf = realloc(b->buf, b->cap + 1);
        cr_assert(b->buf, "harness: out of memory");
    }
    ssize_t n = read(fd, b->buf + b->len, b->cap - b->len);
    if (n > 0)
        b->len += (size_t)n;
    else if (n == 0 || errno != EINTR)
        *open_ = false;
}

/* The PIDs listed in a /proc/.../children file (its first 4 KiB, enough
 * to tell "at least N" for a small N): how many, and the first
 * (0 if none) in *first.  A missing file lists none. */
static int read_pids(const char *path, long *first)
{
    *first = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    int n = 0;
    for (char *p = buf, *end;; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (n++ == 0)
            *first = v;
    }
    return n;
}

/* The first child of pid, or 0 if none (or not Linux). */
static pid_t first_child(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
             (long)pid);
    long child;
    read_pids(path, &child);
    return (pid_t)child;
}

int count_workers(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int threads = 0, children = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        threads++;
        char kids[320];
        snprintf(kids, sizeof kids, "/proc/%ld/task/%s/children", (long)pid,
                 e->d_name);
        long first;
        children += read_pids(kids, &first);
    }
    closedir(d);
    return children + (threads > 0 ? threads - 1 : 0);
}

/* Does what was captured so far contain text? */
static bool holds(const sbuf *b, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; b->buf && n <= b->len && i <= b->len - n; i++)
        if (memcmp(b->buf + i, text, n) == 0)
            return true;
    return false;
}

/*
 * After the program exited: anything of its process group re-parented to us
 * (we are a subreaper) is a descendant it did not reap.  Count those, give
 * them ~200 ms to finish, then kill the group and reap what remains.  Only
 * the program's group is waited for, never other children of the test.
 */
static int reap_leftovers(pid_t pgid)
{
    int left = 0;
    for (int tries = 0; tries < 20; tries++) {
        int st;
        pid_t p;
        while ((p = waitpid(-pgid, &st, WNOHANG)) > 0)
            left++;
        if (p < 0) /* ECHILD: nothing of that group is our child */
            return left;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Still running: that is a leftover too. */
    kill(-pgid, SIGKILL);
    int st;
    while (waitpid(-pgid, &st, 0) > 0)
        left++;
    return left;
}

run_result run_with(const run_opts *o)
{
    run_result r;
    memset(&r, 0, sizeof r);
    double timeout = o->timeout > 0 ? o->timeout : 20.0;
#ifdef __linux__
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
    int pin[2], pout[2], perr[2];
    cr_assert(pipe(pin) == 0 && pipe(pout) == 0 && pipe(perr) == 0,
              "harness: pipe: %s", strerror(errno));
    const char *path = bin_path(o->argv[0]);
    fflush(NULL);
    double t0 = now();
    pid_t pid = fork();
    cr_assert(pid >= 0, "harness: fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a timeout kills it and its children */
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        /* Close every pipe end the program must not inherit, or it would
         * never see EOF on its stdin. */
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        close(perr[0]);
        close(perr[1]);
        if (o->stdout_to) {
            int fd = open(o->stdout_to, O_WRONLY);
            if (fd < 0 || dup2(fd, 1) < 0) {
                fprintf(stderr, "harness: %s: %s\n", o->stdout_to,
                        strerror(errno));
                _exit(127);
            }
            close(fd);
        }
        if (o->stdout_closed)
            close(1);
        if (o->stdin_closed)
            close(0);
        for (const char *const *e = o->env; e && *e; e++) {
            char kv[4096];
            snprintf(kv, sizeof kv, "%s", *e);
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            } else {
                unsetenv(kv); /* "NAME" alone removes it */
            }
        }
        signal(SIGPIPE, SIG_DFL);
        execv(path, (char *const *)o->argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(
        pin[0]); /* parent keeps only: stdin write end, stdout/err read ends */
    close(pout[1]);
    close(perr[1]);
    const char *in = o->in ? o->in : "";
    size_t in_len = o->in ? (o->in_len ? o->in_len : strlen(o->in)) : 0;
    size_t in_off = 0;
    int infd = pin[1];
    if (in_len == 0) {
        close(infd);
        infd = -1;
    } else {
        fcntl(infd, F_SETFL, fcntl(infd, F_GETFL) | O_NONBLOCK);
    }
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    sbuf out = {0}, err = {0};
    bool out_open = true, err_open = true, signalled = false;
    double ready_at = o->signal_when || o->signal_at_workers > 0
                          ? -1
                          : t0; /* -1: no sign seen yet */
    while (out_open || err_open || infd >= 0) {
        double elapsed = now() - t0;
        if (elapsed > timeout) {
            kill(-pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        if (ready_at < 0 && o->signal_when &&
            (holds(&out, o->signal_when) || holds(&err, o->signal_when)))
            ready_at = now();
        if (ready_at < 0 && o->signal_at_workers > 0 &&
            count_workers(pid) >= o->signal_at_workers)
            ready_at = now();
        if ((o->signal_after_ms > 0 || o->signal_when ||
             o->signal_at_workers > 0) &&
            !signalled && ready_at >= 0 &&
            (now() - ready_at) * 1000 >= o->signal_after_ms) {
            pid_t target = o->signal_child ? first_child(pid) : pid;
            if (target > 0) { /* else: no child yet, try again next round */
                kill(target, o->signal);
                signalled = true;
            }
            r.signalled = true;
        }
        struct pollfd fds[3];
        int n = 0;
        if (out_open)
            fds[n++] = (struct pollfd){.fd = pout[0], .events = POLLIN};
        if (err_open)
            fds[n++] = (struct pollfd){.fd = perr[0], .events = POLLIN};
        if (infd >= 0)
            fds[n++] = (struct pollfd){.fd = infd, .events = POLLOUT};
        int rc = poll(fds, (nfds_t)n, 10);
        if (rc < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n && rc > 0; i++) {
            if (!fds[i].revents)
                continue;
            if (fds[i].fd == pout[0])
                sb_read(&out, pout[0], &out_open);
            else if (fds[i].fd == perr[0])
                sb_read(&err, perr[0], &err_open);
            else {
                ssize_t w = write(infd, in + in_off, in_len - in_off);
                if (w > 0)
                    in_off += (size_t)w;
                if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
                    in_off == in_len) {
                    close(infd);
                    infd = -1;
                }
            }
        }
        /* The program may exit while a grandchild keeps the pipes open:
         * stop reading once it is gone and the pipes are quiet. */
        if (!out_open && !err_open)
            break;
    }
    if (infd >= 0)
        close(infd);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, r.timed_out ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (now() - t0 > timeout) {
            kill(-pid, SIGKILL);
            r.timed_out = true;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    r.seconds = now() - t0;
    close(pout[0]);
    close(perr[0]);
    signal(SIGPIPE, old_pipe);
    if (WIFEXITED(st)) {
        r.exit_code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        r.exit_code = -1;
        r.signal = WTERMSIG(st);
#ifdef WCOREDUMP
        r.core = WCOREDUMP(st);
#endif
    }
    r.leftover = reap_leftovers(pid);
    r.out = out.buf ? out.buf : calloc(1, 1);
    r.out_len = out.len;
    r.out[r.out_len] = '\0';
    r.err = err.buf ? err.buf : calloc(1, 1);
    r.err_len = err.len;
    r.err[r.err_len] = '\0';
    return r;
}

void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *t = NULL;
    size_t n = strlen(base && *base ? base : "/tmp") + 32;
    t = malloc(n);
    cr_assert(t);
    snprintf(t, n, "%s/kit-test.XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(t), "mkdtemp: %s", strerror(errno));
    return t;
}

void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *sub = path_join(path, e->d_name);
            rm_rf(sub);
            free(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "fopen %s: %s", path, strerror(errno));
    cr_assert(len == 0 || fwrite(data, 1, len, f) == len, "write %s", path);
    cr_assert(fclose(f) == 0, "close %s", path);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sbuf b = {0};
    size_t n;
    do {
        if (b.cap - b.len < 65536) {
            b.cap = b.cap * 2 + 65536;
            b.buf = realloc(b.buf, b.cap + 1);
            cr_assert(b.buf);
        }
        n = fread(b.buf + b.len, 1, b.cap - b.len, f);
        b.len += n;
    } while (n > 0);
    fclose(f);
    b.buf[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.buf;
}

bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

size_t count_substr(const char *h, const char *n)
{
    size_t c = 0, nl = strlen(n);
    if (nl == 0)
        return 0;
    for (const char *p = strstr(h, n); p; p = strstr(p + nl, n))
        c++;
    return c;
}

void assert_usage_error(const run_result *r, const char *mention)
{
    cr_assert(!r->timed_out, "the program hung on bad usage");
    cr_assert_eq(r->exit_code, 2,
                 "bad usage must exit 2, got %d (signal %d); stderr: %s",
                 r->exit_code, r->signal, r->err);
    cr_assert_eq(r->out_len, 0,
                 "bad usage must print nothing on stdout, got: %s", r->out);
    cr_assert(r->err_len > 0, "bad usage must explain itself on stderr");
    cr_assert_eq(count_substr(r->err, "\n"), 1,
                 "the usage error must be one line, got: %s", r->err);
    if (mention)
        cr_assert(strstr(r->err, mention),
                  "stderr should mention '%s', got: %s", mention, r->err);
}

bool tool_on_path(const char *command)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/bin:/bin";
    char dir[4096];
    for (const char *p = path;; p++) {
        size_t n = strcspn(p, ":");
        if (n == 0)
            snprintf(dir, sizeof dir, ".");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)n, p);
        char *full = path_join(dir, command);
        bool ok = access(full, X_OK) == 0;
        free(full);
        if (ok)
            return true;
        p += n;
        if (!*p)
            return false;
    }
}

void skip_because(const char *reason)
{
    /* One short line, appended whole (O_APPEND): workers run in parallel. */
    const char *log = getenv("KIT_SKIP_LOG");
    if (log && *log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            char line[600];
            int n = snprintf(line, sizeof line, "%s\n", reason);
            if (n > 0 && write(fd, line, (size_t)n) < 0)
                cr_log_warn("cannot append to %s", log);
            close(fd);
        }
    }
    cr_skip_test("%s", reason);
}

void skip_without_tool(const char *command, const char *package,
                       const char *needed_for)
{
    if (tool_on_path(command))
        return;
    char reason[512];
    snprintf(reason, sizeof reason,
             "%s needs %s, which is not installed: sudo apt-get install -y %s",
             needed_for, command, package);
    skip_because(reason);
}
