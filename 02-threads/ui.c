/*
 * ui.c - an interface that freezes while it computes, and one that does not
 *
 * The lecture's first slide, "Зачем нужна многопоточность?", gives three
 * reasons for threads; the second is multitasking in graphical interfaces.
 * This is a small terminal "application": a status line redrawn every 50 ms
 * (a clock, a spinner, a text field that echoes what you type) and a command,
 * Enter, that starts a long CPU job (~2 s: counting primes).
 *
 *   blocking   the job runs inside the UI loop, as an event handler that
 *              computes: the clock stops, the spinner stops, typed keys
 *              appear only after the job ends.  The frozen window is the bug.
 *   thread     the same job function on a worker thread: the UI loop keeps
 *              drawing and echoing, and shows the job's progress bar.
 *   both       the two runs one after the other, then the verdict (default).
 *
 * How the result comes back (thread mode): a mutex-protected state, struct
 * job below.  The UI loop wakes every frame anyway to redraw, so each frame
 * it takes the latest progress and, at the end, the result, under the lock;
 * a pipe would queue every progress message for the loop to drain, when it
 * only wants the newest one.  A pipe (the self-pipe trick) is the better
 * choice for a loop that sleeps in poll() until something happens.  After the
 * UI sees "done", it joins the worker: no thread outlives its job.
 *
 * What you will observe: the figure is the longest gap between two frames.
 * Blocking: about the job's length, and no frame at all while the job ran.
 * Thread: about one frame interval (<= ~100 ms), and a frame every 50 ms
 * while the job ran.  The job's result is checked by a sieve in both modes.
 *
 * Input: in a terminal, the keyboard (raw mode: keys arrive one by one,
 * unechoed; Ctrl-C, Ctrl-D or Esc quit, and the terminal is restored on
 * every way out, SIGINT included).  Otherwise, or with --keys, a script:
 * one key of STRING per frame interval, '!' standing for Enter; frames are
 * then printed as lines, one per frame, so the freeze is visible in a log.
 *
 * Usage:   ./ui [-m blocking|thread|both] [--keys STRING] [--job-ms MS]
 *               [--frame-ms MS] [--json]
 * Exit:    0, 1 if the job's count disagrees with the sieve, 2 bad usage.
 *
 * See also: threads.c (a thread shares the address space), README.md
 * ("Зачем нужна многопоточность?"); termios(3), poll(2); the same program
 * in Python is a tkinter app with root.after() and a threading.Thread.
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "timing.h"
#include "xpthread.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum mode { MODE_BLOCKING, MODE_THREAD, MODE_BOTH };
static const char *const mode_names[] = {"blocking", "thread", "both", NULL};

enum {
    FIELD_MAX = 24, /* bytes of the text field shown */
    DEFAULT_JOB_MS = 2000,
    DEFAULT_FRAME_MS = 50,
    CHUNK = 1024, /* numbers tested between two looks at the clock */
};
#define DEFAULT_KEYS "go!hello"
#define KEY_ENTER '!' /* in --keys: Enter; in a terminal: Enter or '!' */

/* ---- the job: count primes for job_ms of wall time -------------------- */

/* The state the worker and the UI share.  Every field below the mutex is
 * read and written only with it held.  The job publishes once per chunk, so
 * the lock is taken ~1000 times a second by the worker and 20 by the UI. */
struct job {
    double job_ms; /* read-only once started */
    pthread_mutex_t lock;
    bool started, done, cancel;
    unsigned long below;  /* every number < below has been tested */
    unsigned long primes; /* primes found below `below` */
    double progress;      /* 0..1 of the job's time */
    double seconds;       /* how long it ran (when done) */
};

