/*
 * test_common.c - the shared helpers on their own: number and size parsing
 * (the one place every program's options go through), the JSON writer, the
 * process plumbing of proc.h and the test harness itself.
 */
#include "harness.h"
#include "tjson.h"

#include "cli.h"
#include "err.h"
#include "files.h"
#include "json.h"
#include "proc.h"
#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(common_parse, .timeout = 10);

Test(common_parse, accepts_integers_inside_the_range)
{
    long long v = 0;
    cr_assert_eq(kit_parse_ll("1", 1, 1024, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1);
    cr_assert_eq(kit_parse_ll("1024", 1, 1024, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1024);
    cr_assert_eq(kit_parse_ll("-1", -1, 64, &v), KIT_PARSE_OK);
    cr_assert_eq(v, -1);
}

Test(common_parse, rejects_what_atoi_would_quietly_accept)
{
    long long v = 7;
    cr_assert_eq(kit_parse_ll("", 1, 10, &v), KIT_PARSE_EMPTY);
    cr_assert_eq(kit_parse_ll("abc", 1, 10, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("12x", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("1e3", 1, 10000, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll(" 5", 1, 10, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("0x10", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("0", 1, 10, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_ll("-3", 1, 10, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_ll("99999999999999999999", 1, 10, &v),
                 KIT_PARSE_RANGE);
    cr_assert_eq(v, 7, "a rejected value must not be stored");
}

Test(common_parse, reads_sizes_with_binary_suffixes)
{
    unsigned long long v = 0;
    cr_assert_eq(kit_parse_size("4K", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 4096);
    cr_assert_eq(kit_parse_size("64KiB", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 65536);
    cr_assert_eq(kit_parse_size("2m", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 2u << 20);
    cr_assert_eq(kit_parse_size("1G", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1u << 30);
    cr_assert_eq(kit_parse_size("123", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 123);
}

Test(common_parse, rejects_bad_sizes_and_overflow)
{
    unsigned long long v = 9;
    cr_assert_eq(kit_parse_size("", 1, 100, &v), KIT_PARSE_EMPTY);
    cr_assert_eq(kit_parse_size("K", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("-4K", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("4T", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("4KK", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("1.5M", 1, 1 << 30, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("99999999999999999999", 1, 100, &v),
                 KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_size("17179869184G", 1, ~0ULL, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_size("0", 1, 100, &v), KIT_PARSE_RANGE);
    cr_assert_eq(v, 9);
}

Test(common_parse, reads_fractions_but_not_exponents_or_infinity)
{
    double d = -1;
    cr_assert_eq(kit_parse_double("0.3", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_float_eq(d, 0.3, 1e-12);
    cr_assert_eq(kit_parse_double("1", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_eq(kit_parse_double(".5", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_eq(kit_parse_double("1e-1", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("inf", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("nan", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double(".", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("1.5", 0, 1, &d), KIT_PARSE_RANGE);
}

/* The range is inclusive at both ends, for every parser: one step past
 * either end is KIT_PARSE_RANGE (an off-by-one in a comparison shows here,
 * not only in the slow bad-argument table). */
Test(common_parse, every_range_is_inclusive_at_min_and_max_and_no_further)
{
    long long v = 0;
    cr_assert_eq(kit_parse_ll("5", 5, 9, &v), KIT_PARSE_OK, "min");
    cr_assert_eq(kit_parse_ll("9", 5, 9, &v), KIT_PARSE_OK, "max");
    cr_assert_eq(v, 9);
    cr_assert_eq(kit_parse_ll("4", 5, 9, &v), KIT_PARSE_RANGE, "min - 1");
    cr_assert_eq(kit_parse_ll("10", 5, 9, &v), KIT_PARSE_RANGE, "max + 1");
    cr_assert_eq(kit_parse_ll("9223372036854775807", 0, LLONG_MAX, &v),
                 KIT_PARSE_OK);
    cr_assert_eq(kit_parse_ll("9223372036854775808", 0, LLONG_MAX, &v),
                 KIT_PARSE_RANGE);

    unsigned long long u = 0;
    cr_assert_eq(kit_parse_size("1K", 1024, 4096, &u), KIT_PARSE_OK, "min");
    cr_assert_eq(kit_parse_size("4K", 1024, 4096, &u), KIT_PARSE_OK, "max");
    cr_assert_eq(u, 4096);
    cr_assert_eq(kit_parse_size("1023", 1024, 4096, &u), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_size("4097", 1024, 4096, &u), KIT_PARSE_RANGE);

    double d = 0;
    cr_assert_eq(kit_parse_double("0.5", 0.5, 2, &d), KIT_PARSE_OK, "min");
    cr_assert_eq(kit_parse_double("2", 0.5, 2, &d), KIT_PARSE_OK, "max");
    cr_assert_eq(kit_parse_double("0.49", 0.5, 2, &d), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_double("2.01", 0.5, 2, &d), KIT_PARSE_RANGE);
}

TestSuite(common_json, .timeout = 10);

/* Every character JSON must escape, written and read back unchanged: a
 * writer that drops one escape (the backslash, say) fails here. */
Test(common_json, every_escaped_character_reads_back_unchanged)
{
    static const char tricky[] = "back\\slash \"quote\" tab\t nl\n cr\r "
                                 "bell\a \\\\server\\share \\n";
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    json_w j;
    json_start(&j, f);
    json_obj(&j, NULL);
    json_str(&j, "s", tricky);
    json_str(&j, tricky, "key");
    json_end(&j);
    json_finish(&j);
    fclose(f);
    cr_assert(tj_valid(buf), "not valid JSON: %s", buf);
    char got[128];
    cr_assert(tj_str(buf, "s", got, sizeof got), "no string 's' in %s", buf);
    cr_assert_str_eq(got, tricky, "written as %s", buf);
    free(buf);
}

Test(common_json, writer_output_parses_and_reads_back)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    json_w j;
    json_start(&j, f);
    json_obj(&j, NULL);
    json_int(&j, "threads", 2);
    json_str(&j, "name", "a \"quoted\"\ttab");
    json_arr(&j, "results");
    json_obj(&j, NULL);
    json_double(&j, "seconds", 0.25);
    json_bool(&j, "ok", true);
    json_end(&j);
    json_obj(&j, NULL);
    json_uint(&j, "got", 18446744073709551615ULL);
    json_end(&j);
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    fclose(f);
    cr_assert(tj_valid(buf), "not valid JSON: %s", buf);
    double d;
    cr_assert(tj_num(buf, "threads", &d));
    cr_assert_eq(d, 2);
    cr_assert(tj_num(buf, "results.0.seconds", &d));
    cr_assert_float_eq(d, 0.25, 1e-12);
    bool ok = false;
    cr_assert(tj_bool(buf, "results.0.ok", &ok));
    cr_assert(ok);
    cr_assert_eq(tj_len(buf, "results"), 2);
    cr_assert(!tj_has(buf, "results.2"));
    free(buf);
}

Test(common_json, test_reader_rejects_malformed_documents)
{
    cr_assert(!tj_valid("{"));
    cr_assert(!tj_valid("{\"a\":1,}"));
    cr_assert(!tj_valid("{\"a\":01}"));
    cr_assert(!tj_valid("{\"a\":1} x"));
    cr_assert(!tj_valid(""));
    cr_assert(tj_valid(" [1, -2.5e3, \"x\", null, true, {}] \n"));
}

TestSuite(common_proc, .timeout = 30);

struct transfer {
    int fd;
    unsigned char *buf;
    size_t n;
    pthread_t peer; /* the thread to interrupt while it blocks */
    ssize_t got;    /* reader: what kit_read_all returned */
    bool ok;        /* writer: what kit_write_all returned */
};

static volatile sig_atomic_t alarms;
static void count_alarm(int sig)
{
    (void)sig;
    alarms = alarms + 1;
}

/* Send SIGALRM to a thread that should be blocked in read() or write() by
 * now (20 ms after it started: no timing is asserted; a signal that comes
 * early only makes the test weaker).  Without SA_RESTART the blocked call
 * returns EINTR, or a short count if some bytes had moved: both must simply
 * be resumed. */
static void pester(pthread_t t)
{
    for (int i = 0; i < 3; i++) {
        kit_sleep_ms(i == 0 ? 20 : 5);
        cr_assert_eq(pthread_kill(t, SIGALRM), 0);
    }
}

static void *write_then_close(void *p)
{
    struct transfer *w = p;
    w->ok = kit_write_all(w->fd, w->buf, w->n);
    close(w->fd); /* EOF for the reader */
    return NULL;
}

static void *pester_then_write(void *p)
{
    struct transfer *w = p;
    pester(w->peer); /* the main thread, blocked in kit_read_all */
    return write_then_close(w);
}

Test(common_proc,
     write_all_and_read_all_move_a_large_buffer_whole_despite_signals)
{
    /* 8 MiB through a 64 KiB pipe: hundreds of short reads and writes. */
    const size_t n = 8u << 20;
    unsigned char *sent = malloc(n), *got = malloc(n);
    cr_assert(sent && got);
    for (size_t i = 0; i < n; i++)
        sent[i] = (unsigned char)(i * 131 + (i >> 16));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    alarms = 0;
    /* If reading fails, we close the read end to free the writer: it must
     * then get EPIPE, not die of SIGPIPE. */
    struct sigaction ign, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    cr_assert_eq(sigaction(SIGPIPE, &ign, &old_pipe), 0);

    /* 1. The writer is interrupted: it blocks on the full pipe while we
     *    wait, then we read everything. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct transfer w = {.fd = p[1], .buf = sent, .n = n};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, write_then_close, &w), 0);
    pester(t);
    ssize_t r1 = kit_read_all(p[0], got, n);
    bool same1 = r1 == (ssize_t)n && memcmp(sent, got, n) == 0;
    unsigned char extra;
    ssize_t at_eof = kit_read_all(p[0], &extra, 1);
    close(p[0]);
    cr_assert_eq(pthread_join(t, NULL), 0);
    bool ok1 = w.ok;

    /* 2. The reader (this thread) is interrupted: it blocks on the empty
     *    pipe while the writer first sends it signals, then the data. */
    memset(got, 0, n);
    cr_assert_eq(pipe(p), 0);
    w = (struct transfer){
        .fd = p[1], .buf = sent, .n = n, .peer = pthread_self()};
    cr_assert_eq(pthread_create(&t, NULL, pester_then_write, &w), 0);
    ssize_t r2 = kit_read_all(p[0], got, n);
    bool same2 = r2 == (ssize_t)n && memcmp(sent, got, n) == 0;
    close(p[0]);
    cr_assert_eq(pthread_join(t, NULL), 0);
    sa.sa_handler = SIG_DFL;
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    cr_assert_eq(sigaction(SIGPIPE, &old_pipe, NULL), 0);
    free(sent);
    free(got);

    cr_assert_eq(alarms, 6, "the six SIGALRMs were not all handled");
    cr_assert(ok1, "kit_write_all gave up when a signal interrupted it");
    cr_assert(same1, "writer interrupted: read %zd of %zu bytes, or changed",
              r1, n);
    cr_assert_eq(at_eof, 0,
                 "after the last byte, kit_read_all must say EOF (0)");
    cr_assert(same2,
              "reader interrupted: kit_read_all returned %zd of %zu bytes "
              "(-1: it gave up on EINTR), or the bytes changed",
              r2, n);
    cr_assert(w.ok);
}

Test(common_proc, read_all_reports_a_cut_message_and_write_all_an_absent_reader)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert(kit_write_all(p[1], "0123456789", 10));
    close(p[1]);
    char buf[20];
    cr_assert_eq(kit_read_all(p[0], buf, sizeof buf), 10,
                 "EOF after 10 bytes: kit_read_all returns the 10");
    cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
    cr_assert_eq(kit_read_all(p[0], buf, sizeof buf), 0);
    close(p[0]);

    cr_assert_eq(pipe(p), 0);
    close(p[0]);
    struct sigaction old;
    cr_assert_eq(sigaction(SIGPIPE, NULL, &old), 0);
    kit_ignore_sigpipe(); /* or the write below would kill the test */
    bool ok = kit_write_all(p[1], "x", 1);
    int e = errno;
    cr_assert_eq(sigaction(SIGPIPE, &old, NULL), 0);
    close(p[1]);
    cr_assert(!ok, "a write with no reader must fail");
    cr_assert_eq(e, EPIPE, "errno %d (%s), expected EPIPE", e, strerror(e));
}

/* What a test child reports through a pipe: its own child and its temp file. */
struct proc_report {
    pid_t kid;
    char path[256];
};

/* The child side of the cleanup tests: catch SIGINT/SIGTERM, make a temp file
 * and a child that sleeps, report both, then sleep until a signal ends us.
 * With `reap`, also run a second child that exit()s, and once the first has
 * been killed from outside, reap it and report its status. */
static _Noreturn void cleanup_child(const char *tmpl, int out, bool reap)
{
    static const int stops[] = {SIGINT, SIGTERM};
    kit_cleanup_on(stops, 2);
    struct proc_report rep;
    memset(&rep, 0, sizeof rep);
    if (strlen(tmpl) >= sizeof rep.path)
        _exit(1);
    strcpy(rep.path, tmpl);
    int fd = kit_mkstemp(rep.path);
    kit_child_close(fd);
    rep.kid = kit_fork();
    if (rep.kid == 0)
        for (;;)
            pause();
    if (reap) {
        /* A child that ends with exit(), against the rules: with the empty
         * record kit_fork gives it, its atexit cleanup touches nothing. */
        pid_t quitter = kit_fork();
        if (quitter == 0)
            exit(0);
        int qst = kit_wait_child(quitter);
        if (!WIFEXITED(qst) || WEXITSTATUS(qst) != 0)
            _exit(1);
    }
    if (!kit_write_all(out, &rep, sizeof rep))
        _exit(1);
    if (reap) {
        int st = kit_wait_child(rep.kid);
        if (!kit_write_all(out, &st, sizeof st))
            _exit(1);
    }
    for (;;)
        pause();
}

static pid_t start_cleanup_child(const char *tmpl, bool reap, int *from)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        cleanup_child(tmpl, p[1], reap);
    }
    close(p[1]);
    *from = p[0];
    return pid;
}

/* True if pid is gone altogether: not running, and not a zombie either. */
static bool gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

/* Every assertion comes after the test child is dead: a failed one must not
 * leave it (or its child) behind. */
Test(common_proc,
     sigterm_kills_and_reaps_the_recorded_child_and_removes_the_temp_file)
{
    char *dir = make_tmpdir();
    char *tmpl = path_join(dir, "proc.XXXXXX");
    int from;
    pid_t pid = start_cleanup_child(tmpl, false, &from);
    struct proc_report rep;
    bool reported = kit_read_all(from, &rep, sizeof rep) == (ssize_t)sizeof rep;
    close(from);
    bool had_file = reported && file_exists(rep.path);
    bool kid_was_alive = reported && kill(rep.kid, 0) == 0;

    int killed = kill(pid, SIGTERM), st = 0;
    pid_t waited = waitpid(pid, &st, 0);
    bool kid_gone = reported && gone(rep.kid);
    if (reported &&
        !kid_gone) /* do not leave it behind, whatever the verdict */
        kill(rep.kid, SIGKILL);
    bool file_left = reported && file_exists(rep.path);
    rm_rf(dir);
    free(tmpl);
    free(dir);

    cr_assert(reported, "the test child did not report");
    cr_assert(had_file, "kit_mkstemp made no file");
    cr_assert(kid_was_alive, "the grandchild should have been alive");
    cr_assert(killed == 0 && waited == pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
              "the process must die of the SIGTERM it got (status 0x%x)",
              (unsigned)st);
    cr_assert(kid_gone, "its child %ld was not killed and reaped",
              (long)rep.kid);
    cr_assert(!file_left, "its temp file %s was not removed", rep.path);
}

/* kit_poll_child until done(), at most ~5 s: waiting for a sign, never
 * asserting a time. */
static bool poll_until(pid_t pid, double *since, int *status, int want)
{
    for (int i = 0; i < 5000; i++) {
        bool ended = kit_poll_child(pid, since, status);
        if ((want == 'S' && *since > 0) || (want == 'C' && *since == 0) ||
            (want == 'E' && ended))
            return true;
        cr_assert(!ended || want == 'E', "the child ended too soon");
        kit_sleep_ms(1);
    }
    return false;
}

/* The liveness rule's eyes (pool.c, mr_procs.c): a worker seen stopped,
 * then continued, then dead and reaped. */
Test(common_proc, poll_child_sees_a_stop_a_continue_and_the_end)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    double since = 0;
    int status = 0;
    cr_assert_eq(kill(pid, SIGSTOP), 0);
    cr_assert(poll_until(pid, &since, &status, 'S'), "the stop was never seen");
    cr_assert(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    cr_assert_eq(kill(pid, SIGCONT), 0);
    cr_assert(poll_until(pid, &since, &status, 'C'),
              "the continue was never seen");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert(poll_until(pid, &since, &status, 'E'), "the end was never seen");
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    errno = 0;
    cr_assert_eq(waitpid(pid, NULL, WNOHANG), -1, "it must be reaped already");
    cr_assert_eq(errno, ECHILD);
}

Test(common_proc, a_kit_fork_child_has_default_actions_and_an_empty_record)
{
    char *dir = make_tmpdir();
    char *tmpl = path_join(dir, "proc.XXXXXX");
    int from;
    pid_t pid = start_cleanup_child(tmpl, true, &from);
    struct proc_report rep;
    bool reported = kit_read_all(from, &rep, sizeof rep) == (ssize_t)sizeof rep;
    /* The grandchild must just die of SIGTERM.  Had it (or its exit()ing
     * sibling) run the parent's cleanup on a copy of the parent's record, it
     * would have been killed with SIGKILL and the parent's file removed. */
    int kid_st = 0;
    bool kid_reported =
        reported && kill(rep.kid, SIGTERM) == 0 &&
        kit_read_all(from, &kid_st, sizeof kid_st) == (ssize_t)sizeof kid_st;
    close(from);
    bool file_kept = reported && file_exists(rep.path);

    int killed = kill(pid, SIGTERM), st = 0; /* now the parent's own cleanup */
    pid_t waited = waitpid(pid, &st, 0);
    if (reported && !gone(rep.kid))
        kill(rep.kid, SIGKILL);
    bool file_left = reported && file_exists(rep.path);
    rm_rf(dir);
    free(tmpl);
    free(dir);

    cr_assert(reported && kid_reported, "the test child did not report");
    cr_assert(WIFSIGNALED(kid_st) && WTERMSIG(kid_st) == SIGTERM,
              "the grandchild should die of SIGTERM (status 0x%x)",
              (unsigned)kid_st);
    cr_assert(file_kept, "a child removed its parent's temp file");
    cr_assert(killed == 0 && waited == pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    cr_assert(!file_left, "the parent's cleanup did not remove %s", rep.path);
}

Test(common_proc, kill_children_kills_and_reaps_every_recorded_child)
{
    pid_t kids[3];
    fflush(NULL);
    for (int i = 0; i < 3; i++) {
        kids[i] = kit_fork();
        if (kids[i] == 0)
            for (;;)
                pause();
    }
    kit_kill_children();
    for (int i = 0; i < 3; i++) {
        errno = 0;
        cr_assert_eq(waitpid(kids[i], NULL, WNOHANG), -1,
                     "child %ld was left for someone else to reap",
                     (long)kids[i]);
        cr_assert_eq(errno, ECHILD);
    }
}

Test(common_proc, wait_child_forgets_so_the_record_never_fills_up)
{
    /* More children than the record holds, one at a time: each must be
     * forgotten once reaped, or kit_fork dies of a full record. */
    fflush(NULL);
    for (int i = 0; i < KIT_MAX_CHILDREN + 8; i++) {
        pid_t pid = kit_fork();
        if (pid == 0)
            _exit(7);
        int st = kit_wait_child(pid);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7,
                  "child %d: status 0x%x, expected exit code 7", i,
                  (unsigned)st);
    }
}

Test(common_proc, ipc_names_are_fresh_and_well_formed)
{
    char a[64], b[64];
    kit_ipc_name(a, sizeof a, "test", 0);
    kit_ipc_name(b, sizeof b, "test", 1);
    char want[32];
    snprintf(want, sizeof want, "/kit-test-%ld-", (long)getpid());
    cr_assert_eq(strncmp(a, want, strlen(want)), 0, "got '%s'", a);
    cr_assert_null(strchr(a + 1, '/'), "one leading slash only: '%s'", a);
    cr_assert_str_neq(a, b, "two attempts, two names");
}

Test(common_proc, ncpus_is_at_least_one_and_at_most_the_online_cpus)
{
    int n = kit_ncpus();
    cr_assert_geq(n, 1);
    long s = sysconf(_SC_NPROCESSORS_ONLN);
    if (s >= 1)
        cr_assert_leq(n, s);
}

/* Under `taskset -c 0` the process may use one CPU, whatever the machine
 * has: parallel -j -1 (joblib's n_jobs=-1) must then start one worker. */
Test(common_proc, ncpus_follows_the_affinity_mask_under_taskset)
{
    if (access("/usr/bin/taskset", X_OK) != 0)
        cr_skip_test("no /usr/bin/taskset");
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", bin_path("parallel"));
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/usr/bin/taskset", "-c", "0", prog, "-j",
                                      "-1", "--tasks", "2", "--size", "100",
                                      "--json", NULL}});
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    double jobs = 0;
    cr_assert(tj_num(r.out, "jobs", &jobs), "%s", r.out);
    cr_assert_eq(jobs, 1, "one CPU allowed, so -j -1 means 1 job: %s", r.out);
    run_free(&r);
}

Test(common_proc, describe_status_words_exits_and_signals_one_way)
{
    char buf[64];
    pid_t p = fork();
    cr_assert_geq(p, 0);
    if (p == 0)
        _exit(42);
    int st;
    cr_assert_eq(waitpid(p, &st, 0), p);
    cr_assert_str_eq(kit_describe_status(st, buf, sizeof buf),
                     "exited with code 42");
    p = fork();
    cr_assert_geq(p, 0);
    if (p == 0) {
        pause();
        _exit(0);
    }
    kill(p, SIGKILL);
    cr_assert_eq(waitpid(p, &st, 0), p);
    cr_assert_str_eq(kit_describe_status(st, buf, sizeof buf),
                     "killed by signal 9 (SIGKILL)");
    cr_assert_str_eq(kit_signal_name(SIGQUIT), "SIGQUIT");
}

/* In a child of the test: a scope with a recorded temp dir (two files in
 * it) and a recorded child; then `how`: 0 closes the scope, else raises
 * that signal.  Reports over `report`: the grandchild's pid and the dir. */
struct scope_report {
    pid_t grandchild;
    char dir[256];
};

static void scope_child(int how, int report, const char *base)
{
    struct scope_report rep = {0};
    snprintf(rep.dir, sizeof rep.dir, "%s/scope.XXXXXX", base);
    kit_cleanup_scope_open();
    kit_mkdtemp(rep.dir);
    for (int i = 0; i < 2; i++) {
        char f[300];
        snprintf(f, sizeof f, "%s/mr-%d", rep.dir, i);
        FILE *fp = fopen(f, "w");
        if (!fp || fclose(fp) != 0)
            _exit(10);
    }
    fflush(NULL);
    rep.grandchild = kit_fork();
    if (rep.grandchild == 0) {
        pause();
        _exit(0);
    }
    if (!kit_write_all(report, &rep, sizeof rep))
        _exit(11);
    if (how != 0)
        raise(how);
    kit_cleanup_scope_close();
    /* the handlers are the old ones again: SIGHUP ignored, as set below */
    raise(SIGHUP);
    _exit(0);
}

static void check_scope(int how)
{
    char *base = make_tmpdir();
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t p = fork();
    cr_assert_geq(p, 0);
    if (p == 0) {
        close(pfd[0]);
        signal(SIGHUP, SIG_IGN); /* what the scope must put back */
        scope_child(how, pfd[1], base);
    }
    close(pfd[1]);
    struct scope_report rep;
    cr_assert_eq(kit_read_all(pfd[0], &rep, sizeof rep), (ssize_t)sizeof rep);
    close(pfd[0]);
    int st;
    cr_assert_eq(waitpid(p, &st, 0), p);
    char buf[64];
    kit_describe_status(st, buf, sizeof buf);
    if (how == 0)
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "closing the scope must restore the old SIGHUP action "
                  "(ignored): the child %s",
                  buf);
    else
        cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == how,
                  "a stop signal inside a scope must kill with that signal: "
                  "the child %s",
                  buf);
    cr_expect(!file_exists(rep.dir), "%s and its files must be gone", rep.dir);
    cr_expect(kill(rep.grandchild, 0) != 0,
              "the scope's child %ld must be killed and reaped",
              (long)rep.grandchild);
    rm_rf(base);
    free(base);
}

Test(common_proc,
     closing_a_scope_kills_its_children_removes_its_dir_and_restores_handlers)
{
    check_scope(0);
}

Test(common_proc, sighup_and_sigquit_inside_a_scope_clean_up_like_sigint)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        check_scope(sigs[i]);
}

/* ---- -o PATH (files.h) --------------------------------------------------- */

TestSuite(common_files, .timeout = 30);

static void write_out(const char *path, const char *text)
{
    FILE *f = kit_out_open(path);
    cr_assert(f);
    cr_assert_geq(fputs(text, f), 0);
    kit_out_commit();
}

static char *slurp(const char *path) { return read_file(path, NULL); }

/* No temp file (.kit*) may be left beside the output. */
static void assert_no_temp(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        cr_expect(strncmp(e->d_name, ".kit", 4) != 0,
                  "temp file %s/%s left behind", dir, e->d_name);
    closedir(d);
}

Test(common_files, a_new_file_gets_0666_minus_the_umask)
{
    char *dir = make_tmpdir();
    char *out = path_join(dir, "out.txt");
    umask(077);
    write_out(out, "hello\n");
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600, "umask 077: got %o",
                 st.st_mode & 0777);
    unlink(out);
    umask(022);
    write_out(out, "hello\n");
    cr_assert_eq(stat(out, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0644, "umask 022: got %o",
                 st.st_mode & 0777);
    char *got = slurp(out);
    cr_expect_str_eq(got, "hello\n");
    assert_no_temp(dir);
    free(got);
    free(out);
    rm_rf(dir);
    free(dir);
}

Test(common_files, an_existing_file_keeps_its_mode_0600)
{
    char *dir = make_tmpdir();
    char *out = path_join(dir, "secret.txt");
    write_file(out, "old\n", 4);
    cr_assert_eq(chmod(out, 0600), 0);
    umask(022);
    write_out(out, "new\n");
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0600,
                 "a 0600 file must not become world-readable: %o",
                 st.st_mode & 07777);
    char *got = slurp(out);
    cr_expect_str_eq(got, "new\n");
    free(got);
    free(out);
    rm_rf(dir);
    free(dir);
}

Test(common_files, a_symlink_stays_and_the_file_it_names_is_replaced)
{
    char *dir = make_tmpdir();
    char *target = path_join(dir, "target.txt");
    char *link = path_join(dir, "link.txt");
    write_file(target, "old\n", 4);
    cr_assert_eq(symlink("target.txt", link), 0);
    write_out(link, "new\n");
    struct stat lst;
    cr_assert_eq(lstat(link, &lst), 0);
    cr_expect(S_ISLNK(lst.st_mode), "the symlink was replaced by a file");
    char *got = slurp(target);
    cr_expect_str_eq(got, "new\n", "the target must hold the output");
    assert_no_temp(dir);
    free(got);
    free(target);
    free(link);
    rm_rf(dir);
    free(dir);
}

Test(common_files, a_hard_linked_file_is_written_in_place_for_every_name)
{
    char *dir = make_tmpdir();
    char *a = path_join(dir, "a.txt");
    char *b = path_join(dir, "b.txt");
    write_file(a, "old\n", 4);
    cr_assert_eq(link(a, b), 0);
    struct stat before, after;
    cr_assert_eq(stat(a, &before), 0);
    write_out(a, "new\n");
    cr_assert_eq(stat(a, &after), 0);
    cr_expect_eq(before.st_ino, after.st_ino, "the link was cut");
    char *got = slurp(b);
    cr_expect_str_eq(got, "new\n", "the other name must see the output");
    free(got);
    free(a);
    free(b);
    rm_rf(dir);
    free(dir);
}

Test(common_files, a_device_is_written_through_never_replaced)
{
    write_out("/dev/null", "into the void\n");
    struct stat st;
    cr_assert_eq(stat("/dev/null", &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "/dev/null is no longer a device!");
}

Test(common_files, a_fifo_is_written_through_to_its_reader)
{
    char *dir = make_tmpdir();
    char *fifo = path_join(dir, "fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    fflush(NULL);
    pid_t p = fork();
    cr_assert_geq(p, 0);
    if (p == 0) { /* the reader: FIFO -> pipe */
        close(pfd[0]);
        int fd = open(fifo, O_RDONLY);
        char buf[64];
        ssize_t n = fd < 0 ? -1 : kit_read_all(fd, buf, sizeof buf);
        _exit(n > 0 && kit_write_all(pfd[1], buf, (size_t)n) ? 0 : 1);
    }
    close(pfd[1]);
    write_out(fifo, "through\n");
    char buf[64] = "";
    ssize_t n = kit_read_all(pfd[0], buf, sizeof buf - 1);
    close(pfd[0]);
    int st;
    cr_assert_eq(waitpid(p, &st, 0), p);
    cr_expect_eq(n, 8);
    cr_expect_str_eq(buf, "through\n");
    struct stat s;
    cr_assert_eq(lstat(fifo, &s), 0);
    cr_expect(S_ISFIFO(s.st_mode), "the FIFO was replaced by a file");
    free(fifo);
    rm_rf(dir);
    free(dir);
}

Test(common_files, a_250_character_name_works)
{
    char *dir = make_tmpdir();
    char name[251];
    memset(name, 'n', 250);
    name[250] = '\0';
    char *out = path_join(dir, name);
    write_out(out, "long\n");
    char *got = slurp(out);
    cr_expect_str_eq(got ? got : "(missing)", "long\n");
    assert_no_temp(dir);
    free(got);
    free(out);
    rm_rf(dir);
    free(dir);
}

/* A run that dies half-way (die() after writing, or a stop signal) leaves
 * the old file as it was and no temp file. */
Test(common_files, a_failure_before_commit_leaves_the_old_file_intact)
{
    static const int hows[] = {0, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof hows / sizeof hows[0]; i++) {
        char *dir = make_tmpdir();
        char *out = path_join(dir, "out.txt");
        write_file(out, "old\n", 4);
        fflush(NULL);
        pid_t p = fork();
        cr_assert_geq(p, 0);
        if (p == 0) {
            FILE *f = kit_out_open(out);
            fputs("half of the new", f);
            fflush(f);
            if (hows[i])
                raise(hows[i]);
            if (!freopen("/dev/null", "w", stderr))
                _exit(9);
            die("a late failure");
        }
        int st;
        cr_assert_eq(waitpid(p, &st, 0), p);
        cr_expect(hows[i] ? WIFSIGNALED(st) && WTERMSIG(st) == hows[i]
                          : WIFEXITED(st) && WEXITSTATUS(st) == 1,
                  "case %zu: status 0x%x", i, (unsigned)st);
        char *got = slurp(out);
        cr_expect_str_eq(got, "old\n", "case %zu: the old file was touched", i);
        assert_no_temp(dir);
        free(got);
        free(out);
        rm_rf(dir);
        free(dir);
    }
}

Test(common_files, inputs_are_checked_before_a_fifo_can_block_open)
{
    char *dir = make_tmpdir();
    char *fifo = path_join(dir, "fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    const char *why = NULL;
    cr_expect_eq(kit_open_input(fifo, true, &why), -1);
    cr_expect_str_eq(why, "is a FIFO, not a regular file");
    cr_expect_eq(kit_open_input(dir, false, &why), -1);
    cr_expect_str_eq(why, "is a directory, not a regular file");
    char *f = path_join(dir, "f.txt");
    write_file(f, "x", 1);
    int fd = kit_open_input(f, true, &why);
    cr_expect_geq(fd, 0);
    char c;
    cr_expect_eq(read(fd, &c, 1), 1);
    close(fd);
    free(f);
    free(fifo);
    rm_rf(dir);
    free(dir);
}

TestSuite(common_harness, .timeout = 20);

/* `make test` ends within its budget whatever a test does: the runner's
 * watchdog (the Makefile's run-tests) stops a suite that hangs -- here a
 * "suite" that sleeps a minute, with a budget of 2 s. */
Test(common_harness, make_test_stops_a_hanging_suite_at_its_budget)
{
    if (access("Makefile", R_OK) != 0)
        cr_skip_test("not run from the kit's root");
    const char *env[] = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", NULL};
    run_result r = run_with(&(run_opts){
        .argv =
            (const char *const[]){"/bin/sh", "-c",
                                  "exec make -s test-run TEST_BIN=/bin/sleep "
                                  "TEST_ARGS=60 TEST_BUDGET=2",
                                  NULL},
        .env = env,
        .timeout = 15});
    cr_assert(!r.timed_out, "the runner's watchdog did not stop the suite");
    cr_assert_neq(r.exit_code, 0, "a stopped suite must fail make test");
    cr_assert(strstr(r.err, "budget of 2 s"), "stderr: %s", r.err);
    run_free(&r);
}

Test(common_harness, captures_output_status_and_input)
{
    run_result r =
        RUN_IN("hello\n", "/bin/sh", "-c", "cat; echo err >&2; exit 5");
    cr_assert_str_eq(r.out, "hello\n");
    cr_assert_str_eq(r.err, "err\n");
    cr_assert_eq(r.exit_code, 5);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(common_harness, kills_a_program_that_hangs)
{
    run_result r = run_with(
        &(run_opts){.argv = (const char *const[]){"/bin/sleep", "30", NULL},
                    .timeout = 0.5});
    cr_assert(r.timed_out);
    cr_assert_eq(r.signal, SIGKILL);
    run_free(&r);
}

Test(common_harness, notices_a_child_left_behind)
{
    run_result r = RUN("/bin/sh", "-c", "sleep 5 & exit 0");
    cr_assert_eq(r.exit_code, 0);
    cr_assert_geq(r.leftover, 1, "an orphaned sleep must be counted");
    run_free(&r);
}
