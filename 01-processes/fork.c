/*
 * fork.c - what fork() means, one small lesson at a time
 *
 * fork() makes a new process by copying the one that calls it.  Five
 * lessons show what "copying" means (no lesson named: all five, briefly):
 *
 *   basics  fork() returns twice: 0 in the child, the child's PID in the
 *           parent.  Who prints first is up to the scheduler.  The parent
 *           collects each child's end with waitpid() and decodes the status:
 *           an exit code, or the signal that killed it.
 *   memory  the child changes a global, a heap and a stack variable; the
 *           parent's copies do not change.  Same addresses, different
 *           values: two address spaces (copied lazily: copy-on-write).
 *   files   a descriptor opened before fork() is shared, and so is its file
 *           offset: the two processes' writes land one after the other.
 *           Opened separately after fork(), the same file gets two offsets
 *           and the writes land on top of each other.
 *   buffer  printf() before fork() without fflush(): stdio's buffer is
 *           memory too, so the child gets a copy of the unwritten line and
 *           it comes out twice when stdout is a pipe or a file.  --fix
 *           adds the fflush(stdout) that cures it.
 *   zombie  a child that has exited but has not been waited for stays in
 *           the process table in state Z (read from /proc on Linux, from
 *           `ps -o stat=` elsewhere) until the parent reaps it.
 *
 * What you will observe: two lines from one call; a waitpid() status such
 * as 0x2a00 decoded as "exited with code 42"; the child's writes invisible
 * to the parent; one file written through one shared offset; the line
 * printed twice by `./fork buffer | cat`; a Z that disappears after
 * waitpid().  Interrupted (Ctrl-C, SIGTERM), it kills and reaps its
 * children and removes its temporary file before dying of the signal.
 *
 * Usage:   fork [basics|memory|files|buffer|zombie] [options]
 * Example: ./fork memory
 *          ./fork buffer | cat          then   ./fork buffer --fix | cat
 * See also: spawn.c (what a process costs), 02-threads/threads.c (the
 *          memory experiment with threads), common/proc.h (the cleanup on
 *          signals), fork(2), waitpid(2),
 *          TLPI chapters 24-26, OSTEP chapter 5 (p1.c ... p4.c).
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "proc.h"
#include "table.h"
#include "term.h"
#include "timing.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum lesson {
    L_BASICS,
    L_MEMORY,
    L_FILES,
    L_BUFFER,
    L_ZOMBIE,
    L_COUNT,
    L_ALL = L_COUNT
};
static const char *const lesson_names[] = {"basics", "memory", "files",
                                           "buffer", "zombie", NULL};

/* ---- fork() and waitpid(), checked ------------------------------------- */

/*
 * Fork: fork(2) that dies on failure, as CS:APP's Fork() (csapp.c) does,
 * so that every lesson below reads "pid_t pid = Fork();".  It calls fork()
 * through kit_fork() (common/proc.h), which also records the child, with
 * Ctrl-C blocked between the fork and the record: if we are interrupted
 * (SIGINT, SIGTERM, SIGHUP, SIGPIPE: see main) the handler kills and reaps
 * every recorded child and removes the recorded temp file (kit_mkstemp),
 * then dies of the same signal; die() does the same through exit().  The
 * child starts with the default signal actions and an empty record: the
 * children and the file are the parent's to clean up, not its own.  The
 * caller flushes stdio first (fflush(NULL)) -- except the buffer lesson,
 * whose point is what happens when you do not.
 */
static pid_t Fork(void) { return kit_fork(); }

/* Waitpid: waitpid(pid, &status, 0) resuming after EINTR, dying on failure,
 * and forgetting the child Fork() recorded.  Returns the raw status. */
static int Waitpid(pid_t pid) { return kit_wait_child(pid); }

/* A child that should have ended with _exit(0) but did not: a bug here. */
static void kid_wait_ok(pid_t pid, const char *what)
{
    int st = Waitpid(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[64];
        die("the %s child (pid %ld) %s", what, (long)pid,
            kit_describe_status(st, how, sizeof how));
    }
}

