/*
 * test_cleanup.c - interrupted mid-run, every multi-process program leaves
 * nothing behind.
 *
 * Each program in the table is started with arguments that keep it busy for
 * several seconds, then sent SIGINT (or SIGTERM) once it has started a
 * worker (a child process or a thread: its readiness sign, never a guessed
 * delay).  It must
 *   - end promptly (the harness would kill it after the timeout: a failure),
 *     by the signal or with an exit status that says so, never a crash;
 *   - leave no process behind (r.leftover: the harness is a subreaper);
 *   - leave no file or directory in its TMPDIR: each run gets a fresh
 *     private TMPDIR that must be empty afterwards;
 *   - leave no POSIX shared memory or message queue (/dev/shm, /dev/mqueue).
 *
 * /dev/shm and /dev/mqueue are shared with every other test running in
 * parallel, so we only look at entries that are new since the start of the
 * run AND whose name contains the program's PID (the kit tags IPC names
 * with it) or the program's name; such an entry must be gone within 2 s of
 * the run (another test's live object would vanish when its run ends; a
 * leaked one stays).  The PID is learnt by starting the program through
 * `sh -c 'echo $$ >&2; exec prog ...'`: exec keeps the PID.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIG_INPUT "@BIG@" /* replaced by a generated multi-megabyte text */

typedef struct {
    const char *prog;
    const char *args[12]; /* after the program's name, NULL-terminated */
    /* Not yet on proc.h's cleanup (so SIGHUP/SIGQUIT rows are skipped for
     * it, with a warning): who adopts it.  NULL: covered. */
    const char *hup_quit_pending;
} cleanup_row;

/* clang-format off */
static const cleanup_row programs[] = {
    {"fork",      {"zombie", "--seconds", "30", NULL}, NULL},
    {"parallel",  {"--backend", "processes", "-j", "2", "--tasks", "100000", NULL}, NULL},
    {"mpqueue",   {"-p", "2", "-c", "2", "-n", "10000000", NULL}, NULL},
    {"mpqueue",   {"--transport", "mq", "-p", "2", "-c", "2", "-n", "10000000", NULL}, NULL},
    {"shm",       {"--processes", "2", "-n", "100000000", NULL}, NULL},
    {"wordcount", {"--workers", "processes", "-j", "2", "--block-size", "64K", BIG_INPUT, NULL}, NULL},
    /* many small blocks x many reducers: the cleanup removes what exists
     * (kit_remove_dir), not every name mr-<m>-<r> that might (issue 15) */
    {"wordcount", {"--workers", "processes", "-j", "2", "-r", "64", "--block-size", "16K", BIG_INPUT, NULL}, NULL},
    {"invindex",  {"--workers", "processes", "-j", "2", "--block-size", "64K", BIG_INPUT, NULL}, NULL},
    /* threads only, no child and no temp file: the default action of any
     * stop signal leaves nothing behind (--serve sigwaits for all four) */
    {"server",    {"--clients", "8", "--requests", "10000", NULL}, NULL},
};
/* clang-format on */
#define NPROGRAMS (sizeof programs / sizeof programs[0])

TestSuite(rel_cleanup, .timeout = 240);

/* ---- directory snapshots ---------------------------------------------- */

typedef struct {
    char **names;
    size_t n;
} listing;

static listing list_dir(const char *dir)
{
    listing l = {0};
    DIR *d = opendir(dir);
    if (!d)
        return l; /* no /dev/mqueue mounted: nothing to compare */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char **grown = realloc(l.names, (l.n + 1) * sizeof *grown);
        cr_assert(grown, "out of memory");
        l.names = grown;
        l.names[l.n] = strdup(e->d_name);
        cr_assert(l.names[l.n], "out of memory");
        l.n++;
    }
    closedir(d);
    return l;
}

static bool listed(const listing *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return true;
    return false;
}

static void free_listing(listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    *l = (listing){0};
}

