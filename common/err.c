/* err.c - see err.h. */
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "kit";

/* Set by die() and friends: the failure is reported, the exit code chosen;
 * kit_finish_stdout must not add a second message or change the code. */
static bool reported;

void kit_std_streams_ok(void)
{
    /* Lowest free descriptor first: open() returns 0, then 1, then 2 for
     * exactly the ones that are closed. */
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue; /* open: nothing to do */
        int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (got != fd) { /* cannot happen unless /dev/null is missing */
            static const char msg[] = "cannot open /dev/null for a closed "
                                      "standard stream\n";
            (void)!write(2, msg, sizeof msg - 1);
            _exit(KIT_EXIT_RUNTIME);
        }
    }
}

void kit_finish_stdout(void)
{
    if (reported)
        return;
    errno = 0;
    bool failed = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !failed) { /* a late error (NFS, say) */
        failed = true;
        e = errno;
    }
    if (!failed)
        return;
    char msg[256];
    int n =
        snprintf(msg, sizeof msg, "%s: write error on standard output%s%s\n",
                 prog, e ? ": " : "", e ? strerror(e) : "");
    if (n > 0)
        (void)!write(2, msg,
                     (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(KIT_EXIT_RUNTIME);
}

void kit_set_prog(const char *name)
{
    static bool started;
    prog = name;
    if (started)
        return;
    started = true;
    kit_std_streams_ok();
    if (atexit(kit_finish_stdout) != 0)
        die("atexit failed");
}
const char *kit_prog(void) { return prog; }

/* One line: "prog: message[: reason]\n", written in one call so that lines
 * from concurrent processes do not interleave mid-line. */
static void vreport(const char *reason, const char *fmt, va_list ap)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s: ", prog);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof msg)
        n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    if ((size_t)n < sizeof msg && reason)
        n += snprintf(msg + n, sizeof msg - (size_t)n, ": %s", reason);
    if ((size_t)n >= sizeof msg - 1)
        n = (int)sizeof msg - 2;
    msg[n++] = '\n';
    msg[n] = '\0';
    fflush(stdout);
    fputs(msg, stderr);
}

/* The exit of every die*(): remembered, so kit_finish_stdout stays quiet. */
static _Noreturn void finish(int code)
{
    reported = true;
    exit(code);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap);
    va_end(ap);
    finish(KIT_EXIT_RUNTIME);
}

void die_errno(const char *fmt, ...)
{
    const char *reason = strerror(errno); /* read errno before anything else */
    va_list ap;
    va_start(ap, fmt);
    vreport(reason, fmt, ap);
    va_end(ap);
    finish(KIT_EXIT_RUNTIME);
}

void die_code(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(strerror(err), fmt, ap);
    va_end(ap);
    finish(KIT_EXIT_RUNTIME);
}

void warn_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap);
    va_end(ap);
}

void warn_errno(const char *fmt, ...)
{
    const char *reason = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    vreport(reason, fmt, ap);
    va_end(ap);
}

void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap);
    va_end(ap);
    finish(KIT_EXIT_USAGE);
}
