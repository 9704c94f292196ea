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
 *     were all skipped (filtered out) is not scored.
 *
 * Prints a table (lab, item, points earned / possible) and the total, and
 * writes the same numbers as JSON (exit 1, after the table, when there was
 * no report at all: the suite did not build or run):
 *   {"total":X,"max":Y,"exercises":[{"lab":"03","name":"...","points":P,
 *    "max":M,"passed":true}, ...],"behaviour":[{"lab":"03","points":P,
 *    "max":M}, ...]}
 *
 * Why TAP and not Criterion's --json: Criterion 2.4 writes failure messages
 * into its JSON without escaping their quotes, so the JSON report is invalid
 * exactly when a test fails.  TAP is one line per test:
 *     ok - lab03_race::mutex_mode_is_exact (0.12s)
 *     not ok - ex03_mutex::is_exact ...         (messages follow, indented)
 *     ok - lab03_race::racy_under_tsan  # SKIP not a TSan build
 *
 * Usage: grade [-r REPORT] [-o GRADE_JSON] TEST_SOURCE...
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
    "Usage: grade [-r REPORT] [-o GRADE_JSON] TEST_SOURCE...\n"
    "Score a Criterion JSON report against the EXERCISE() declarations.\n"
    "\n"
    "  -r, --report FILE   Criterion's TAP report (kit-tests --tap=FILE);\n"
    "                      default build/test-report.tap\n"
    "  -o, --output FILE   where to write the JSON score; default grade.json\n"
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

/* Returns false if the text is not a Criterion TAP report. */
static bool score(char *doc)
{
    if (strncmp(doc, "TAP version", 11) != 0)
        return false;
    for (char *line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
        bool ok;
        if (strncmp(line, "ok - ", 5) == 0)
            ok = true;
        else if (strncmp(line, "not ok - ", 9) == 0)
            ok = false;
        else
            continue; /* plan, comments, indented failure messages */
        const char *name = line + (ok ? 5 : 9);
        const char *sep = strstr(name, "::");
        if (!sep)
            continue;
        suite_tally *t = tally_of(name, (size_t)(sep - name));
        if (strstr(sep, "# SKIP"))
            continue;
        t->ran++;
        t->passed += ok;
    }
    for (int s = 0; s < ntally; s++) {
        bool all_passed = tally[s].ran > 0 && tally[s].passed == tally[s].ran;
        exercise *e = NULL;
        for (int i = 0; i < nex; i++)
            if (strcmp(ex[i].suite, tally[s].name) == 0)
                e = &ex[i];
        if (e) {
            e->points = all_passed ? e->max : 0;
        } else if (tally[s].ran > 0) {
            behaviour *b = behaviour_of(tally[s].name);
            b->max++;
            b->points += all_passed;
        }
    }
    return true;
}

int main(int argc, char *argv[])
{
    kit_set_prog("grade");
    const char *report = "build/test-report.tap";
    const char *output = "grade.json";
    static const struct option longopts[] = {
        {"report", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, ":r:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': report = optarg; break;
        case 'o': output = optarg; break;
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
    tbl_print(&t, stdout);
    printf("\ntotal: %d/%d (%d%%)\n", total, max, max ? total * 100 / max : 0);

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
        json_end(&j);
    }
    json_end(&j);
    json_arr(&j, "behaviour");
    for (int i = 0; i < nbeh; i++) {
        json_obj(&j, NULL);
        json_str(&j, "lab", beh[i].lab);
        json_int(&j, "points", beh[i].points);
        json_int(&j, "max", beh[i].max);
        json_end(&j);
    }
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    if (fclose(f) != 0)
        die_errno("cannot write %s", tmp);
    if (rename(tmp, output) != 0)
        die_errno("cannot rename %s to %s", tmp, output);
    free(doc);
    return have_report ? 0 : 1; /* the table is printed either way */
}