static bool is_prime(unsigned long n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (unsigned long d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return false;
    return true;
}

/* The same function, called inside the UI loop (blocking) or on a worker
 * thread (thread mode): trial division, chunk by chunk, until job_ms have
 * passed or the UI asks it to stop. */
static void job_run(struct job *j)
{
    double t0 = kit_now();
    unsigned long n = 0, primes = 0;
    for (;;) {
        for (unsigned long end = n + CHUNK; n < end; n++)
            primes += is_prime(n);
        double elapsed_ms = (kit_now() - t0) * 1000.0;
        bool over = elapsed_ms >= j->job_ms;
        xmutex_lock(&j->lock);
        j->below = n;
        j->primes = primes;
        j->progress = over ? 1.0 : elapsed_ms / j->job_ms;
        bool stop = over || j->cancel;
        if (stop) {
            j->seconds = elapsed_ms / 1000.0;
            j->done = true;
        }
        xmutex_unlock(&j->lock);
        if (stop)
            return;
    }
}

static void *job_thread(void *arg)
{
    job_run(arg);
    return NULL;
}

/* Primes below n by the sieve of Eratosthenes: the check of the job. */
static unsigned long sieve_count(unsigned long n)
{
    if (n < 3)
        return 0;
    unsigned char *composite = xcalloc(n, 1);
    unsigned long count = 0;
    for (unsigned long i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        for (unsigned long k = i * i; k < n; k += i)
            composite[k] = 1;
    }
    free(composite);
    return count;
}

/* ---- the terminal: raw mode, restored on every way out ------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_is_raw;    /* saved_tty must be put back */
static volatile sig_atomic_t cursor_hidden; /* "\033[?25l" was written */

/* Put the terminal back as we found it.  Async-signal-safe (tcsetattr and
 * write are on the signal-safety(7) list), so the handler can call it. */
static void tty_restore(void)
{
    if (cursor_hidden) {
        static const char show_cursor[] = "\033[?25h";
        (void)write(STDOUT_FILENO, show_cursor, sizeof show_cursor - 1);
        cursor_hidden = 0;
    }
    if (tty_is_raw) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_is_raw = 0;
    }
}

static void on_stop_signal(int sig)
{
    tty_restore();
    (void)write(STDOUT_FILENO, "\r\n", 2); /* off the status line */
    kit_die_of_signal(sig); /* the shell sees "killed by SIGINT" */
}

/* Restore the terminal on every way out: a stop signal (the handler above)
 * or exit() (die() included).  A worker thread dies with the process. */
static void tty_restore_on_exit(void)
{
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        if (sigaction(stops[i], &sa, NULL) != 0)
            die_errno("sigaction");
    if (atexit(tty_restore) != 0)
        die("atexit failed");
}

/* Keys one at a time (no line buffering), not echoed by the terminal (we
 * echo them in the field).  ISIG stays on: Ctrl-C still sends SIGINT, and
 * the handler puts the terminal back before dying of it. */
static void tty_raw(void)
{
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
        die_errno("tcgetattr");
    struct termios raw = saved_tty;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tty_is_raw = 1; /* before the change: a signal now restores harmlessly */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
        die_errno("tcsetattr");
}

/* ---- the UI loop ------------------------------------------------------- */

struct run {
    enum mode mode;   /* MODE_BLOCKING or MODE_THREAD */
    const char *keys; /* the script, or NULL: the keyboard */
    double frame_ms;
    FILE *out;     /* where frames go, or NULL (--json) */
    bool in_place; /* redraw one line (a TTY) or print a line each */
    struct job job;
    pthread_t worker;
    bool worker_running; /* created and not yet joined */
    bool quit;           /* Ctrl-D or Esc */
    char field[FIELD_MAX + 1];
    /* what the run measured */
    int frames;
    int frames_during_job; /* drawn while the job was running */
    double max_gap_ms;     /* longest time between two frames */
    int keys_echoed;
    unsigned long expected; /* the sieve's count of primes below job.below */
};

/* What one frame shows of the job: a copy taken under the lock. */
struct job_view {
    bool started, done;
    double progress, seconds;
    unsigned long below, primes;
};

static struct job_view job_look(struct job *j)
{
    xmutex_lock(&j->lock);
    struct job_view v = {j->started, j->done,  j->progress,
                         j->seconds, j->below, j->primes};
    xmutex_unlock(&j->lock);
    return v;
}

/* Enter: start the job.  The one place where the two modes differ. */
static void start_job(struct run *r)
{
    struct job *j = &r->job;
    xmutex_lock(&j->lock);
    bool again = j->started; /* one job per run */
    j->started = true;
    xmutex_unlock(&j->lock);
    if (again)
        return;
    r->field[0] = '\0'; /* the field was a command line: submitted */
    if (r->mode == MODE_BLOCKING) {
        job_run(j); /* the bug: the loop is stuck here until the job ends */
    } else {
        xpthread_create(&r->worker, job_thread, j);
        r->worker_running = true;
    }
}