/* Reporting helpers, defined after the lessons. */
static void heading(const char *lesson, const char *title);
static const char *verdict(bool ok, const char *bad);
static const char *signal_name(int sig);

/* ---- basics -------------------------------------------------------------- */

/*
 * How a child ended, in words, from the status waitpid() gave us.  The
 * status is one int that packs either an exit code or a signal number (and
 * more); the W* macros are the only portable way to take it apart.
 */
static void describe_status(int status, char *buf, size_t n)
{
#ifndef HANDOUT
    if (WIFEXITED(status))
        snprintf(buf, n, "exited with code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
                 signal_name(WTERMSIG(status)));
    else
        snprintf(buf, n, "neither exited nor killed (status 0x%x)",
                 (unsigned)status);
#else
    /* TODO(01.1): decode the status: if WIFEXITED(status), write "exited with
     * code N" with N = WEXITSTATUS(status); if WIFSIGNALED(status), write
     * "killed by signal N (NAME)" with N = WTERMSIG(status) and NAME from
     * signal_name(N). */
    snprintf(buf, n, "exited with code %d", status);
#endif
}

static void report_status(pid_t pid, int status, const char *expected)
{
    char got[96];
    describe_status(status, got, sizeof got);
    bool ok = strcmp(got, expected) == 0;
    printf("  waitpid(%ld): status 0x%04x -> %-30s expected: %-30s %s\n",
           (long)pid, (unsigned)status, got, expected, verdict(ok, "WRONG"));
}

static void lesson_basics(int code, int sig)
{
    heading("basics", "fork() returns twice");
    printf("before fork(): one process, pid %ld (its parent is %ld)\n",
           (long)getpid(), (long)getppid());
    fflush(NULL); /* or the child would inherit the line above, unwritten */
    pid_t pid = Fork();
    if (pid == 0) {
        printf(
            "  child:  fork() returned 0;    I am pid %ld, my parent is %ld\n",
            (long)getpid(), (long)getppid());
        fflush(stdout); /* _exit() does not flush stdio */
        _exit(code);
    }
    printf("  parent: fork() returned %ld; I am pid %ld, my parent is %ld\n",
           (long)pid, (long)getpid(), (long)getppid());
    fflush(stdout); /* out now, so the two lines appear in the order they ran */
    int first = Waitpid(pid);
    printf("(the parent and the child ran at the same time: which of those two "
           "lines came first is up to the scheduler)\n");

    /* A second child that would wait forever, killed by the parent.  It
     * blocks reading a pipe nobody writes: if the parent died, read() would
     * see end-of-file and the child would leave instead of lingering. */
    int p[2];
    if (pipe(p) != 0)
        die_errno("pipe");
    fflush(NULL);
    pid_t victim = Fork();
    if (victim == 0) {
        /* Close our copy of the write end, or read() could never see EOF. */
        kit_child_close(p[1]);
        char c;
        while (read(p[0], &c, 1) < 0 && errno == EINTR) {
            /* interrupted: read again */
        }
        _exit(0);
    }
    kit_xclose(p[0]); /* the parent never reads; it holds the write end open */
    if (kill(victim, sig) != 0)
        die_errno("kill(%ld, %s)", (long)victim, signal_name(sig));
    int second = Waitpid(victim);
    kit_xclose(p[1]);

    printf(
        "\nthe parent collects each child's end with waitpid() and decodes the "
        "status:\n");
    printf("  child %ld called _exit(%d); child %ld got kill(%ld, %s) from the "
           "parent\n",
           (long)pid, code, (long)victim, (long)victim, signal_name(sig));
    char want[96];
    snprintf(want, sizeof want, "exited with code %d", code);
    report_status(pid, first, want);
    snprintf(want, sizeof want, "killed by signal %d (%s)", sig,
             signal_name(sig));
    report_status(victim, second, want);
    printf(
        "Notice: the raw status is not the exit code.  WIFEXITED/WEXITSTATUS "
        "and WIFSIGNALED/WTERMSIG take it apart.\n");
}

