/*
 * lab02_support.c - helpers shared by lab 02's test files (lab02_support.h).
 */
#include "lab02_support.h"

#include "tjson.h"

#include <errno.h>
#include <sys/wait.h>

double num(const char *doc, const char *path)
{
    double v = 0;
    cr_assert(tj_num(doc, path, &v), "no number at %s in: %s", path, doc);
    return v;
}

void assert_json_ok(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung", what);
    cr_assert_eq(r->exit_code, 0, "%s: status %d (signal %d); stderr: %s", what,
                 r->exit_code, r->signal, r->err);
    cr_assert(tj_valid(r->out), "%s: not one JSON document: %s", what, r->out);
}

long long spin_square(long long x, void *arg)
{
    (void)arg;
    volatile unsigned long long sink = 0;
    for (long long i = 0; i < x * 2000; i++)
        sink = sink + (unsigned long long)i;
    return x * x + 1;
}

void assert_no_children(void)
{
    int st;
    errno = 0;
    pid_t p = waitpid(-1, &st, WNOHANG);
    cr_assert(p == -1 && errno == ECHILD,
              "pool_map left a child behind (waitpid returned %ld)", (long)p);
}
