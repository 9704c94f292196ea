/*
 * threads.c - `fork memory` again, with threads: one address space, many stacks
 *
 * What it demonstrates: threads of a process share its memory.  A thread
 * changes a global, a heap and a stack variable (main's, through a
 * pointer), and main sees every change after pthread_join: the opposite of
 * `./fork memory`, where the child's changes stay in the child.  What a
 * thread does NOT share is its stack: each thread's local variable lives at
 * its own address.  Arguments go in through pthread_create's void *, results
 * come out through pthread_join's void **.
 *
 * What you will observe: "main after" equals "thread after" for all three
 * variables (SHARED), and N different stack addresses, usually a few MiB
 * apart (each thread gets its own stack mapping).
 *
 * Usage: threads [-t N] [--json]
 * See also: ../01-processes/fork.c (`fork memory`), pthread_create(3),
 *           pthread_join(3), Python's threading.Thread.
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "term.h"
#include "xpthread.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int global_value = 100; /* in the data segment: one copy per process */

/* Part 1: what the changing thread is given (pointers into main's memory). */
struct change_arg {
    int *heap_value;  /* malloc'd by main */
    int *stack_value; /* a local variable of main, on main's stack */
    int seen[3];      /* out: global, heap, stack as the thread saw them */
};

static void *change_everything(void *p)
{
    struct change_arg *a = p;
    global_value += 1;
    *a->heap_value += 1;
    *a->stack_value += 1;
    a->seen[0] = global_value;
    a->seen[1] = *a->heap_value;
    a->seen[2] = *a->stack_value;
    return NULL;
}

/* Part 2: one argument in, one malloc'd result out. */
struct result {
    long input;      /* the argument it was given */
    long square;     /* the work: input * input */
    uintptr_t local; /* address of one of its own local variables */
};

static void *square_it(void *p)
{
    long input = *(const long *)p; /* main's array outlives the thread */
    struct result *r = xmalloc(sizeof *r);
    r->input = input;
    r->square = input * input;
    r->local = (uintptr_t)&input; /* an address on THIS thread's stack */
    return r;                     /* the caller of pthread_join frees it */
}

/* ---- the two experiments ------------------------------------------------ */

/* Part 1: the same three variables as `fork memory`, changed by a thread. */
struct part1 {
    int *heap_value;       /* malloc'd; freed by main */
    const int *stack_addr; /* main's stack variable, changed by the thread */
    int before[3], seen[3], after[3]; /* global, heap, stack */
    bool shared; /* main saw every change the thread made */
};

static void part1_shared_memory(struct part1 *p1, int *stack_value)
{
    p1->heap_value = xmalloc(sizeof *p1->heap_value);
    *p1->heap_value = 200;
    p1->stack_addr = stack_value;
    const int before[3] = {global_value, *p1->heap_value, *stack_value};
    struct change_arg ca = {.heap_value = p1->heap_value,
                            .stack_value = stack_value};
    pthread_t t;
    xpthread_create(&t, change_everything, &ca);
    xpthread_join(t); /* after the join, the thread's writes are visible here */
    const int after[3] = {global_value, *p1->heap_value, *stack_value};
    for (int v = 0; v < 3; v++) {
        p1->before[v] = before[v];
        p1->seen[v] = ca.seen[v];
        p1->after[v] = after[v];
    }
    p1->shared = after[0] == ca.seen[0] && after[1] == ca.seen[1] &&
                 after[2] == ca.seen[2] && after[0] != before[0];
}

/* Part 2: arguments in, results out, one stack each. */
struct part2 {
    int n;
    long *inputs;
    struct result **res; /* [n], each malloc'd by its thread */
    bool results_ok, stacks_distinct;
};

static void part2_arguments_and_results(struct part2 *p2, int n)
{
    p2->n = n;
    p2->inputs = xcalloc((size_t)n, sizeof *p2->inputs);
    p2->res = xcalloc((size_t)n, sizeof *p2->res);
    pthread_t *tids = xcalloc((size_t)n, sizeof *tids);
    for (int i = 0; i < n; i++) {
        p2->inputs[i] = i + 1;
        xpthread_create(&tids[i], square_it, &p2->inputs[i]);
    }
    for (int i = 0; i < n; i++)
        p2->res[i] = xpthread_join(tids[i]); /* the thread's return value */
    free(tids);
    p2->results_ok = p2->stacks_distinct = true;
    for (int i = 0; i < n; i++) {
        p2->results_ok = p2->results_ok && p2->res[i]->input == p2->inputs[i] &&
                         p2->res[i]->square == p2->inputs[i] * p2->inputs[i];
        for (int k = 0; k < i; k++)
            p2->stacks_distinct =
                p2->stacks_distinct && p2->res[k]->local != p2->res[i]->local;
    }
}

/* ---- reporting ------------------------------------------------------------ */

static void print_json(const struct part1 *p1, const struct part2 *p2)
{
    json_w j;
    json_start(&j, stdout);
    json_obj(&j, NULL);
    json_int(&j, "before", p1->before[0]);
    json_int(&j, "thread_after", p1->seen[0]);
    json_int(&j, "main_after", p1->after[0]);
    json_int(&j, "threads", p2->n);
    json_bool(&j, "results_ok", p2->results_ok);
    json_bool(&j, "stacks_distinct", p2->stacks_distinct);
    json_end(&j);
    json_finish(&j);
}