/* ---- memory -------------------------------------------------------------- */

static long global_value = 100; /* in the data segment */

/* What the child saw, sent to the parent through a pipe: the one way to
 * learn it, since the child's memory is not the parent's. */
struct mem_view {
    long global, heap, stack;               /* values */
    uintptr_t global_at, heap_at, stack_at; /* addresses */
};

/* What this process sees right now, and where. */
static struct mem_view look(const long *heap, const long *stack)
{
    return (struct mem_view){
        .global = global_value,
        .heap = *heap,
        .stack = *stack,
        .global_at = (uintptr_t)&global_value,
        .heap_at = (uintptr_t)heap,
        .stack_at = (uintptr_t)stack,
    };
}

static void lesson_memory(bool json)
{
    long *heap = malloc(sizeof *heap);
    if (heap == NULL)
        die_errno("malloc");
    long stack = 300;
    global_value = 100;
    *heap = 200;
    const struct mem_view before = look(heap, &stack);
    int p[2];
    if (pipe(p) != 0)
        die_errno("pipe");
    fflush(NULL);
    pid_t pid = Fork();
    if (pid == 0) {
        kit_child_close(p[0]); /* the child only writes */
        global_value += 1;
        *heap += 1;
        stack += 1;
        const struct mem_view v = look(heap, &stack);
        if (!kit_write_all(p[1], &v, sizeof v))
            _exit(1); /* the parent sees no report */
        _exit(0);
    }
    /* The parent only reads.  Closing its write end lets read() see EOF if
     * the child dies before writing. */
    kit_xclose(p[1]);
    struct mem_view child;
    ssize_t r = kit_read_all(p[0], &child, sizeof child);
    if (r < 0)
        die_errno("read");
    bool got = r == (ssize_t)sizeof child; /* less: the child died first */
    kit_xclose(p[0]);
    /* Reaped: from here on, the child's writes are certainly all done. */
    kid_wait_ok(pid, "memory");
    if (!got)
        die("the child sent no report");
    const struct mem_view after = look(heap, &stack);

    if (json) {
        json_w j;
        json_start(&j, stdout);
        json_obj(&j, NULL);
        json_int(&j, "before", before.global);
        json_int(&j, "child_after", child.global);
        json_int(&j, "parent_after", after.global);
        json_end(&j);
        json_finish(&j);
        free(heap);
        return;
    }

    heading("memory", "the child changes its copy; the parent's stays");
    printf(
        "the child adds 1 to each variable, reports through a pipe and exits; "
        "then the parent looks at its own\n\n");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "variable", TBL_LEFT);
    tbl_col(&t, "address (same in both)", TBL_LEFT);
    tbl_col(&t, "before", TBL_RIGHT);
    tbl_col(&t, "child after", TBL_RIGHT);
    tbl_col(&t, "parent after", TBL_RIGHT);
    tbl_col(&t, "verdict", TBL_LEFT);
    const struct {
        const char *name;
        long b, c, a;
        uintptr_t at, child_at;
    } rows[] = {
        {"global", before.global, child.global, after.global, before.global_at,
         child.global_at},
        {"heap", before.heap, child.heap, after.heap, before.heap_at,
         child.heap_at},
        {"stack", before.stack, child.stack, after.stack, before.stack_at,
         child.stack_at},
    };
    bool all_ok = true;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool same_at = rows[i].at == rows[i].child_at;
        bool ok =
            rows[i].c == rows[i].b + 1 && rows[i].a == rows[i].b && same_at;
        all_ok = all_ok && ok;
        tbl_cell(&t, "%s", rows[i].name);
        tbl_cell(&t, "%#jx%s", (uintmax_t)rows[i].at,
                 same_at ? "" : " (child: differs)");
        tbl_cell(&t, "%ld", rows[i].b);
        tbl_cell(&t, "%ld", rows[i].c);
        tbl_cell(&t, "%ld", rows[i].a);
        tbl_cell(&t, "%s", ok ? "OK: parent's copy unchanged" : "UNEXPECTED");
    }
    tbl_print(&t, stdout);
    printf("the parent's three values after the child changed its own: %s\n",
           verdict(all_ok, "CHANGED: see the table"));
    printf(
        "Notice: same addresses, different values.  Each process has its own "
        "address space; fork() copied it (lazily, page by page on the first "
        "write: copy-on-write).\n");
    free(heap);
}

