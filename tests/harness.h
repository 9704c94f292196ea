/*
 * harness.h - what every test file shares.
 *
 * run_*() runs a built program (from $KIT_BIN_DIR, default ".") with
 * arguments, optional standard input and extra environment, and captures
 * stdout, stderr, the exit status and how it died.  A program that outlives
 * its timeout is killed (whole process group) and reported as timed out, so
 * a hang fails one test instead of the suite.
 *
 * The test process makes itself a child subreaper (Linux), so orphans of the
 * program are re-parented to it: after the program exits, `leftover` counts
 * descendants that were still running or unreaped.  They are then killed and
 * reaped, so one leaky program cannot disturb the next test.
 *
 * Suites are named labNN_topic (behaviour) and exNN_topic (graded
 * exercises, declared with EXERCISE below), so `make test LAB=03` can pick a
 * lab's suites.  Every suite sets a timeout.
 */
#ifndef KIT_HARNESS_H
#define KIT_HARNESS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int exit_code;  /* WEXITSTATUS, or -1 if killed by a signal */
    int signal;     /* WTERMSIG, or 0 */
    bool timed_out; /* killed by the harness after the timeout */
    bool core;      /* dumped core */
    int leftover;   /* descendants alive or unreaped after it exited */
    char *out;      /* captured stdout, NUL-terminated */
    size_t out_len;
    char *err; /* captured stderr, NUL-terminated */
    size_t err_len;
    double seconds; /* wall time */
    bool signalled; /* run_opts' signal was sent */
} run_result;

typedef struct {
    const char *const *argv; /* argv[0] is the program's name in KIT_BIN_DIR,
                                 or a path if it contains '/' */
    const char *in;          /* standard input (NULL: /dev/null) */
    size_t in_len;           /* 0: strlen(in) */
    const char *const *env;  /* extra "NAME=value" entries, or "NAME" to unset
                                 one; NULL-terminated */
    double timeout;          /* seconds; 0 means 20 */
    int signal_after_ms;     /* >0: send `signal` to the program then */
    int signal;              /* signal to send (SIGINT, SIGTERM, ...) */
    const char *signal_when; /* send `signal` once stdout or stderr holds
                                 this text (a readiness sign the program
                                 prints), then after signal_after_ms more
                                 (0: at once): no guess at a fixed delay */
    int signal_at_workers;   /* >0: send `signal` once the program has
                                 this many workers (child processes plus
                                 threads besides its main one, see
                                 count_workers): the readiness sign of a
                                 program that prints none before its work */
    bool signal_child;       /* send it to the program's first child
                                 instead (Linux: /proc/PID/task/PID/children) */
    const char *stdout_to;   /* stdout goes to this file ("/dev/full"), not
                                 captured */
    bool stdout_closed;      /* the program starts with descriptor 1 closed */
    bool stdin_closed;       /* ... with descriptor 0 closed */
} run_opts;

run_result run_with(const run_opts *o);
/* RUN("race", "-m", "mutex") */
#define RUN(...) \
    run_with(&(run_opts){.argv = (const char *const[]){__VA_ARGS__, NULL}})
/* RUN_IN("text", "wordcount") feeds standard input */
#define RUN_IN(input, ...) \
    run_with(&(run_opts){.argv = (const char *const[]){__VA_ARGS__, NULL}, \
                         .in = (input)})
void run_free(run_result *r);

/* The workers of a running process: its child processes (running or
 * zombie, of any of its threads) plus its threads besides the main one.
 * Linux (/proc/PID/task); 0 elsewhere or once it is gone. */
int count_workers(pid_t pid);

/* Path of a built program: $KIT_BIN_DIR/name. Static buffer. */
const char *bin_path(const char *name);

/* Sanitizer the suite was built with ("", "thread", "address,undefined"). */
bool san_is(const char *which);

/* Files for tests: a fresh private directory, removed by rm_rf(). */
char *make_tmpdir(void);
void rm_rf(const char *path);
char *path_join(const char *dir, const char *name); /* malloc'd */
void write_file(const char *path, const char *data, size_t len);
char *read_file(const char *path, size_t *len); /* malloc'd, NULL if missing */
bool file_exists(const char *path);

/* Is COMMAND an executable file in a $PATH folder? */
bool tool_on_path(const char *command);

/* For a test that needs an optional tool: when COMMAND is not on $PATH, skip
 * with one line naming what needs it and the Debian PACKAGE to install, and
 * append that line to $KIT_SKIP_LOG, which `make test` repeats at the end.
 * tools/need-packages.sh installs these packages when it can. */
void skip_without_tool(const char *command, const char *package,
                       const char *needed_for);

/* Skip with REASON (one line), appended to $KIT_SKIP_LOG as above: for a
 * need that is not a command (a Python module, say). */
void skip_because(const char *reason);

/* Count occurrences of needle in haystack. */
size_t count_substr(const char *haystack, const char *needle);

/* The standard bad-usage checks: exit 2, nothing on stdout, one line on
 * stderr that contains `mention` (the option's name, say). */
void assert_usage_error(const run_result *r, const char *mention);

/*
 * A graded exercise: a suite whose tests must all pass to earn the points.
 * `make grade` reads these lines from the test sources, so the points live
 * next to the tests that earn them:
 *     EXERCISE(ex03_mutex, "03", "the mutex fix of the race", 5);
 */
#define EXERCISE(suite, lab, title, points) \
    TestSuite(suite, .timeout = 60, .description = lab ": " title)

#endif