/* Does name contain pid as a whole number (not inside a longer one)? */
static bool has_pid(const char *name, const char *pid)
{
    size_t n = strlen(pid);
    if (n == 0)
        return false;
    for (const char *p = strstr(name, pid); p; p = strstr(p + 1, pid)) {
        bool left = p == name || p[-1] < '0' || p[-1] > '9';
        bool right = p[n] < '0' || p[n] > '9';
        if (left && right)
            return true;
    }
    return false;
}

/* New entries of dir (vs before) that belong to this run; waits up to 2 s
 * for them to vanish; returns what is left, as text ("" if clean). */
static char *ipc_leftovers(const char *dir, const listing *before,
                           const char *prog, const char *pid)
{
    static char left[1024];
    for (int tries = 0; tries <= 20; tries++) {
        left[0] = '\0';
        listing now = list_dir(dir);
        for (size_t i = 0; i < now.n; i++) {
            const char *nm = now.names[i];
            if (listed(before, nm))
                continue;
            if (has_pid(nm, pid) || strstr(nm, prog)) {
                size_t u = strlen(left);
                snprintf(left + u, sizeof left - u, " %s/%s", dir, nm);
            }
        }
        free_listing(&now);
        if (left[0] == '\0')
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return left;
}

/* A text big enough to keep wordcount busy for seconds: 40 MB of lines of
 * words from a 50,000-word vocabulary. */
static char *make_big_input(const char *dir)
{
    char *path = path_join(dir, "big.txt");
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot create %s", path);
    unsigned x = 12345;
    for (long bytes = 0; bytes < 40L * 1024 * 1024;) {
        x = x * 1103515245u + 12345u;
        int w = fprintf(f, "w%u%c", (x >> 8) % 50000, (x & 15) ? ' ' : '\n');
        cr_assert(w > 0);
        bytes += w;
    }
    cr_assert(fclose(f) == 0);
    return path;
}

/* ---- the check ---------------------------------------------------------- */

static void interrupt_and_check(const cleanup_row *p, int sig, const char *big)
{
    const char *signame = sig == SIGINT    ? "SIGINT"
                          : sig == SIGTERM ? "SIGTERM"
                          : sig == SIGHUP  ? "SIGHUP"
                                           : "SIGQUIT";
    if ((sig == SIGHUP || sig == SIGQUIT) && p->hup_quit_pending) {
        fprintf(stderr, "warning: %s: %s row skipped until %s\n", p->prog,
                signame, p->hup_quit_pending);
        return;
    }
    char prog_path[4096];
    snprintf(prog_path, sizeof prog_path, "%s", bin_path(p->prog));
    if (access(prog_path, X_OK) != 0) {
        cr_expect_fail("program %s not built (%s)", p->prog, prog_path);
        return;
    }
    /* sh -c 'echo $$ >&2; exec "$0" "$@"' prog args... */
    const char *argv[20];
    int n = 0;
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = "echo $$ >&2; exec \"$0\" \"$@\"";
    argv[n++] = prog_path;
    char cmd[512];
    int used = snprintf(cmd, sizeof cmd, "%s", p->prog);
    for (int i = 0; p->args[i]; i++) {
        argv[n++] = strcmp(p->args[i], BIG_INPUT) == 0 ? big : p->args[i];
        if (used > 0 && (size_t)used < sizeof cmd)
            used += snprintf(cmd + used, sizeof cmd - (size_t)used, " %s",
                             argv[n - 1]);
    }
    argv[n] = NULL;

    char *tmp = make_tmpdir();
    char envtmp[4200];
    snprintf(envtmp, sizeof envtmp, "TMPDIR=%s", tmp);
    const char *env[] = {envtmp, NULL};
    listing shm0 = list_dir("/dev/shm"), mq0 = list_dir("/dev/mqueue");

    run_result r = run_with(&(run_opts){.argv = argv,
                                        .env = env,
                                        .timeout = 30,
                                        .signal_at_workers = 1,
                                        .signal = sig});

    char pid[32] = "";
    sscanf(r.err, "%31[0-9]", pid);
    const char *err = strchr(r.err, '\n') ? strchr(r.err, '\n') + 1 : r.err;

    if (r.timed_out) {
        cr_expect_fail("%s: %s did not stop it: killed after %.0f s", cmd,
                       signame, r.seconds);
    } else if (!r.signalled) {
        cr_expect_fail("%s: finished (exit %d) before the %s was sent: the "
                       "test needs a longer run; stderr: %s",
                       cmd, r.exit_code, signame, err);
    } else {
        bool by_signal = r.signal == sig || r.exit_code == 128 + sig;
        bool graceful = r.signal == 0 && (r.exit_code == 0 || r.exit_code == 1);
        cr_expect(
            by_signal || graceful,
            "%s: after %s it must stop by the signal (or exit %d, or "
            "0/1 after a clean stop), got exit %d signal %d%s; stderr: %s",
            cmd, signame, 128 + sig, r.exit_code, r.signal,
            r.core ? " (core dumped)" : "", err);
    }
    /* A sanitizer report is a failure of its own; it also explains a
     * leftover: the sanitizer starts llvm-symbolizer to print the report,
     * and that child outlives a program that then dies of the signal. */
    const char *san = strstr(err, "Sanitizer:");
    if (!san)
        san = strstr(err, "runtime error:");
    cr_expect(san == NULL, "%s: a sanitizer report after %s: %.600s", cmd,
              signame, san ? san : "");
    cr_expect_eq(r.leftover, 0, "%s: %d process(es) left behind after %s%s",
                 cmd, r.leftover, signame,
                 san ? " (llvm-symbolizer, started for the sanitizer "
                       "report, counts too)"
                     : "");

    listing t = list_dir(tmp);
    char names[512] = "";
    for (size_t i = 0; i < t.n; i++) {
        size_t u = strlen(names);
        snprintf(names + u, sizeof names - u, " %s", t.names[i]);
    }
    cr_expect_eq(t.n, 0, "%s: left %zu file(s) in its TMPDIR after %s:%s", cmd,
                 t.n, signame, names);
    free_listing(&t);

    char *shm_left = ipc_leftovers("/dev/shm", &shm0, p->prog, pid);
    cr_expect(shm_left[0] == '\0', "%s: shared memory left after %s:%s", cmd,
              signame, shm_left);
    char *mq_left = ipc_leftovers("/dev/mqueue", &mq0, p->prog, pid);
    cr_expect(mq_left[0] == '\0', "%s: message queue left after %s:%s", cmd,
              signame, mq_left);

    free_listing(&shm0);
    free_listing(&mq0);
    run_free(&r);
    rm_rf(tmp);
    free(tmp);
}

static void each_program(int sig)
{
    char *data = make_tmpdir(); /* the input lives apart from its TMPDIR */
    char *big = make_big_input(data);
    for (size_t i = 0; i < NPROGRAMS; i++)
        interrupt_and_check(&programs[i], sig, big);
    free(big);
    rm_rf(data);
    free(data);
}

Test(rel_cleanup, sigint_mid_run_leaves_no_process_file_or_ipc_object)
{
    each_program(SIGINT);
}

Test(rel_cleanup, sigterm_mid_run_leaves_no_process_file_or_ipc_object)
{
    each_program(SIGTERM);
}

/* A closed terminal (SIGHUP) and Ctrl-\ (SIGQUIT) are stop signals too. */
Test(rel_cleanup, sighup_mid_run_leaves_no_process_file_or_ipc_object)
{
    each_program(SIGHUP);
}

Test(rel_cleanup, sigquit_mid_run_leaves_no_process_file_or_ipc_object)
{
    each_program(SIGQUIT);
}