/* ---- files --------------------------------------------------------------- */

enum { FILE_LINES = 3 };

/* Same length for both writers, so overlapping writes overwrite whole lines. */
static void write_lines(int fd, const char *who)
{
    for (int i = 1; i <= FILE_LINES; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "%-6s line %d\n", who, i);
        if (!kit_write_all(fd, line, (size_t)n))
            die_errno("write");
        /* Give the other process a turn, so that the lines interleave. */
        kit_sleep_ms(2);
    }
}

static char tmp_path[KIT_TEMP_PATH_MAX]; /* the files lesson's temp file */

/* Print the temp file, indented; return its number of lines. */
static int show_file(void)
{
    int fd = open(tmp_path, O_RDONLY);
    if (fd < 0)
        die_errno("open %s", tmp_path);
    char buf[1024];
    ssize_t len = kit_read_all(fd, buf, sizeof buf - 1); /* up to EOF */
    if (len < 0)
        die_errno("read %s", tmp_path);
    kit_xclose(fd);
    buf[len] = '\0';
    int lines = 0;
    for (char *s = buf, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
        printf("    | %.*s\n", (int)(nl - s), s);
        lines++;
    }
    return lines;
}

static void lesson_files(void)
{
    heading("files",
            "a descriptor opened before fork() is shared, offset included");
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int n = snprintf(tmp_path, sizeof tmp_path, "%s/fork-files.XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof tmp_path)
        die("TMPDIR is too long");
    /* Created and recorded as one step, for the cleanup (see above). */
    int fd = kit_mkstemp(tmp_path);

    printf(
        "opened a temp file as fd %d, then fork(): parent and child each write "
        "%d lines through fd %d\n",
        fd, FILE_LINES, fd);
    fflush(NULL);
    pid_t pid = Fork();
    if (pid == 0) {
        write_lines(fd, "child");
        _exit(0);
    }
    write_lines(fd, "parent");
    kid_wait_ok(pid, "files");
    printf("  the file now:\n");
    int lines = show_file();
    printf("  expected %d lines, got %d: %s\n", 2 * FILE_LINES, lines,
           lines == 2 * FILE_LINES
               ? verdict(true, "")
               : verdict(false, "UNEXPECTED: the offset should be shared"));
    printf(
        "  (one open file description, one offset: each write() starts where "
        "the last one, from either process, ended)\n");

    /* The contrast: the same file opened twice, once by each process. */
    if (ftruncate(fd, 0) != 0)
        die_errno("ftruncate %s", tmp_path);
    printf("\nfor contrast, each process opens the same file itself, after "
           "fork(), "
           "and writes %d lines\n",
           FILE_LINES);
    fflush(NULL);
    pid = Fork();
    if (pid == 0) {
        int own = open(tmp_path, O_WRONLY);
        if (own < 0)
            die_errno("open %s", tmp_path);
        write_lines(own, "child");
        kit_child_close(own);
        _exit(0);
    }
    int own = open(tmp_path, O_WRONLY);
    if (own < 0)
        die_errno("open %s", tmp_path);
    write_lines(own, "parent");
    kit_xclose(own);
    kid_wait_ok(pid, "files");
    printf("  the file now:\n");
    lines = show_file();
    printf("  expected %d lines (%d writes lost), got %d: %s\n", FILE_LINES,
           FILE_LINES, lines,
           lines == FILE_LINES ? verdict(true, "")
                               : verdict(false, "UNEXPECTED"));
    printf(
        "  (two open file descriptions, two offsets, both starting at 0: the "
        "writes land on top of each other)\n");

    kit_xclose(fd);
    kit_unlink_temp(tmp_path); /* removed and forgotten */
    printf(
        "Notice: open files belong to the process, and fork() gives the child "
        "the parent's: same file, same offset.\n");
}

/* ---- buffer -------------------------------------------------------------- */

static void lesson_buffer(bool fix)
{
    heading("buffer", fix ? "fflush() before fork(): the line comes out once"
                          : "printf() before fork() without fflush()");
    bool tty = isatty(STDOUT_FILENO) == 1;
    printf("stdout is %s\n",
           tty ? "a terminal: line-buffered, each '\\n' writes the line"
               : "a pipe or a file: fully buffered, written when the "
                 "buffer fills, on fflush() or at exit()");
    printf("%s\n",
           fix ? "the code: printf(line); fflush(stdout); fork();   <- the fix"
               : "the code: printf(line); fork();   <- the line may still sit "
                 "in the buffer, and fork() copies the buffer");
    fflush(NULL); /* everything above is out: only the next line is at stake */

    printf("-> this line was printed once, before fork(), by pid %ld\n",
           (long)getpid());
    if (fix)
        fflush(stdout); /* THE FIX: empty the buffer before fork() copies it */
    /* No fflush(NULL) before this fork, on purpose: that is the pitfall. */
    pid_t pid = Fork();
    if (pid == 0) {
        /* exit(), not _exit(), on purpose: like returning from main(), it
         * flushes this process's stdio buffers -- including its copy of the
         * parent's unwritten line.  (_exit() would discard that copy, which
         * is why the kit's children end with _exit().) */
        exit(0);
    }
    kid_wait_ok(pid, "buffer");
    if (tty)
        printf(
            "expected here: the '->' line once: on a terminal, '\\n' wrote it "
            "before fork().\nThe pitfall needs a pipe:  ./fork buffer | cat\n");
    else if (!fix)
        printf(
            "expected here: the '->' line twice (before or after this text): "
            "the child's exit() wrote its copy of the parent's buffer.\n"
            "The fix: fflush(stdout) before fork() (./fork buffer --fix), and "
            "_exit() in children.\n");
    else
        printf("expected here: the '->' line once: fflush() emptied the buffer "
               "before fork() copied it.\n");
    printf(
        "Notice: stdio's buffer is ordinary memory, so fork() copies it like "
        "any other.\n");
}

/* ---- zombie -------------------------------------------------------------- */

/*
 * A process's state letter: R running, S sleeping, Z zombie, ...; '-' when
 * there is no such process any more.  Linux keeps it in /proc/PID/stat
 * ("PID (name) STATE ..."); other systems have no /proc, so ask ps(1).
 */
static char proc_state(pid_t pid)
{
#ifdef __linux__
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT)
            return '-';
        die_errno("open %s", path);
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
        /* interrupted: read again */
    }
    close(fd);
    if (n <= 0)
        return '-'; /* reaped between open() and read() */
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* the name may contain ')' too */
    if (paren == NULL || paren[1] != ' ')
        return '?';
    return paren[2];
