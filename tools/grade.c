/*
 * grade.c - score a Criterion run: the engine behind `make grade`.
 *
 * Reads Criterion's own machine report in TAP form (`kit-tests --tap=FILE`),
 * never its human text, and the EXERCISE(...) declarations in the test
 * sources, which put each exercise's points next to the tests that earn them:
 *
 *     EXERCISE(ex03_mutex, "03", "the mutex fix of the race", 5);
 *
 * Rules, so that a crash, a hang or a missing test can only cost points:
 *   - an exercise earns its points when its suite ran at least one test and
 *     every test that ran passed (a crash or a timeout is "not ok": 0 points);
 *     a declared exercise absent from the report scores 0;
 *   - every other suite is a behaviour check worth 1 point, grouped per lab
 *     (suites named labNN_*; others count under "kit"); a suite whose tests
 *     were all skipped (filtered out) is not scored;
 *   - suites declared in an instructor-only file (-i FILE: the tests of the
 *     classroom tooling, which the handout leaves out) are reported apart and
 *     never scored, so the kit and the handout have the same maximum.
 *
 * Prints a table (lab, item, points earned / possible) and the total; under
 * each NOT YET or FAILURES row, every failing test with its first assertion
 * message (file:line: text), so a grader sees what failed and why without
 * opening the report.  Writes the same as JSON (exit 1, after the table,
 * when there was no report at all: the suite did not build or run):
 *   {"total":X,"max":Y,"exercises":[{"lab":"03","name":"...","suite":"...",
 *    "points":P,"max":M,"passed":false,"failed":[{"test":"ex03_mutex::t",
 *    "message":"test_03.c:9: ..."}]}, ...],"behaviour":[{"lab":"03",
 *    "points":P,"max":M,"failed":[...]}, ...],"instructor_only":[{"suite":
 *    "classroom_demo","passed":true,"failed":[...]}, ...]}
 *
 * Why TAP and not Criterion's --json: Criterion 2.4 writes failure messages
 * into its JSON without escaping their quotes, so the JSON report is invalid
 * exactly when a test fails.  TAP is one line per test, failures followed by
 * an indented block that lists the failed assertions LAST FIRST:
 *     ok - lab03_race::mutex_mode_is_exact (0.12s)
 *     not ok - ex03_mutex::is_exact  (0.01s)
 *       ---
 *       assertions: 2
 *       failures:
 *       - test_03.c:40: |+
 *           Assertion failed: the second one
 *       - test_03.c:31: |+
 *           Assertion failed: the first one, which is the one we show
 *       ...
 *     not ok - ex03_mutex::hangs timed out (60.00s)
 *     not ok - ex03_mutex::dies unexpected signal after test_03.c:52
 *     ok - lab03_race::racy_under_tsan  # SKIP not a TSan build
 *
 * Usage: grade [-r REPORT] [-o GRADE_JSON] [-i INSTRUCTOR_TESTS]... TEST_SOURCE...
 */
#include "cli.h"
#include "err.h"
#include "json.h"
#include "table.h"
#include "xpthread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 128
#define NAME_LEN 96

typedef struct {
    char suite[NAME_LEN]; /* Criterion suite name, e.g. ex03_mutex */
    char lab[8];          /* "03" */
    char title[NAME_LEN]; /* what the student writes */
    int max;              /* points declared */
    int points;           /* earned: max or 0 */
} exercise;

typedef struct {
    char lab[8]; /* "03", or "kit" for suites outside any lab */
    int max;     /* suites that ran */
    int points;  /* suites whose every test that ran passed */
} behaviour;

static exercise ex[MAX_ITEMS];
static int nex;
static behaviour beh[MAX_ITEMS];
static int nbeh;

static const char usage[] =
    "Usage: grade [-r REPORT] [-o GRADE_JSON] [-i INSTRUCTOR_TESTS]... "
    "TEST_SOURCE...\n"
    "Score Criterion's TAP report against the EXERCISE() declarations.\n"
    "\n"
    "  -r, --report FILE   Criterion's TAP report (kit-tests --tap=FILE);\n"
    "                      default build/test-report.tap\n"
    "  -o, --output FILE   where to write the JSON score; default grade.json\n"
    "  -i, --instructor-only FILE\n"
    "                      suites declared in FILE are reported apart, not\n"
    "                      scored (the handout leaves FILE out)\n"
    "  -h, --help          this text\n"
    "\n"
    "Example: grade -r build/test-report.tap -o grade.json tests/test_*.c\n";

