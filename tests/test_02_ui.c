/*
 * test_02_ui.c - lab 02: ./ui, the interface that freezes while it computes
 * (blocking) and the one that keeps drawing (thread).
 *
 * Never a timing: what is certain is counted by the program itself.  A job
 * run inside the UI loop leaves no frame between its start and its end, so
 * frames_during_job is 0; on a worker thread the loop keeps drawing, so
 * there are frames during the job.  Keys typed during a blocking job show
 * up all at once after it; on a thread, one after the other.  The job's
 * count of primes is checked against our own sieve.  In a pseudo-terminal
 * (raw mode), Ctrl-C in the middle of the job kills the program by SIGINT,
 * leaves no process, and puts the terminal back in canonical, echoing mode.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include "harness.h"
#include "tjson.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

TestSuite(lab02_ui, .timeout = 60);

/* ---- helpers --------------------------------------------------------------- */

static double num(const char *doc, const char *path)
{
    double v = 0;
    cr_assert(tj_num(doc, path, &v), "no number at %s in: %s", path, doc);
    return v;
}

static run_result run_ui_json(const char *mode, const char *keys)
{
    run_result r =
        RUN("ui", "-m", mode, "--keys", keys, "--job-ms", "400", "--json");
    cr_assert(!r.timed_out, "ui -m %s hung", mode);
    cr_assert_eq(r.exit_code, 0, "ui -m %s: status %d (signal %d); stderr: %s",
                 mode, r.exit_code, r.signal, r.err);
    cr_assert(tj_valid(r.out), "ui -m %s: not one JSON document: %s", mode,
              r.out);
    cr_assert_eq(r.leftover, 0, "ui -m %s left a process behind", mode);
    return r;
}

/* Primes below n, counted here independently of the program's own check. */
static unsigned long test_sieve(unsigned long n)
{
    if (n < 3)
        return 0;
    char *c = calloc(n, 1);
    cr_assert_not_null(c);
    unsigned long count = 0;
    for (unsigned long i = 2; i < n; i++) {
        if (c[i])
            continue;
        count++;
        for (unsigned long k = i * i; k < n; k += i)
            c[k] = 1;
    }
    free(c);
    return count;
}

/* The text field of every frame line ("   3   0.150 s  \  > hel   ..."),
 * in order, written into fields[] (at most max); returns how many. */