#else
    char cmd[64], out[16] = "";
    snprintf(cmd, sizeof cmd, "ps -o stat= -p %ld 2>/dev/null", (long)pid);
    fflush(NULL); /* popen() forks too */
    FILE *ps = popen(cmd, "r");
    if (ps == NULL)
        die_errno("popen %s", cmd);
    if (fgets(out, sizeof out, ps) == NULL)
        out[0] = '\0';
    pclose(ps);
    char *s = out;
    while (*s == ' ')
        s++;
    return *s && *s != '\n' ? *s : '-';
#endif
}

static const char *state_words(char s)
{
    switch (s) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "waiting for the disk";
    case 'Z': return "zombie: exited, not yet reaped";
    case 'T': return "stopped";
    case '-': return "no such process: reaped, gone";
    default: return "other";
    }
}

static void lesson_zombie(double seconds)
{
    heading("zombie", "exited but not reaped: state Z");
    printf("(the state is read from %s)\n",
#ifdef __linux__
           "/proc/PID/stat"
#else
           "`ps -o stat= -p PID`"
#endif
    );
    fflush(NULL);
    double t0 = kit_now();
    pid_t pid = Fork();
    if (pid == 0)
        _exit(0); /* the child ends at once */
    printf("forked child %ld, which exits at once; the parent does not wait "
           "for it "
           "for %.1f s\n",
           (long)pid, seconds);
    /* Until the child has run and exited, it is R or S: look until it is Z,
     * or give up after 5 s on a very busy machine. */
    char st;
    while ((st = proc_state(pid)) != 'Z' && kit_now() - t0 < 5.0)
        kit_sleep_ms(5);
    double elapsed = kit_now() - t0;
    printf("  state of %ld after %.3f s: %c (%s)   expected: Z   %s\n",
           (long)pid, elapsed, st, state_words(st),
           verdict(st == 'Z', "NOT A ZOMBIE YET"));
    if (seconds > elapsed) {
        printf("  leaving it so for %.1f s more: try  ps -o pid,stat,comm -p "
               "%ld\n",
               seconds - elapsed, (long)pid);
        fflush(stdout);
        kit_sleep_ms((seconds - elapsed) * 1000.0);
    }
    int status = Waitpid(pid);
    st = proc_state(pid);
    char how[64];
    printf("  after waitpid() (%s): %c (%s)   expected: gone   %s\n",
           kit_describe_status(status, how, sizeof how), st, state_words(st),
           verdict(st == '-', "STILL THERE"));
    printf(
        "Notice: a zombie is only an entry in the process table, kept so that "
        "the parent can read the exit status.  waitpid() removes it; if the "
        "parent dies first, init (or a subreaper) adopts and reaps it.\n");
}