static void print_tables(const struct part1 *p1, const struct part2 *p2)
{
    const char *ok = kit_color(stdout, "green"),
               *bad = kit_color(stdout, "red"),
               *off = kit_color(stdout, "reset");
    printf("Part 1: a thread adds 1 to three variables; main looks after "
           "pthread_join\n\n");
    static const char *const names[] = {"global", "heap", "stack (main's)"};
    const void *addrs[] = {&global_value, p1->heap_value, p1->stack_addr};
    kit_table tb;
    tbl_init(&tb);
    tbl_col(&tb, "variable", TBL_LEFT);
    tbl_col(&tb, "address", TBL_LEFT);
    tbl_col(&tb, "before", TBL_RIGHT);
    tbl_col(&tb, "thread after", TBL_RIGHT);
    tbl_col(&tb, "main after", TBL_RIGHT);
    tbl_col(&tb, "verdict", TBL_LEFT);
    for (int v = 0; v < 3; v++) {
        tbl_cell(&tb, "%s", names[v]);
        tbl_cell(&tb, "%p", addrs[v]);
        tbl_cell(&tb, "%d", p1->before[v]);
        tbl_cell(&tb, "%d", p1->seen[v]);
        tbl_cell(&tb, "%d", p1->after[v]);
        tbl_cell(&tb, "%s",
                 p1->after[v] == p1->seen[v] ? "SHARED: main sees the change"
                                             : "NOT SHARED (unexpected)");
    }
    tbl_print(&tb, stdout);
    printf("\n(`./fork memory` does the same in a child process: there the "
           "parent "
           "still sees %d.)\n",
           p1->before[0]);

    printf("\nPart 2: %d thread%s: argument in via pthread_create, result "
           "out via "
           "pthread_join\n\n",
           p2->n, p2->n == 1 ? "" : "s");
    tbl_init(&tb);
    tbl_col(&tb, "thread", TBL_RIGHT);
    tbl_col(&tb, "argument", TBL_RIGHT);
    tbl_col(&tb, "result", TBL_RIGHT);
    tbl_col(&tb, "its local variable at", TBL_LEFT);
    tbl_col(&tb, "from the previous one", TBL_RIGHT);
    for (int i = 0; i < p2->n && i < 32; i++) {
        tbl_cell(&tb, "%d", i + 1);
        tbl_cell(&tb, "%ld", p2->res[i]->input);
        tbl_cell(&tb, "%ld", p2->res[i]->square);
        tbl_cell(&tb, "%p", (void *)p2->res[i]->local);
        if (i == 0)
            tbl_cell(&tb, "-");
        else
            tbl_cell(
                &tb, "%+.1f MiB",
                ((double)p2->res[i]->local - (double)p2->res[i - 1]->local) /
                    (1024.0 * 1024.0));
    }
    tbl_print(&tb, stdout);
    if (p2->n > 32)
        printf("(%d more rows not shown)\n", p2->n - 32);
    printf("(main's own stack variable is at %p, in yet another stack)\n",
           (void *)p1->stack_addr);
    printf("\nresults: %s%s%s   stacks: %s%s%s\n", p2->results_ok ? ok : bad,
           p2->results_ok ? "OK (each result is its argument squared)"
                          : "WRONG",
           off, p2->stacks_distinct ? ok : bad,
           p2->stacks_distinct ? "OK (every thread has its own)"
                               : "SAME ADDRESS (unexpected)",
           off);
    printf("\nNotice: threads share globals and the heap (and can reach "
           "each other's "
           "stacks through pointers),\n        but each runs on a stack of "
           "its own.\n");
}

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: threads [-t N] [--json]\n"
    "\n"
    "A thread changes a global, a heap and a stack variable; main sees the\n"
    "changes (one address space).  Then N threads take an argument and hand\n"
    "back a result through pthread_join, each with its own stack.\n"
    "\n"
    "  -t, --threads N   threads in the second part, 1..64 (default 4)\n"
    "      --json        one JSON object on stdout: {\"before\":V0,\n"
    "                    \"thread_after\":V1,\"main_after\":V2 (the global),\n"
    "                    "
    "\"threads\":N,\"results_ok\":B,\"stacks_distinct\":B}\n"
    "  -h, --help        this text\n"
    "\n"
    "example: threads -t 8\n";

int main(int argc, char *argv[])
{
    kit_set_prog("threads");
    int nthreads = 4;
    bool json = false;
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': nthreads = (int)opt_int("--threads", optarg, 1, 64); break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    struct part1 p1;
    int stack_value = 300; /* on main's stack; the thread changes it */
    part1_shared_memory(&p1, &stack_value);
    struct part2 p2;
    part2_arguments_and_results(&p2, nthreads);
    if (json)
        print_json(&p1, &p2);
    else
        print_tables(&p1, &p2);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("writing to stdout");
    bool ok = p1.shared && p2.results_ok && p2.stacks_distinct;
    for (int i = 0; i < nthreads; i++)
        free(p2.res[i]);
    free(p2.res);
    free(p2.inputs);
    free(p1.heap_value);
    return ok ? 0 : 1;
}
