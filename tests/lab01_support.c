/*
 * lab01_support.c - helpers shared by lab 01's test files (lab01_support.h).
 */
#include "lab01_support.h"

void assert_clean_exit(const run_result *r, const char *what)
{
    cr_assert(!r->timed_out, "%s hung (killed after the timeout)", what);
    cr_assert_eq(r->exit_code, 0, "%s: exit %d (signal %d); stderr: %s", what,
                 r->exit_code, r->signal, r->err);
    cr_assert_eq(r->leftover, 0, "%s left %d child process(es) behind", what,
                 r->leftover);
}