/* ---- reporting ----------------------------------------------------------- */

static void heading(const char *lesson, const char *title)
{
    printf("\n%s== %s: %s ==%s\n", kit_color(stdout, "bold"), lesson, title,
           kit_color(stdout, "reset"));
}

/* "OK" in green, anything else in red (on a terminal). */
static const char *verdict(bool ok, const char *bad)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s%s%s", kit_color(stdout, ok ? "green" : "red"),
             ok ? "OK" : bad, kit_color(stdout, "reset"));
    return buf;
}

/* "SIGKILL" for SIGKILL: the kit's one table of names (common/proc.h), under
 * the name exercise 01.1 uses. */
static const char *signal_name(int sig) { return kit_signal_name(sig); }

/* ---- usage text and main ------------------------------------------------- */

static const char usage[] =
    "usage: fork [LESSON] [options]     (no LESSON: all five, briefly)\n"
    "\n"
    "lessons:\n"
    "  basics   fork() returns twice; PID/PPID; waitpid() status decoded\n"
    "  memory   the child's changes do not reach the parent\n"
    "  files    a descriptor opened before fork() shares its offset\n"
    "  buffer   printf() before fork() without fflush() prints twice\n"
    "  zombie   an exited, unreaped child in state Z, then reaped\n"
    "\n"
    "options:\n"
    "      --code N        basics: the first child's exit code, 0..255 (42)\n"
    "      --signal SIG    basics: how the second child is killed:\n"
    "                      KILL|TERM|INT|HUP|USR1 (KILL)\n"
    "      --json          memory: one JSON object on stdout:\n"
    "                      "
    "{\"before\":V0,\"child_after\":V1,\"parent_after\":V2}\n"
    "      --fix           buffer: fflush(stdout) before fork()\n"
    "      --seconds S     zombie: how long to leave it unreaped, 0..60\n"
    "                      (1; 0.2 when all lessons run)\n"
    "  -h, --help          this help\n"
    "\n"
    "examples:\n"
    "  ./fork memory\n"
    "  ./fork buffer | cat              the line comes out twice\n"
    "  ./fork buffer --fix | cat        once\n"
    "  ./fork basics --code 7 --signal TERM\n"
    "  ./fork zombie --seconds 10       and meanwhile, in another terminal:\n"
    "                                   ps -o pid,stat,comm -p <the child's "
    "PID>\n";