static int frame_fields(const char *out, char fields[][32], int max)
{
    int n = 0;
    for (const char *line = out; line && *line && n < max;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *mark = strstr(line, "  > ");
        if (mark && mark < line + len && strstr(line, " s  ")) {
            const char *f = mark + 4;
            size_t k = 0;
            while (f + k < line + len && f[k] != ' ' && k < 31)
                k++;
            memcpy(fields[n], f, k);
            fields[n][k] = '\0';
            n++;
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

/* ---- the two modes --------------------------------------------------------- */

Test(lab02_ui, blocking_mode_draws_no_frame_while_the_job_runs)
{
    run_result r = run_ui_json("blocking", "go!hello");
    cr_expect_eq(tj_len(r.out, "runs"), 1);
    char mode[16];
    cr_assert(tj_str(r.out, "runs.0.mode", mode, sizeof mode));
    cr_expect_str_eq(mode, "blocking");
    cr_expect_eq(num(r.out, "runs.0.frames_during_job"), 0,
                 "the job ran inside the UI loop: no frame can be drawn "
                 "while it runs: %s",
                 r.out);
    cr_expect_geq(num(r.out, "runs.0.frames"), 3, "%s", r.out);
    /* The job ran inside one gap between two frames: that gap contains it. */
    cr_expect_geq(num(r.out, "runs.0.max_frame_gap_ms"),
                  num(r.out, "runs.0.job_seconds") * 1000.0, "%s", r.out);
    run_free(&r);
}

Test(lab02_ui, thread_mode_keeps_drawing_while_the_job_runs)
{
    run_result r = run_ui_json("thread", "go!hello");
    cr_expect_geq(num(r.out, "runs.0.frames_during_job"), 2,
                  "the job ran on a worker thread: the UI loop should have "
                  "kept drawing frames while it ran: %s",
                  r.out);
    cr_expect_gt(num(r.out, "runs.0.job_seconds"), 0, "%s", r.out);
    run_free(&r);
}

Test(lab02_ui, both_modes_echo_every_key_in_order)
{
    run_result r = run_ui_json("both", "go!hello");
    cr_assert_eq(tj_len(r.out, "runs"), 2, "%s", r.out);
    for (int i = 0; i < 2; i++) {
        char path[32], text[64];
        snprintf(path, sizeof path, "runs.%d.keys_echoed", i);
        cr_expect_eq(num(r.out, path), 7, "g o h e l l o: %s", r.out);
        snprintf(path, sizeof path, "runs.%d.text", i);
        cr_assert(tj_str(r.out, path, text, sizeof text));
        cr_expect_str_eq(text, "hello",
                         "Enter submits (clears) the field, then 'hello' is "
                         "typed, in that order: %s",
                         r.out);
    }
    run_free(&r);
}

Test(lab02_ui, the_job_counts_primes_correctly_in_both_modes)
{
    run_result r = run_ui_json("both", "!");
    for (int i = 0; i < 2; i++) {
        char path[32];
        snprintf(path, sizeof path, "runs.%d.below", i);
        unsigned long below = (unsigned long)num(r.out, path);
        snprintf(path, sizeof path, "runs.%d.primes", i);
        unsigned long primes = (unsigned long)num(r.out, path);
        cr_expect_gt(below, 1000, "the job tested hardly anything: %s", r.out);
        cr_expect_eq(primes, test_sieve(below), "primes below %lu: %s", below,
                     r.out);
        bool ok = false;
        snprintf(path, sizeof path, "runs.%d.result_ok", i);
        cr_expect(tj_bool(r.out, path, &ok) && ok, "%s", r.out);
    }
    run_free(&r);
}

Test(lab02_ui, keys_typed_during_a_blocking_job_appear_all_at_once)
{
    run_result r =
        RUN("ui", "-m", "blocking", "--keys", "go!hello", "--job-ms", "400");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    char fields[64][32];
    int n = frame_fields(r.out, fields, 64);
    cr_assert_geq(n, 3, "no frame lines in: %s", r.out);
    for (int i = 0; i < n; i++)
        cr_expect(strcmp(fields[i], "h") != 0 && strcmp(fields[i], "he") != 0 &&
                      strcmp(fields[i], "hel") != 0 &&
                      strcmp(fields[i], "hell") != 0,
                  "frame %d shows '%s': a frozen UI cannot echo 'hello' key "
                  "by key:\n%s",
                  i + 1, fields[i], r.out);
    cr_expect_str_eq(fields[n - 1], "hello", "%s", r.out);
    cr_expect(strstr(r.out, "frozen") != NULL, "the freeze is not marked: %s",
              r.out);
    run_free(&r);
}

Test(lab02_ui, keys_typed_during_a_thread_job_appear_one_by_one_in_order)
{
    run_result r =
        RUN("ui", "-m", "thread", "--keys", "go!hello", "--job-ms", "600");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    char fields[64][32];
    int n = frame_fields(r.out, fields, 64);
    cr_assert_geq(n, 3, "no frame lines in: %s", r.out);
    size_t longest = 0;
    int distinct = 0;
    bool after_enter = false;
    for (int i = 0; i < n; i++) {
        if (fields[i][0] == '\0' || fields[i][0] == 'h')
            after_enter = true;
        if (!after_enter)
            continue;
        size_t len = strlen(fields[i]);
        cr_expect(strncmp(fields[i], "hello", len) == 0 && len >= longest,
                  "frame %d shows '%s': not the next prefix of 'hello':\n%s",
                  i + 1, fields[i], r.out);
        if (len > longest)
            distinct++;
        longest = len;
    }
    cr_expect_eq(longest, 5, "%s", r.out);
    cr_expect_geq(distinct, 2, "the keys all appeared at once:\n%s", r.out);
    run_free(&r);
}

Test(lab02_ui, the_verdict_names_the_frozen_and_the_responsive_run)
{
    run_result r = RUN("ui", "--job-ms", "300");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_expect(strstr(r.out, "FROZEN") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "RESPONSIVE") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "the same job: inside the UI loop") != NULL, "%s",
              r.out);
    run_free(&r);
}

Test(lab02_ui, a_script_without_enter_runs_no_job_and_says_so)
{
    run_result r = RUN("ui", "-m", "thread", "--keys", "abc");
    cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
    cr_expect(strstr(r.out, "no job") != NULL, "%s", r.out);
    run_free(&r);
}

Test(lab02_ui, help_has_an_example_and_bad_values_are_usage_errors)
{
    run_result r = RUN("ui", "--help");
    cr_expect_eq(r.exit_code, 0);
    cr_expect(strstr(r.out, "example") != NULL, "%s", r.out);
    run_free(&r);
    r = RUN("ui", "--job-ms", "5");
    assert_usage_error(&r, "--job-ms");
    run_free(&r);
    r = RUN("ui", "--frame-ms", "abc");
    assert_usage_error(&r, "--frame-ms");
    run_free(&r);
    r = RUN("ui", "-m", "async");
    assert_usage_error(&r, "--mode");
    run_free(&r);
}

/* ---- a real terminal: Ctrl-C in the middle of the job -------------------- */

/* Read what the program writes to the terminal until `want` appears or
 * ms milliseconds have passed; true if it appeared. */
static bool pty_wait_for(int master, char *buf, size_t cap, size_t *len,
                         const char *want, int ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (want && strstr(buf, want))
            return true;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000 +
                     (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= ms)
            return false;
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, (int)(ms - spent)) <= 0)
            continue;
        char tmp[512];
        ssize_t got = read(master, tmp, sizeof tmp);
        if (got <= 0)
            return false; /* EIO: the program closed the terminal */
        if (*len + (size_t)got >= cap) /* keep the newest half */
            *len = 0;
        memcpy(buf + *len, tmp, (size_t)got);
        *len += (size_t)got;
        buf[*len] = '\0';
    }
}