static void on_key(struct run *r, char c)
{
    unsigned char u = (unsigned char)c;
    if (c == KEY_ENTER || c == '\r' || c == '\n') {
        start_job(r);
    } else if (u == 0x04 || u == 0x1b) { /* Ctrl-D, Esc */
        r->quit = true;
    } else if (u == 0x7f || u == 0x08) { /* Backspace */
        size_t len = strlen(r->field);
        while (len > 0 && ((unsigned char)r->field[--len] & 0xC0) == 0x80)
            ;
        r->field[len] = '\0';
    } else if (u >= 0x20) {
        size_t len = strlen(r->field);
        if (len == FIELD_MAX) { /* scroll: keep the newest keys */
            memmove(r->field, r->field + 1, len);
            len--;
        }
        r->field[len] = c;
        r->field[len + 1] = '\0';
        if ((u & 0xC0) != 0x80) /* a UTF-8 continuation byte is no new key */
            r->keys_echoed++;
    }
}

/* Keyboard: wait in poll() until the next frame is due, handling keys as
 * they come.  A key may be Enter, and in blocking mode Enter computes. */
static void keyboard_until(struct run *r, double due)
{
    while (!r->quit) {
        double now = kit_now();
        if (now >= due)
            return;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, 1, (int)((due - now) * 1000.0) + 1);
        if (n < 0 && errno != EINTR)
            die_errno("poll");
        if (n <= 0)
            continue;
        char buf[64];
        ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
        if (got < 0 && errno != EINTR && errno != EAGAIN)
            die_errno("read");
        if (got == 0 || (p.revents & POLLHUP))
            r->quit = true; /* the terminal is gone */
        for (ssize_t i = 0; i < got; i++)
            on_key(r, buf[i]);
    }
}