/* The signals the basics lesson can kill its second child with. */
static const char *const sig_names[] = {"KILL", "TERM", "INT",
                                        "HUP",  "USR1", NULL};
static const int sig_numbers[] = {SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGUSR1};

static enum lesson parse_lesson(const char *s)
{
    for (int i = 0; lesson_names[i]; i++)
        if (strcmp(s, lesson_names[i]) == 0)
            return (enum lesson)i;
    usage_error(
        "unknown lesson '%s' (expected basics, memory, files, buffer or "
        "zombie)",
        s);
}

/* An option that belongs to one lesson, given with another one. */
static void only_for(const char *opt, enum lesson want, enum lesson lesson,
                     bool ok_with_all)
{
    if (lesson != want && !(lesson == L_ALL && ok_with_all))
        usage_error("%s: only for the '%s' lesson", opt, lesson_names[want]);
}

int main(int argc, char *argv[])
{
    kit_set_prog("fork");
    enum lesson lesson = L_ALL;
    bool lesson_given = false;
    /* The lesson comes first (`fork memory --json`): take it before getopt,
     * which on BSD systems stops at the first word that is not an option. */
    if (argc > 1 && argv[1][0] != '-') {
        lesson = parse_lesson(argv[1]);
        lesson_given = true;
        argv[1] = argv[0];
        argv++;
        argc--;
    }

    enum { OPT_FIX = 256, OPT_JSON, OPT_CODE, OPT_SIGNAL, OPT_SECONDS };
    /* Long only: the kit gives -c, -k and -s one meaning each (consumers,
     * a queue's capacity, a size), and these are the basics and zombie
     * lessons' own knobs. */
    static const struct option longopts[] = {
        {"code", required_argument, NULL, OPT_CODE},
        {"signal", required_argument, NULL, OPT_SIGNAL},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"fix", no_argument, NULL, OPT_FIX},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int code = 42, sig = SIGKILL;
    double seconds = -1; /* not given */
    bool fix = false, json = false, code_given = false, sig_given = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CODE:
            code = (int)opt_int("--code", optarg, 0, 255);
            code_given = true;
            break;
        case OPT_SIGNAL:
            sig = sig_numbers[opt_choice("--signal", optarg, sig_names)];
            sig_given = true;
            break;
        case OPT_SECONDS:
            seconds = opt_double("--seconds", optarg, 0, 60);
            break;
        case OPT_FIX: fix = true; break;
        case OPT_JSON: json = true; break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    if (!lesson_given && optind < argc) /* `fork --fix buffer` works too */
        lesson = parse_lesson(argv[optind++]);
    kit_no_operands(argc, argv);
    if (code_given)
        only_for("--code", L_BASICS, lesson, true);
    if (sig_given)
        only_for("--signal", L_BASICS, lesson, true);
    if (fix)
        only_for("--fix", L_BUFFER, lesson, true);
    if (json) /* one JSON object: one lesson */
        only_for("--json", L_MEMORY, lesson, false);
    if (seconds >= 0)
        only_for("--seconds", L_ZOMBIE, lesson, true);
    else
        seconds = lesson == L_ALL ? 0.2 : 1.0;

    /* Interrupted -- Ctrl-C, kill, a closed terminal, or `| head` closing
     * the pipe -- kill and reap the children, remove the temp file, then die
     * of that signal (kit_cleanup_on; die() cleans up the same way). */
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    kit_cleanup_on(stops, sizeof stops / sizeof stops[0]);
    if (lesson == L_ALL || lesson == L_BASICS)
        lesson_basics(code, sig);
    if (lesson == L_ALL || lesson == L_MEMORY)
        lesson_memory(json);
    if (lesson == L_ALL || lesson == L_FILES)
        lesson_files();
    if (lesson == L_ALL || lesson == L_BUFFER)
        lesson_buffer(fix);
    if (lesson == L_ALL || lesson == L_ZOMBIE)
        lesson_zombie(seconds);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("writing to stdout");
    return 0;
}