static void ctrl_c_mid_job(const char *mode)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert_geq(master, 0, "posix_openpt: %s", strerror(errno));
    cr_assert_eq(grantpt(master), 0);
    cr_assert_eq(unlockpt(master), 0);
    char name[256];
    cr_assert_not_null(ptsname(master));
    snprintf(name, sizeof name, "%s", ptsname(master));
    /* Our own handle on the terminal, to read its modes after the program. */
    int slave = open(name, O_RDWR | O_NOCTTY);
    cr_assert_geq(slave, 0, "open %s: %s", name, strerror(errno));

    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* A new session: the terminal becomes ours, Ctrl-C reaches us. */
        if (setsid() < 0)
            _exit(126);
        int fd = open(name, O_RDWR);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (fd > 2)
            close(fd);
        close(master);
        close(slave);
        execl(bin_path("ui"), "ui", "-m", mode, "--job-ms", "20000",
              (char *)NULL);
        _exit(127);
    }

    char buf[8192] = "";
    size_t len = 0;
    bool drawing = pty_wait_for(master, buf, sizeof buf, &len, "idle", 10000);
    if (drawing) {
        cr_assert_eq(write(master, "\r", 1), 1); /* Enter: start the job */
        pty_wait_for(master, buf, sizeof buf, &len, NULL, 400);
        cr_assert_eq(write(master, "\003", 1), 1); /* Ctrl-C */
    }
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 100 && got == 0; i++) { /* up to 10 s */
        pty_wait_for(master, buf, sizeof buf, &len, NULL, 100);
        got = waitpid(pid, &status, WNOHANG);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    cr_expect(drawing, "ui -m %s never drew its status line in a terminal",
              mode);
    cr_expect_neq(got, 0, "ui -m %s did not end on Ctrl-C mid-job", mode);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
              "ui -m %s should die of SIGINT (status 0x%x)", mode, status);
    cr_expect(kill(pid, 0) == -1 && errno == ESRCH,
              "ui -m %s: the process is still there", mode);
    cr_expect(kill(-pid, 0) == -1 && errno == ESRCH,
              "ui -m %s: something of its session is still running", mode);

    struct termios t;
    cr_assert_eq(tcgetattr(slave, &t), 0);
    cr_expect(t.c_lflag & ICANON,
              "ui -m %s left the terminal in raw mode (no ICANON)", mode);
    cr_expect(t.c_lflag & ECHO, "ui -m %s left the terminal without echo",
              mode);
    close(slave);
    close(master);
}

Test(lab02_ui, ctrl_c_mid_job_restores_the_terminal_in_blocking_mode)
{
    ctrl_c_mid_job("blocking");
}

Test(lab02_ui, ctrl_c_mid_job_restores_the_terminal_in_thread_mode)
{
    ctrl_c_mid_job("thread");
}