/* Copy the next "quoted" string after *p into out; advance *p past it. */
static int take_string(const char **p, char *out, size_t n)
{
    const char *q = strchr(*p, '"');
    if (!q)
        return -1;
    const char *e = strchr(q + 1, '"');
    if (!e)
        return -1;
    snprintf(out, n, "%.*s", (int)(e - q - 1), q + 1);
    *p = e + 1;
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = xmalloc(cap + 1);
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            buf = xrealloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Declarations "EXERCISE(suite, "lab", "title", points);" starting a line;
 * clang-format may wrap them over several lines. */
static void read_declarations(const char *path)
{
    char *text = slurp(path);
    if (!text)
        die_errno("cannot read %s", path);
    for (char *p = text; (p = strstr(p, "EXERCISE(")) != NULL; p += 9) {
        if (p != text && p[-1] != '\n')
            continue; /* the macro's definition or a mention in a comment */
        char *end = strstr(p, ");");
        if (!end)
            die("%s: unterminated EXERCISE declaration", path);
        if (nex == MAX_ITEMS)
            die("%s: more than %d exercises", path, MAX_ITEMS);
        exercise *e = &ex[nex];
        const char *q = p + 9;
        size_t len = strcspn(q, ", \n");
        snprintf(e->suite, sizeof e->suite, "%.*s", (int)len, q);
        q += len;
        long long pts;
        const char *comma;
        if (take_string(&q, e->lab, sizeof e->lab) != 0 ||
            take_string(&q, e->title, sizeof e->title) != 0 || q > end ||
            (comma = strchr(q, ',')) == NULL || comma > end)
            die("%s: cannot read the declaration: %.*s", path,
                (int)(end - p + 2), p);
        char num[32];
        snprintf(num, sizeof num, "%.*s", (int)(end - comma - 1), comma + 1);
        char *s = num;
        while (*s == ' ' || *s == '\n' || *s == '\t')
            s++;
        if (kit_parse_ll(s, 0, 1000, &pts) != KIT_PARSE_OK)
            die("%s: %s: points must be 0..1000, got '%s'", path, e->suite, s);
        e->max = (int)pts;
        nex++;
    }
    free(text);
}

static behaviour *behaviour_of(const char *suite)
{
    char lab[8] = "kit";
    if (strncmp(suite, "lab", 3) == 0 && suite[3] && suite[4] &&
        suite[5] == '_')
        snprintf(lab, sizeof lab, "%.2s", suite + 3);
    for (int i = 0; i < nbeh; i++)
        if (strcmp(beh[i].lab, lab) == 0)
            return &beh[i];
    if (nbeh == MAX_ITEMS)
        die("more than %d labs", MAX_ITEMS);
    snprintf(beh[nbeh].lab, sizeof beh[nbeh].lab, "%s", lab);
    return &beh[nbeh++];
}

static int cmp_behaviour(const void *a, const void *b)
{
    return strcmp(((const behaviour *)a)->lab, ((const behaviour *)b)->lab);
}

/* One suite's tally while reading the report. */
typedef struct {
    char name[NAME_LEN];
    int ran;    /* tests that ran (not skipped) */
    int passed; /* of those, how many passed */
} suite_tally;

static suite_tally tally[4 * MAX_ITEMS];
static int ntally;

static suite_tally *tally_of(const char *name, size_t len)
{
    for (int i = 0; i < ntally; i++)
        if (strlen(tally[i].name) == len &&
            strncmp(tally[i].name, name, len) == 0)
            return &tally[i];
    if (ntally == (int)(sizeof tally / sizeof tally[0]))
        die("more than %d suites in the report", ntally);
    suite_tally *t = &tally[ntally++];
    snprintf(t->name, sizeof t->name, "%.*s", (int)len, name);
    return t;
}

/* A test that did not pass, and why: its first failed assertion
 * ("test_03.c:31: text"), or how it died ("timed out (60.00s)"). */
typedef struct {
    char suite[NAME_LEN];
    char test[2 * NAME_LEN]; /* suite::test, as the report names it */
    char *message;           /* malloc'd, may hold several lines */
} failure;

#define MAX_FAILURES 1024
static failure fails[MAX_FAILURES];
static int nfails;

/* Suites declared in instructor-only test files (-i): not scored. */
static char instructor[MAX_ITEMS][NAME_LEN];
static int ninstructor;

static bool is_instructor_only(const char *suite)
{
    for (int i = 0; i < ninstructor; i++)
        if (strcmp(instructor[i], suite) == 0)
            return true;
    return false;
}

/* "TestSuite(name, ...)" starting a line of an instructor-only file. */
static void read_instructor_suites(const char *path)
{
    char *text = slurp(path);
    if (!text)
        die_errno("cannot read %s", path);
    for (char *p = text; (p = strstr(p, "TestSuite(")) != NULL; p += 10) {
        if (p != text && p[-1] != '\n')
            continue;
        if (ninstructor == MAX_ITEMS)
            die("%s: more than %d suites", path, MAX_ITEMS);
        size_t len = strcspn(p + 10, ", )\n");
        snprintf(instructor[ninstructor++], NAME_LEN, "%.*s", (int)len, p + 10);
    }
    free(text);
}

/* *s = *s + sep + text (a fresh string when *s is NULL). */
static void append(char **s, const char *sep, const char *text)
{
    size_t old = *s ? strlen(*s) : 0;
    size_t add = (old ? strlen(sep) : 0) + strlen(text);
    char *n = xrealloc(*s, old + add + 1);
    snprintf(n + old, add + 1, "%s%s", old ? sep : "", text);
    *s = n;
}

/* Returns false if the text is not a Criterion TAP report. */
static bool score(char *doc)
{
    if (strncmp(doc, "TAP version", 11) != 0)
        return false;
    failure *cur = NULL; /* the failed test whose block we are reading */
    bool in_assertion = false, first_text_line = false;
    char *save = NULL;
    for (char *line = strtok_r(doc, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        bool ok;
        if (strncmp(line, "ok - ", 5) == 0) {
            ok = true;
        } else if (strncmp(line, "not ok - ", 9) == 0) {
            ok = false;
        } else {
            /* The block after a failure: "  - file:line: |+" starts an
             * assertion, its text is indented six spaces.  Criterion lists
             * the assertions last first, so the last one read is the first
             * that failed: each new one replaces the message. */
            if (!cur)
                continue;
            if (strncmp(line, "  - ", 4) == 0) {
                char *bar = strstr(line, " |+");
                if (bar)
                    *bar = '\0';
                free(cur->message);
                cur->message = NULL;
                append(&cur->message, "", line + 4);
                in_assertion = first_text_line = true;
            } else if (in_assertion && strncmp(line, "      ", 6) == 0) {
                const char *text = line + 6;
                if (first_text_line &&
                    strncmp(text, "Assertion failed: ", 18) == 0)
                    text += 18;
                append(&cur->message, first_text_line ? " " : "\n", text);
                first_text_line = false;
            } else if (strncmp(line, "  ...", 5) == 0) {
                cur = NULL;
            } else {
                in_assertion = false;
            }
            continue;
        }
        cur = NULL;
        in_assertion = false;
        const char *name = line + (ok ? 5 : 9);
        const char *sep = strstr(name, "::");
        if (!sep)
            continue;
        suite_tally *t = tally_of(name, (size_t)(sep - name));
        if (strstr(sep, "# SKIP"))
            continue;
        t->ran++;
        t->passed += ok;
        if (ok || nfails == MAX_FAILURES)
            continue;
        cur = &fails[nfails++];
        size_t len = strcspn(name, " ");
        snprintf(cur->suite, sizeof cur->suite, "%s", t->name);
        snprintf(cur->test, sizeof cur->test, "%.*s", (int)len, name);
        /* "timed out (60.00s)" or "unexpected signal after x.c:3"; a plain
         * failure has only its time, "(0.01s)", and a block follows. */
        const char *rest = name + len;
        while (*rest == ' ')
            rest++;
        cur->message = NULL;
        append(&cur->message, "",
               *rest && *rest != '(' ? rest : "failed (no message)");
    }
    /* An exercise with no test in the report scores 0: say so where its
     * failures would be. */
    for (int i = 0; i < nex && nfails < MAX_FAILURES; i++) {
        suite_tally *t = tally_of(ex[i].suite, strlen(ex[i].suite));
        if (t->ran > 0)
            continue;
        failure *f = &fails[nfails++];
        snprintf(f->suite, sizeof f->suite, "%s", ex[i].suite);
        snprintf(f->test, sizeof f->test, "%s::*", ex[i].suite);
        f->message = NULL;
        append(&f->message, "",
               "no test of this exercise ran (filtered out, skipped, or not "
               "in this build): 0 points");
    }
    for (int s = 0; s < ntally; s++) {
        bool all_passed = tally[s].ran > 0 && tally[s].passed == tally[s].ran;
        exercise *e = NULL;
        for (int i = 0; i < nex; i++)
            if (strcmp(ex[i].suite, tally[s].name) == 0)
                e = &ex[i];
        if (e) {
            e->points = all_passed ? e->max : 0;
        } else if (tally[s].ran > 0 && !is_instructor_only(tally[s].name)) {
            behaviour *b = behaviour_of(tally[s].name);
            b->max++;
            b->points += all_passed;
        }
    }
    return true;
}

static bool is_exercise(const char *suite)
{
    for (int i = 0; i < nex; i++)
        if (strcmp(ex[i].suite, suite) == 0)
            return true;
    return false;
}

/* Which failures belong to a row: an exercise's suite; a lab's behaviour
 * suites (lab "kit": every suite outside a lab); one instructor-only suite. */
static bool in_exercise(const failure *f, const void *row)
{
    return strcmp(f->suite, ((const exercise *)row)->suite) == 0;
}

static bool in_behaviour(const failure *f, const void *row)
{
    return !is_exercise(f->suite) && !is_instructor_only(f->suite) &&
           behaviour_of(f->suite) == row;
}

static bool in_suite(const failure *f, const void *row)
{
    return strcmp(f->suite, row) == 0;
}

/* Columns of n bytes of UTF-8 (the messages quote Russian, dashes...). */
static size_t columns(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* The message's first line, wrapped at spaces into at most MESSAGE_LINES
 * lines of MESSAGE_COLS columns after the indent; "..." when cut.  The whole
 * message is in grade.json. */
#define SHOWN_PER_ROW 6
#define MESSAGE_INDENT "         "
#define MESSAGE_COLS (100 - 9)
#define MESSAGE_LINES 3
static void print_message(const char *m)
{
    size_t len = strcspn(m, "\n");
    bool more_lines = m[len] != '\0';
    for (int line = 0; len > 0; line++) {
        size_t take = len; /* bytes that fit, ending at a space if cut */
        if (columns(m, take) > MESSAGE_COLS) {
            size_t fit = 0, space = 0;
            while (fit < len && columns(m, fit + 1) <= MESSAGE_COLS - 4) {
                fit++;
                while (fit < len && ((unsigned char)m[fit] & 0xC0) == 0x80)
                    fit++; /* a character's last bytes add no column */
                if (m[fit] == ' ')
                    space = fit;
            }
            take = space ? space : fit;
        }
        bool last = line == MESSAGE_LINES - 1;
        bool cut = take < len ? last : more_lines;
        printf(MESSAGE_INDENT "%.*s%s\n", (int)take, m, cut ? " ..." : "");
        if (last)
            break;
        m += take;
        len -= take;
        while (len > 0 && *m == ' ') {
            m++;
            len--;
        }
    }
}

/* Under a row: each failing test, then its first failed assertion. */
static void print_failures(const void *row,
                           bool (*belongs)(const failure *, const void *))
{
    int shown = 0, more = 0;
    for (int i = 0; i < nfails; i++) {
        if (!belongs(&fails[i], row))
            continue;
        if (shown == SHOWN_PER_ROW) {
            more++;
            continue;
        }
        shown++;
        printf("       %s\n", fails[i].test);
        print_message(fails[i].message);
    }
    if (more)
        printf("       ... and %d more failing test%s (grade.json)\n", more,
               more == 1 ? "" : "s");
}

static void json_failures(json_w *j, const void *row,
                          bool (*belongs)(const failure *, const void *))
{
    json_arr(j, "failed");
    for (int i = 0; i < nfails; i++) {
        if (!belongs(&fails[i], row))
            continue;
        json_obj(j, NULL);
        json_str(j, "test", fails[i].test);
        json_str(j, "message", fails[i].message);
        json_end(j);
    }
    json_end(j);
}

int main(int argc, char *argv[])
{
    kit_set_prog("grade");
    const char *report = "build/test-report.tap";
    const char *output = "grade.json";
    static const struct option longopts[] = {
        {"report", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"instructor-only", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":r:o:i:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': report = optarg; break;
        case 'o': output = optarg; break;
        case 'i': read_instructor_suites(optarg); break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    if (optind == argc)
        usage_error("expected the test sources (tests/test_*.c)");
    for (int i = optind; i < argc; i++)
        read_declarations(argv[i]);

    /* A missing or broken report (the suite did not build, or crashed as a
     * whole) still gives a table: every exercise at 0. */
    char *doc = slurp(report);
    bool have_report = doc && score(doc);
    if (!have_report)
        warn_msg("no valid Criterion report at %s: every exercise scores 0",
                 report);
    qsort(beh, (size_t)nbeh, sizeof beh[0], cmp_behaviour);

    int total = 0, max = 0;
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "lab", TBL_LEFT);
    tbl_col(&t, "item", TBL_LEFT);
    tbl_col(&t, "points", TBL_RIGHT);
    tbl_col(&t, "result", TBL_LEFT);
    for (int i = 0; i < nex; i++) {
        tbl_cell(&t, "%s", ex[i].lab);
        tbl_cell(&t, "exercise: %s", ex[i].title);
        tbl_cell(&t, "%d/%d", ex[i].points, ex[i].max);
        tbl_cell(&t, "%s", ex[i].points == ex[i].max ? "passed" : "NOT YET");
        total += ex[i].points;
        max += ex[i].max;
    }
    for (int i = 0; i < nbeh; i++) {
        tbl_cell(&t, "%s", beh[i].lab);
        tbl_cell(&t, "behaviour suites (1 point each)");
        tbl_cell(&t, "%d/%d", beh[i].points, beh[i].max);
        tbl_cell(&t, "%s", beh[i].points == beh[i].max ? "passed" : "FAILURES");
        total += beh[i].points;
        max += beh[i].max;
    }

    /* The table, line by line (header, rule, then one line per row), with
     * what failed printed under the row it cost. */
    char *text = NULL;
    size_t text_len = 0;
    FILE *mem = open_memstream(&text, &text_len);
    if (!mem)
        die_errno("open_memstream");
    tbl_print(&t, mem);
    if (fclose(mem) != 0)
        die_errno("cannot format the table");
    int row = -2;
    for (char *line = text; *line; row++) {
        size_t len = strcspn(line, "\n");
        printf("%.*s\n", (int)len, line);
        if (row >= 0 && row < nex)
            print_failures(&ex[row], in_exercise);
        else if (row >= nex && row < nex + nbeh)
            print_failures(&beh[row - nex], in_behaviour);
        line += len + (line[len] == '\n');
    }
    free(text);
    printf("\ntotal: %d/%d (%d%%)\n", total, max, max ? total * 100 / max : 0);

    /* Instructor-only suites: their verdicts, apart from the score. */
    int iran = 0, ipassed = 0;
    for (int s = 0; s < ntally; s++) {
        if (!is_instructor_only(tally[s].name) || tally[s].ran == 0)
            continue;
        iran++;
        ipassed += tally[s].passed == tally[s].ran;
    }
    if (iran > 0) {
        printf("instructor-only suites (not scored: the handout has none): "
               "%d of %d passed\n",
               ipassed, iran);
        for (int s = 0; s < ntally; s++)
            if (is_instructor_only(tally[s].name) && tally[s].ran > 0 &&
                tally[s].passed != tally[s].ran)
                print_failures(tally[s].name, in_suite);
    }

    /* Write to a temporary name and rename: never a half-written grade.json. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", output);
    FILE *f = fopen(tmp, "w");
    if (!f)
        die_errno("cannot write %s", tmp);
    json_w j;
    json_start(&j, f);
    json_obj(&j, NULL);
    json_int(&j, "total", total);
    json_int(&j, "max", max);
    json_arr(&j, "exercises");
    for (int i = 0; i < nex; i++) {
        json_obj(&j, NULL);
        json_str(&j, "lab", ex[i].lab);
        json_str(&j, "name", ex[i].title);
        json_str(&j, "suite", ex[i].suite);
        json_int(&j, "points", ex[i].points);
        json_int(&j, "max", ex[i].max);
        json_bool(&j, "passed", ex[i].points == ex[i].max);
        json_failures(&j, &ex[i], in_exercise);
        json_end(&j);
    }
    json_end(&j);
    json_arr(&j, "behaviour");
    for (int i = 0; i < nbeh; i++) {
        json_obj(&j, NULL);
        json_str(&j, "lab", beh[i].lab);
        json_int(&j, "points", beh[i].points);
        json_int(&j, "max", beh[i].max);
        json_failures(&j, &beh[i], in_behaviour);
        json_end(&j);
    }
    json_end(&j);
    json_arr(&j, "instructor_only");
    for (int s = 0; s < ntally; s++) {
        if (!is_instructor_only(tally[s].name) || tally[s].ran == 0)
            continue;
        json_obj(&j, NULL);
        json_str(&j, "suite", tally[s].name);
        json_bool(&j, "passed", tally[s].passed == tally[s].ran);
        json_failures(&j, tally[s].name, in_suite);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    if (fclose(f) != 0)
        die_errno("cannot write %s", tmp);
    if (rename(tmp, output) != 0)
        die_errno("cannot rename %s to %s", tmp, output);
    for (int i = 0; i < nfails; i++)
        free(fails[i].message);
    free(doc);
    return have_report ? 0 : 1; /* the table is printed either way */
}
