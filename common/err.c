/* err.c - see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "kit";

void kit_set_prog(const char *name) { prog = name; }
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

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap);
    va_end(ap);
    exit(KIT_EXIT_RUNTIME);
}

void die_errno(const char *fmt, ...)
{
    const char *reason = strerror(errno); /* read errno before anything else */
    va_list ap;
    va_start(ap, fmt);
    vreport(reason, fmt, ap);
    va_end(ap);
    exit(KIT_EXIT_RUNTIME);
}

void die_code(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(strerror(err), fmt, ap);
    va_end(ap);
    exit(KIT_EXIT_RUNTIME);
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
    exit(KIT_EXIT_USAGE);
}