static void draw_frame(struct run *r, const struct job_view *v, double t,
                       double gap_ms)
{
    if (r->out == NULL)
        return;
    static const char spinner[] = "|/-\\";
    char job[64];
    if (!v->started) {
        snprintf(job, sizeof job, "idle (Enter starts the job)");
    } else if (!v->done) {
        char bar[11];
        int filled = (int)(v->progress * 10.0);
        for (int i = 0; i < 10; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[10] = '\0';
        snprintf(job, sizeof job, "job [%s] %3.0f%%", bar, v->progress * 100);
    } else {
        snprintf(job, sizeof job, "done: %lu primes below %lu", v->primes,
                 v->below);
    }
    if (r->in_place)
        fputs("\r\033[K", r->out);
    fprintf(r->out, "%4d %7.3f s  %c  > %-*s %s", r->frames, t,
            spinner[r->frames % 4], FIELD_MAX / 2, r->field, job);
    if (!r->in_place && gap_ms > 2 * r->frame_ms)
        fprintf(r->out, "   <- %.0f ms since the last frame: frozen", gap_ms);
    if (!r->in_place)
        fputc('\n', r->out);
    if (fflush(r->out) != 0)
        die_errno("writing frames");
}

/* The loop of an interactive program: wait for input until the next frame
 * is due, look at the job, draw.  Script: key i arrives (i + 1) frame
 * intervals after the start; the run ends when every key has been typed
 * and the job, if started, is done.  Keyboard: it ends on Ctrl-D or Esc,
 * or a second after the job's result is shown. */
static void ui_run(struct run *r)
{
    const double frame = r->frame_ms / 1000.0;
    const double t0 = kit_now();
    double due = t0 + frame, last = t0, done_seen = 0;
    size_t typed = 0, nkeys = r->keys ? strlen(r->keys) : 0;
    for (;;) {
        if (r->keys) {
            kit_sleep_ms((due - kit_now()) * 1000.0);
            /* every key whose time has come, even if it came long ago */
            while (typed < nkeys &&
                   kit_now() >= t0 + (double)(typed + 1) * frame)
                on_key(r, r->keys[typed++]);
        } else {
            keyboard_until(r, due);
        }

        struct job_view v = job_look(&r->job);
        if (v.done && r->worker_running) {
            xpthread_join(r->worker); /* the job's writes are all visible */
            r->worker_running = false;
        }
        double now = kit_now(), gap_ms = (now - last) * 1000.0;
        if (gap_ms > r->max_gap_ms)
            r->max_gap_ms = gap_ms;
        last = now;
        r->frames++;
        if (v.started && !v.done)
            r->frames_during_job++;
        draw_frame(r, &v, now - t0, gap_ms);

        if (v.done && done_seen == 0)
            done_seen = now;
        bool job_settled = !v.started || v.done;
        if (r->keys && typed == nkeys && job_settled)
            break;
        if (!r->keys && (r->quit || (v.done && now - done_seen >= 1.0)))
            break;
        due += frame;
        if (due < now) /* after a freeze: the next frame one interval on */
            due = now + frame;
    }
    if (r->worker_running) { /* quit mid-job: ask the worker to stop */
        xmutex_lock(&r->job.lock);
        r->job.cancel = true;
        xmutex_unlock(&r->job.lock);
        xpthread_join(r->worker);
        r->worker_running = false;
    }
    if (r->out && r->in_place)
        fputc('\n', r->out);
    struct job_view v = job_look(&r->job);
    r->expected = sieve_count(v.below);
}

/* ---- reporting ---------------------------------------------------------- */

static bool job_ok(struct run *r)
{
    struct job_view v = job_look(&r->job);
    return v.primes == r->expected;
}

static const char *verdict(struct run *r)
{
    struct job_view v = job_look(&r->job);
    if (!v.started)
        return "no job: Enter (or '!' in --keys) starts it";
    if (!job_ok(r))
        return "WRONG: the job's count disagrees with the sieve";
    if (r->frames_during_job == 0)
        return "FROZEN: no frame while the job ran";
    return "RESPONSIVE: frames kept coming";
}

static void print_report(struct run *runs, int n)
{
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "mode", TBL_LEFT);
    tbl_col(&t, "frames", TBL_RIGHT);
    tbl_col(&t, "during job", TBL_RIGHT);
    tbl_col(&t, "longest gap", TBL_RIGHT);
    tbl_col(&t, "job", TBL_RIGHT);
    tbl_col(&t, "keys", TBL_RIGHT);
    tbl_col(&t, "primes (sieve)", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    for (int i = 0; i < n; i++) {
        struct job_view v = job_look(&runs[i].job);
        tbl_cell(&t, "%s", mode_names[runs[i].mode]);
        tbl_cell(&t, "%d", runs[i].frames);
        tbl_cell(&t, "%d", runs[i].frames_during_job);
        tbl_cell(&t, "%.0f ms", runs[i].max_gap_ms);
        tbl_cell(&t, "%.2f s", v.seconds);
        tbl_cell(&t, "%d", runs[i].keys_echoed);
        tbl_cell(&t, "%lu (%lu)", v.primes, runs[i].expected);
        tbl_cell(&t, "%s", verdict(&runs[i]));
    }
    putchar('\n');
    tbl_print(&t, stdout);

    /* The one line to notice. */
    struct run *b = NULL, *th = NULL;
    for (int i = 0; i < n; i++) {
        if (runs[i].mode == MODE_BLOCKING)
            b = &runs[i];
        else
            th = &runs[i];
    }
    if (b && th && b->job.started && th->job.started)
        printf("\nthe same job: inside the UI loop the screen froze for %.0f "
               "ms;\non a worker thread the longest pause was %.0f ms, with "
               "%d frames drawn while it ran.\n",
               b->max_gap_ms, th->max_gap_ms, th->frames_during_job);
}

static void print_json(struct run *runs, int n, const struct run *cfg,
                       double job_ms)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_double(&j, "frame_ms", cfg->frame_ms);
    json_double(&j, "job_ms", job_ms);
    json_str(&j, "keys", cfg->keys ? cfg->keys : "");
    json_arr(&j, "runs");
    for (int i = 0; i < n; i++) {
        struct job_view v = job_look(&runs[i].job);
        json_obj(&j, NULL);
        json_str(&j, "mode", mode_names[runs[i].mode]);
        json_int(&j, "frames", runs[i].frames);
        json_double(&j, "max_frame_gap_ms", runs[i].max_gap_ms);
        json_double(&j, "job_seconds", v.seconds);
        json_int(&j, "keys_echoed", runs[i].keys_echoed);
        json_int(&j, "frames_during_job", runs[i].frames_during_job);
        json_str(&j, "text", runs[i].field);
        json_uint(&j, "below", v.below);
        json_uint(&j, "primes", v.primes);
        json_uint(&j, "expected", runs[i].expected);
        json_bool(&j, "result_ok", job_ok(&runs[i]));
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
}

static const char usage[] =
    "usage: ui [-m blocking|thread|both] [--keys STRING] [--job-ms MS]\n"
    "          [--frame-ms MS] [--json]\n"
    "\n"
    "A status line redrawn every frame (clock, spinner, the text you type);\n"
    "Enter starts a long CPU job (counting primes).  Does the UI freeze?\n"
    "  blocking   the job runs inside the UI loop: the screen freezes\n"
    "  thread     the job runs on a worker thread: the UI keeps drawing\n"
    "  both       the two, then the verdict (default)\n"
    "\n"
    "  -m, --mode MODE      blocking|thread|both (default both)\n"
    "      --keys STRING    type STRING instead of the keyboard, one key per\n"
    "                       frame, '!' = Enter (default without a terminal:\n"
    "                       \"" DEFAULT_KEYS
    "\"); frames are printed as lines\n"
    "      --job-ms MS      the job's length, 10..30000 ms (default 2000)\n"
    "      --frame-ms MS    frame interval, 10..1000 ms (default 50)\n"
    "      --json           one JSON object on stdout instead of the report\n"
    "  -h, --help           this help\n"
    "\n"
    "In a terminal: type, Enter starts the job, Ctrl-D or Esc ends the run,\n"
    "Ctrl-C quits (the terminal is restored).\n"
    "\n"
    "examples:\n"
    "  ./ui                               try both modes at the keyboard\n"
    "  ./ui --keys 'go!hello' --job-ms 500   scripted: frames as lines\n"
    "\n"
    "exit status: 0, 1 the job's count disagrees with the sieve, 2 bad usage\n";

int main(int argc, char *argv[])
{
    kit_set_prog("ui");
    enum mode mode = MODE_BOTH;
    const char *keys = NULL;
    double job_ms = DEFAULT_JOB_MS, frame_ms = DEFAULT_FRAME_MS;
    bool json = false;

    enum { OPT_KEYS = 256, OPT_JOB_MS, OPT_FRAME_MS, OPT_JSON };
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"job-ms", required_argument, NULL, OPT_JOB_MS},
        {"frame-ms", required_argument, NULL, OPT_FRAME_MS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mode = (enum mode)opt_choice("--mode", optarg, mode_names);
            break;
        case OPT_KEYS: keys = optarg; break;
        case OPT_JOB_MS:
            job_ms = opt_double("--job-ms", optarg, 10, 30000);
            break;
        case OPT_FRAME_MS:
            frame_ms = opt_double("--frame-ms", optarg, 10, 1000);
            break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    /* The keyboard only when there is one and no script was given. */
    bool keyboard = keys == NULL && isatty(STDIN_FILENO);
    if (keys == NULL && !keyboard)
        keys = DEFAULT_KEYS;
    FILE *out = stdout;
    if (json) /* stdout is for the JSON: frames to a watching stderr only */
        out = isatty(STDERR_FILENO) ? stderr : NULL;
    bool in_place = out != NULL && isatty(fileno(out));
    if (keyboard || in_place)
        tty_restore_on_exit();
    if (keyboard)
        tty_raw();

    struct run runs[2];
    int n = 0;
    for (enum mode m = MODE_BLOCKING; m < MODE_BOTH; m++) {
        if (mode != MODE_BOTH && mode != m)
            continue;
        struct run *r = &runs[n++];
        memset(r, 0, sizeof *r);
        r->mode = m;
        r->keys = keys;
        r->frame_ms = frame_ms;
        r->out = out;
        r->in_place = in_place;
        r->job.job_ms = job_ms;
        xmutex_init(&r->job.lock);
        if (out) {
            fprintf(
                out, "%s%s: %s%s\n", n > 1 ? "\n" : "", mode_names[m],
                m == MODE_BLOCKING
                    ? "the job runs inside the UI loop"
                    : "the job runs on a worker thread, the loop only draws",
                keyboard ? " (type; Enter starts the job; Ctrl-D ends)" : "");
            if (in_place) { /* hide the cursor while drawing */
                fputs("\033[?25l", out);
                cursor_hidden = 1;
            }
        }
        ui_run(r);
    }
    tty_restore();

    if (json)
        print_json(runs, n, &runs[0], job_ms);
    else
        print_report(runs, n);
    if (fflush(stdout) != 0)
        die_errno("stdout");

    int status = 0;
    for (int i = 0; i < n; i++) {
        if (!job_ok(&runs[i]))
            status = KIT_EXIT_RUNTIME;
        xmutex_destroy(&runs[i].job.lock);
    }
    return status;
}
