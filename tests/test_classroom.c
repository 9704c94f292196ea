/*
 * test_classroom.c - the three classroom flows: the tour (`make demo`), the
 * student handout (`make handout`) and the grader (`make grade`).
 *
 * These run whole builds and whole suites, so they are skipped in nested
 * runs (the handout's own suite, started from here, sets KIT_NESTED) and the
 * slow ones are skipped under sanitizers (they test the classroom flows,
 * which the plain run already covers, not memory or thread safety).
 */
#include "harness.h"
#include "tjson.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A test runs inside a Criterion worker, which finds its runner through this
 * variable; a suite started from a test must not inherit it (it aborts). */
#define CRITERION_WORKER_ENV "BXFI_MAP"

/* The marker, spelled in two halves so this file itself carries none. */
#define MARK \
    "HAND" \
    "OUT"

static void skip_if_nested(void)
{
    if (getenv("KIT_NESTED"))
        cr_skip_test(
            "classroom flows are not re-run inside the handout's own suite");
}

static void skip_if_sanitized(void)
{
    const char *san = getenv("KIT_SAN");
    if (san && *san)
        cr_skip_test("a whole-kit flow: covered by the plain run, too slow "
                     "under sanitizers");
}

/* ---- make demo --------------------------------------------------------- */

/* Characters in a UTF-8 line (the slide titles are Russian). */
static size_t utf8_columns(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++)
        cols += ((unsigned char)s[i] & 0xC0) != 0x80;
    return cols;
}

/* What demo.sh itself prints, for a projector: titles ("-> ...") and
 * commands ("$ ...") within 100 columns, and every command as it could be
 * typed, never the `sh -c` wrapper. */
static void check_projector_lines(const char *out)
{
    for (const char *line = out; *line;) {
        size_t len = strcspn(line, "\n");
        bool ours = strncmp(line, "-> ", 3) == 0 ||
                    strncmp(line, "$ ", 2) == 0 ||
                    strncmp(line, "==== Lab", 8) == 0;
        if (ours) {
            cr_expect_leq(utf8_columns(line, len), 100,
                          "a tour line over 100 columns: %.*s", (int)len, line);
            cr_expect(strncmp(line, "$ sh -c", 7) != 0,
                      "a command shown through its sh -c wrapper: %.*s",
                      (int)len, line);
        }
        line += len + (line[len] == '\n');
    }
}

TestSuite(classroom_demo, .timeout = 300);

Test(classroom_demo, tour_runs_every_lab_non_interactively_and_exits_0)
{
    skip_if_nested();
    skip_if_sanitized();
    const char *bindir = getenv("KIT_BIN_DIR");
    char env_bin[4096];
    snprintf(env_bin, sizeof env_bin, "BIN_DIR=%s",
             bindir && *bindir ? bindir : ".");
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/demo.sh", NULL},
        .env = (const char *const[]){env_bin, "PAUSE=0", "LAB=", "NO_COLOR=1",
                                     NULL},
        .timeout = 240,
    });
    cr_assert(!r.timed_out, "the tour hung; last output:\n%s",
              r.out_len > 2000 ? r.out + r.out_len - 2000 : r.out);
    cr_assert_eq(r.exit_code, 0, "the tour reported failed steps:\n%s",
                 r.out_len > 3000 ? r.out + r.out_len - 3000 : r.out);
    static const char *const titles[] = {"Lab 01", "Lab 02", "Lab 03", "Lab 04",
                                         "Lab 05"};
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        cr_expect(strstr(r.out, titles[i]), "the tour never showed '%s'",
                  titles[i]);
    cr_assert(strstr(r.out, "0 failed"),
              "the tour's closing line should say 0 failed");
    cr_assert_eq(r.leftover, 0, "the tour left %d process(es) behind",
                 r.leftover);
    check_projector_lines(r.out);
    cr_expect(strstr(r.out, "(exit status 3, as expected)"),
              "a step whose title says 'exits 3' must show the exit status");
    run_free(&r);
}

/* PAUSE=1 waits for a line on standard input, even when it is a pipe. */
Test(classroom_demo, pause_reads_standard_input_when_it_is_not_a_terminal)
{
    skip_if_nested();
    skip_if_sanitized();
    const char *bindir = getenv("KIT_BIN_DIR");
    char env_bin[4096];
    snprintf(env_bin, sizeof env_bin, "BIN_DIR=%s",
             bindir && *bindir ? bindir : ".");
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/demo.sh", NULL},
        .env = (const char *const[]){env_bin, "PAUSE=1", "LAB=05", "NO_COLOR=1",
                                     NULL},
        .in = "\n\n", /* two steps, then end of input: no more pauses */
        .timeout = 120,
    });
    cr_assert(!r.timed_out, "the paused tour hung");
    cr_assert_eq(r.exit_code, 0, "%s", r.out);
    size_t prompts = count_substr(r.out, "(press Enter)");
    cr_assert_eq(prompts, 3,
                 "two lines read, the third read meets end of input and "
                 "stops the pauses: expected 3 prompts, got %zu:\n%s",
                 prompts, r.out);
    check_projector_lines(r.out);
    run_free(&r);
}

/* ---- make handout ------------------------------------------------------ */

TestSuite(classroom_handout, .timeout = 900);

/* Trimmed copy of a line, for comparing code regardless of indentation. */
static void trim(const char *s, size_t n, char *out, size_t cap)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/*
 * For one source file: every distinctive line of a solution region (inside
 * #ifndef MARK ... #else) that does not also occur elsewhere in the file must
 * be absent from the handout's copy.  Returns the number of regions seen.
 */
static int check_solution_bodies(const char *src, const char *handout_copy)
{
    char *text = read_file(src, NULL);
    char *copy = read_file(handout_copy, NULL);
    cr_assert(text && copy, "cannot read %s or its handout copy %s", src,
              handout_copy);
    cr_assert(!strstr(copy, "#ifndef " MARK) && !strstr(copy, "#ifdef " MARK),
              "%s still has a solution marker", handout_copy);
    int regions = 0;
    bool in_solution = false;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char t[512];
        trim(line, len, t, sizeof t);
        if (strcmp(t, "#ifndef " MARK) == 0) {
            in_solution = true;
            regions++;
        } else if (in_solution && (strncmp(t, "#else", 5) == 0 ||
                                   strncmp(t, "#endif", 6) == 0)) {
            in_solution = false;
        } else if (in_solution && strlen(t) >= 16 &&
                   count_substr(text, t) == 1) {
            cr_expect(!strstr(copy, t),
                      "%s: the solution line '%s' leaked into the handout", src,
                      t);
        }
        line = end ? end + 1 : line + len;
    }
    free(text);
    free(copy);
    return regions;
}

static int scan_dir(const char *dir, const char *handout)
{
    int regions = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 3 || (strcmp(e->d_name + n - 2, ".c") != 0 &&
                      strcmp(e->d_name + n - 2, ".h") != 0))
            continue;
        char *src = path_join(dir, e->d_name);
        char *hdir = path_join(handout, dir);
        char *copy = path_join(hdir, e->d_name);
        if (file_exists(copy))
            regions += check_solution_bodies(src, copy);
        free(src);
        free(hdir);
        free(copy);
    }
    closedir(d);
    return regions;
}

Test(classroom_handout, handout_has_stubs_but_no_solution_markers_or_bodies)
{
    skip_if_nested();
    skip_without_tool("unifdef", "unifdef", "make handout");
    char *tmp = make_tmpdir();
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/handout.sh", tmp, NULL},
        .timeout = 120,
    });
    cr_assert_eq(r.exit_code, 0, "make handout failed: %s", r.err);
    char *hand = path_join(tmp, "handout");
    char *tgz = path_join(tmp, "handout.tar.gz");
    cr_assert(file_exists(tgz), "no handout.tar.gz");
    static const char *const dirs[] = {"01-processes",
                                       "02-threads",
                                       "03-race-conditions",
                                       "04-pipes-queues",
                                       "05-mapreduce",
                                       "common",
                                       "tests"};
    int regions = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        regions += scan_dir(dirs[i], hand);
    cr_assert_geq(regions, 10,
                  "expected 2-3 exercises per lab, found %d solution regions",
                  regions);
    char *readme = path_join(hand, "README.md");
    cr_assert(file_exists(readme), "the handout must keep the READMEs");
    char *stubbed = path_join(hand, "Makefile");
    cr_assert(file_exists(stubbed), "the handout must keep the Makefile");
    free(readme);
    free(stubbed);
    run_free(&r);
    rm_rf(tmp);
    free(hand);
    free(tgz);
    free(tmp);
}

/* The expensive one: build the handout with -Werror, grade it, and check that
 * exactly the exercises fail while every behaviour suite still passes. */
Test(classroom_handout, handout_builds_and_fails_exactly_the_exercises)
{
    skip_if_nested();
    skip_if_sanitized();
    skip_without_tool("unifdef", "unifdef", "make handout");
    char *tmp = make_tmpdir();
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/handout.sh", tmp, NULL},
        .timeout = 120,
    });
    cr_assert_eq(r.exit_code, 0, "make handout failed: %s", r.err);
    run_free(&r);
    char *hand = path_join(tmp, "handout");
    char *grade_json = path_join(tmp, "grade.json");
    char gj[4200];
    snprintf(gj, sizeof gj, "GRADE_JSON=%s", grade_json);
    r = run_with(&(run_opts){
        /* Name the folders on the command line: the outer make exported its
         * own BIN_DIR/BUILD_DIR, and the handout must never build into them. */
        .argv =
            (const char *const[]){"/usr/bin/env", "make", "-s", "-C", hand,
                                  "-j2", "WERROR=1", "BIN_DIR=.",
                                  "BUILD_DIR=build", "SAN=", "grade", gj, NULL},
        .env = (const char *const[]){"KIT_NESTED=1", "MAKEFLAGS=", "MAKELEVEL=",
                                     CRITERION_WORKER_ENV, NULL},
        .timeout = 840,
    });
    cr_assert(!r.timed_out, "grading the handout hung");
    cr_assert_eq(r.exit_code, 0, "the handout did not build or grade:\n%s",
                 r.err_len > 3000 ? r.err + r.err_len - 3000 : r.err);
    char *doc = read_file(grade_json, NULL);
    cr_assert(doc && tj_valid(doc), "grade.json missing or not JSON");
    int nex = tj_len(doc, "exercises");
    cr_assert_geq(nex, 10, "expected 2-3 exercises per lab, got %d", nex);
    for (int i = 0; i < nex; i++) {
        char path[64], name[128], suite[128];
        bool passed = true;
        snprintf(path, sizeof path, "exercises.%d.name", i);
        tj_str(doc, path, name, sizeof name);
        snprintf(path, sizeof path, "exercises.%d.suite", i);
        tj_str(doc, path, suite, sizeof suite);
        snprintf(path, sizeof path, "exercises.%d.passed", i);
        cr_assert(tj_bool(doc, path, &passed));
        cr_expect(
            !passed,
            "exercise '%s' (%s) passes on the stub: its tests cannot tell",
            name, suite);
        snprintf(path, sizeof path, "exercises.%d.failed", i);
        cr_expect_gt(tj_len(doc, path), 0,
                     "exercise '%s' is NOT YET but grade.json names no failing "
                     "test",
                     name);
    }
    int nb = tj_len(doc, "behaviour");
    cr_assert_geq(
        nb, 5,
        "the handout's report should have behaviour suites for every lab");
    double total = -1, max = -1, sum = 0;
    for (int i = 0; i < nb; i++) {
        char path[64], lab[16];
        double p = 0, m = 0;
        snprintf(path, sizeof path, "behaviour.%d.points", i);
        tj_num(doc, path, &p);
        snprintf(path, sizeof path, "behaviour.%d.max", i);
        tj_num(doc, path, &m);
        snprintf(path, sizeof path, "behaviour.%d.lab", i);
        tj_str(doc, path, lab, sizeof lab);
        char test[256] = "", msg[512] = "";
        snprintf(path, sizeof path, "behaviour.%d.failed.0.test", i);
        tj_str(doc, path, test, sizeof test);
        snprintf(path, sizeof path, "behaviour.%d.failed.0.message", i);
        tj_str(doc, path, msg, sizeof msg);
        cr_expect_eq(
            p, m,
            "lab %s: %g of %g behaviour suites pass in the handout: only "
            "exercise suites may fail on the stubs; first failure: %s: %s",
            lab, p, m, test, msg);
        sum += p;
    }
    cr_assert(tj_num(doc, "total", &total) && tj_num(doc, "max", &max));
    cr_expect_eq(total, sum,
                 "the handout should score exactly its behaviour suites");
    cr_expect_lt(total, max, "the handout cannot score 100%%");
    /* grade.json matches the printed table */
    char line[128];
    snprintf(line, sizeof line, "total: %d/%d", (int)total, (int)max);
    cr_expect(strstr(r.out, line),
              "the printed table should end with '%s':\n%s", line, r.out);
    free(doc);
    run_free(&r);
    rm_rf(tmp);
    free(grade_json);
    free(hand);
    free(tmp);
}

/* ---- make grade -------------------------------------------------------- */

TestSuite(classroom_grade, .timeout = 300);

/* The suite binary is this process's own executable; the grader sits beside
 * it in the build folder ($BUILD_DIR/tests/kit-tests, $BUILD_DIR/tools/grade). */
static void build_paths(char *self, size_t n, char *grader, size_t m)
{
    ssize_t len = readlink("/proc/self/exe", self, n - 1);
    cr_assert(len > 0, "cannot find the suite binary");
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    cr_assert(slash);
    snprintf(grader, m, "%.*s/../tools/grade", (int)(slash - self), self);
}

Test(classroom_grade, full_kit_earns_every_exercise_point)
{
    skip_if_nested();
    char self[4096], grader[4200];
    build_paths(self, sizeof self, grader, sizeof grader);
    cr_assert(file_exists(grader), "grader not built at %s", grader);
    char *tmp = make_tmpdir();
    char *report = path_join(tmp, "report.tap");
    char *gj = path_join(tmp, "grade.json");
    char json_opt[4200];
    snprintf(json_opt, sizeof json_opt, "--tap=%s", report);
    run_result r = run_with(&(run_opts){
        .argv =
            (const char *const[]){self, "--filter", "ex*/*", json_opt, NULL},
        .env =
            (const char *const[]){"KIT_NESTED=1", CRITERION_WORKER_ENV, NULL},
        .timeout = 280,
    });
    cr_assert(!r.timed_out, "the exercise suites hung");
    cr_assert(file_exists(report),
              "the suite wrote no report (exit %d, signal %d):\n%s",
              r.exit_code, r.signal,
              r.err_len > 2000 ? r.err + r.err_len - 2000 : r.err);
    run_free(&r);
    glob_t g;
    cr_assert_eq(glob("tests/test_*.c", 0, NULL, &g), 0,
                 "no test sources in tests/");
    const char **argv = calloc(g.gl_pathc + 6, sizeof *argv);
    cr_assert(argv);
    size_t k = 0;
    argv[k++] = grader;
    argv[k++] = "-r";
    argv[k++] = report;
    argv[k++] = "-o";
    argv[k++] = gj;
    for (size_t i = 0; i < g.gl_pathc; i++)
        argv[k++] = g.gl_pathv[i];
    argv[k] = NULL;
    r = run_with(&(run_opts){.argv = argv});
    globfree(&g);
    free(argv);
    cr_assert_eq(r.exit_code, 0, "grade failed: %s", r.err);
    char *doc = read_file(gj, NULL);
    double total = -1, max = -2;
    cr_assert(doc && tj_num(doc, "total", &total) && tj_num(doc, "max", &max));
    cr_assert_gt(max, 0, "no exercise was declared");
    cr_assert_eq(total, max, "the instructor's solution must score 100%%:\n%s",
                 r.out);
    char line[128];
    snprintf(line, sizeof line, "total: %d/%d (100%%)", (int)total, (int)max);
    cr_assert(strstr(r.out, line), "the table should say '%s':\n%s", line,
              r.out);
    free(doc);
    run_free(&r);
    rm_rf(tmp);
    free(report);
    free(gj);
    free(tmp);
}

Test(classroom_grade, missing_report_scores_zero_but_still_prints_the_table)
{
    char self[4096], grader[4200];
    build_paths(self, sizeof self, grader, sizeof grader);
    char *tmp = make_tmpdir();
    char *src = path_join(tmp, "test_x.c");
    char *gj = path_join(tmp, "grade.json");
    const char decl[] =
        "EXERCISE(ex99_demo, \"99\", \"a demo exercise\", 4);\n";
    write_file(src, decl, sizeof decl - 1);
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){grader, "-r", "/nonexistent/report.tap",
                                      "-o", gj, src, NULL},
    });
    cr_assert_eq(r.exit_code, 1,
                 "a missing report is an error, after the table: %s", r.err);
    cr_assert(strstr(r.out, "a demo exercise") && strstr(r.out, "0/4"),
              "table: %s", r.out);
    cr_assert(strstr(r.out, "total: 0/4"), "table: %s", r.out);
    char *doc = read_file(gj, NULL);
    double total = -1;
    bool passed = true;
    cr_assert(doc && tj_num(doc, "total", &total) && total == 0);
    cr_assert(tj_bool(doc, "exercises.0.passed", &passed) && !passed);
    free(doc);
    run_free(&r);
    rm_rf(tmp);
    free(src);
    free(gj);
    free(tmp);
}

Test(classroom_grade, crashed_and_timed_out_tests_score_zero)
{
    char self[4096], grader[4200];
    build_paths(self, sizeof self, grader, sizeof grader);
    char *tmp = make_tmpdir();
    char *src = path_join(tmp, "test_x.c");
    char *gj = path_join(tmp, "grade.json");
    char *rep = path_join(tmp, "report.tap");
    const char decl[] = "EXERCISE(ex98_a, \"98\", \"passes\", 3);\n"
                        "EXERCISE(ex98_b, \"98\", \"crashes\", 4);\n"
                        "EXERCISE(ex98_c, \"98\", \"times out\", 5);\n";
    write_file(src, decl, sizeof decl - 1);
    /* What Criterion writes, including a failure message that looks like a
     * test line and quotes that its JSON report would not escape. */
    const char report[] = "TAP version 13\n1..7\n# Criterion v2.4.1\n#\n"
                          "ok - ex98_a::t  (0.01s)\n"
                          "ok - ex98_b::t  (0.01s)\n"
                          "not ok - ex98_b::u unexpected signal after x.c:3\n"
                          "not ok - ex98_c::t timed out (60.00s)\n"
                          "ok - lab98_x::t  (0.00s)\n"
                          "not ok - lab98_y::t  (0.00s)\n"
                          "  ---\n  failures:\n  - x.c:9: |+\n"
                          "      Assertion failed: {\"ok\":false}\n"
                          "      ok - lab98_y::looks_like_a_test\n  ...\n"
                          "ok - lab98_z::t  # SKIP filtered out\n";
    write_file(rep, report, sizeof report - 1);
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){grader, "-r", rep, "-o", gj, src, NULL},
    });
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    char *doc = read_file(gj, NULL);
    double v;
    cr_assert(doc && tj_num(doc, "exercises.0.points", &v) && v == 3, "%s",
              doc ? doc : "");
    cr_assert(tj_num(doc, "exercises.1.points", &v) && v == 0,
              "a crash must score 0");
    cr_assert(tj_num(doc, "exercises.2.points", &v) && v == 0,
              "a timeout must score 0");
    cr_assert(tj_num(doc, "behaviour.0.points", &v) && v == 1,
              "one of two behaviour suites passed");
    cr_assert(tj_num(doc, "behaviour.0.max", &v) && v == 2,
              "a skipped suite is not scored");
    cr_assert(tj_num(doc, "total", &v) && v == 4);
    cr_assert(tj_num(doc, "max", &v) && v == 14);
    cr_assert(strstr(r.out, "total: 4/14"), "%s", r.out);
    free(doc);
    run_free(&r);
    rm_rf(tmp);
    free(src);
    free(gj);
    free(rep);
    free(tmp);
}

/* Is every character of the n bytes whole (no sequence cut at either end)? */
static bool whole_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (k == 0 || i + k > n)
            return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

/* Ten times "a teaching message — урок" (UTF-8): 300 columns to wrap. */
#define LONG_MESSAGE_10 \
    "a teaching message \xe2\x80\x94 \xd1\x83\xd1\x80\xd0\xbe\xd0\xba "
#define LONG_MESSAGE \
    LONG_MESSAGE_10 LONG_MESSAGE_10 LONG_MESSAGE_10 LONG_MESSAGE_10 \
        LONG_MESSAGE_10 LONG_MESSAGE_10 LONG_MESSAGE_10 LONG_MESSAGE_10 \
            LONG_MESSAGE_10 LONG_MESSAGE_10

/* 120 em dashes and no space: cut where it must, between characters. */
#define DASH10 \
    "\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94" \
    "\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94\xe2\x80\x94"
#define DASHES \
    DASH10 DASH10 DASH10 DASH10 DASH10 DASH10 DASH10 DASH10 DASH10 DASH10 \
        DASH10 DASH10

Test(classroom_grade, a_failing_exercise_shows_its_tests_and_first_messages)
{
    char self[4096], grader[4200];
    build_paths(self, sizeof self, grader, sizeof grader);
    char *tmp = make_tmpdir();
    char *src = path_join(tmp, "test_x.c");
    char *instr = path_join(tmp, "test_classroom_x.c");
    char *gj = path_join(tmp, "grade.json");
    char *rep = path_join(tmp, "report.tap");
    const char decl[] = "EXERCISE(ex97_ok, \"97\", \"passes\", 2);\n"
                        "EXERCISE(ex97_bad, \"97\", \"the mutex fix\", 5);\n";
    write_file(src, decl, sizeof decl - 1);
    const char instr_decl[] = "TestSuite(classroom_x, .timeout = 1);\n";
    write_file(instr, instr_decl, sizeof instr_decl - 1);
    /* Criterion lists a test's failed assertions last first: the grader must
     * show the FIRST (test_x.c:10), the one the others follow from. */
    const char report[] = "TAP version 13\n1..5\n# Criterion v2.4.1\n#\n"
                          "ok - ex97_ok::t  (0.01s)\n"
                          "not ok - ex97_bad::is_exact  (0.01s)\n"
                          "  ---\n  assertions: 2\n  failures:\n"
                          "  - test_x.c:20: |+\n"
                          "      Assertion failed: a consequence\n"
                          "  - test_x.c:10: |+\n"
                          "      Assertion failed: expected 2000, got 1874:\n"
                          "      lock around the whole load-add-store\n"
                          "  ...\n"
                          "not ok - ex97_bad::never_hangs timed out (60.00s)\n"
                          "not ok - ex97_bad::long  (0.01s)\n"
                          "  ---\n  failures:\n  - test_x.c:30: |+\n"
                          "      Assertion failed: " LONG_MESSAGE "\n"
                          "  ...\n"
                          "not ok - ex97_bad::dashes  (0.01s)\n"
                          "  ---\n  failures:\n  - test_x.c:40: |+\n"
                          "      Assertion failed: " DASHES "\n"
                          "  ...\n"
                          "ok - lab97_x::t  (0.00s)\n"
                          "not ok - classroom_x::t  (0.00s)\n"
                          "  ---\n  failures:\n  - c.c:1: |+\n"
                          "      Assertion failed: needs the whole kit\n"
                          "  ...\n";
    write_file(rep, report, sizeof report - 1);
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){grader, "-r", rep, "-o", gj, "-i", instr,
                                      src, NULL},
    });
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    /* The table: the NOT YET row, then each failing test and its message. */
    const char *row = strstr(r.out, "the mutex fix");
    cr_assert(row && strstr(row, "NOT YET"), "no NOT YET row:\n%s", r.out);
    const char *t1 = strstr(row, "ex97_bad::is_exact");
    const char *m1 = strstr(row, "test_x.c:10: expected 2000, got 1874:");
    const char *t2 = strstr(row, "ex97_bad::never_hangs");
    const char *m2 = strstr(row, "timed out (60.00s)");
    cr_assert(t1 && m1 && t1 < m1,
              "under the NOT YET row: the failing test, then its first "
              "assertion message (test_x.c:10):\n%s",
              r.out);
    cr_assert(t2 && m2 && t2 < m2, "the timed-out test and how it ended:\n%s",
              r.out);
    cr_assert(!strstr(r.out, "a consequence"),
              "only the first failed assertion is shown:\n%s", r.out);
    /* A long message wraps within 100 columns, cut between characters. */
    cr_assert(strstr(r.out, "test_x.c:30: a teaching message"), "%s", r.out);
    for (const char *line = r.out; *line;) {
        size_t len = strcspn(line, "\n"), cols = 0;
        for (size_t i = 0; i < len; i++)
            cols += ((unsigned char)line[i] & 0xC0) != 0x80;
        cr_expect_leq(cols, 100, "a line over 100 columns: %.*s", (int)len,
                      line);
        cr_expect(whole_utf8(line, len),
                  "a line cut inside a UTF-8 character: %.*s", (int)len, line);
        line += len + (line[len] == '\n');
    }
    /* Instructor-only suites are reported apart, never scored. */
    cr_assert(strstr(r.out, "total: 3/8"),
              "max = 2 + 5 + one behaviour suite; classroom_x not scored:\n%s",
              r.out);
    cr_assert(strstr(r.out, "instructor-only") &&
                  strstr(r.out, "needs the whole kit"),
              "the instructor-only failure, apart:\n%s", r.out);
    /* grade.json: the same, in full. */
    char *doc = read_file(gj, NULL);
    cr_assert(doc && tj_valid(doc), "grade.json missing or not JSON");
    char test[128], msg[256];
    cr_assert(tj_str(doc, "exercises.1.failed.0.test", test, sizeof test));
    cr_assert_str_eq(test, "ex97_bad::is_exact");
    cr_assert(tj_str(doc, "exercises.1.failed.0.message", msg, sizeof msg));
    cr_assert(strncmp(msg, "test_x.c:10: expected 2000, got 1874:", 37) == 0 &&
                  strstr(msg, "lock around the whole load-add-store"),
              "the whole first message, every line: %s", msg);
    cr_assert(tj_str(doc, "exercises.1.failed.1.message", msg, sizeof msg));
    cr_assert_str_eq(msg, "timed out (60.00s)");
    cr_assert_eq(tj_len(doc, "exercises.0.failed"), 0,
                 "a passed exercise lists no failure");
    cr_assert(tj_str(doc, "instructor_only.0.suite", test, sizeof test));
    cr_assert_str_eq(test, "classroom_x");
    double v = -1;
    cr_assert(tj_num(doc, "max", &v) && v == 8, "max %g: %s", v, doc);
    free(doc);
    run_free(&r);
    rm_rf(tmp);
    free(src);
    free(instr);
    free(gj);
    free(rep);
    free(tmp);
}

/* ---- make syscalls ----------------------------------------------------- */

TestSuite(classroom_syscalls, .timeout = 60);

Test(classroom_syscalls, fork_and_pthread_create_both_show_up_as_clone)
{
    skip_if_nested();
    skip_without_tool("strace", "strace", "make syscalls");
    const char *bindir = getenv("KIT_BIN_DIR");
    char env_bin[4096];
    snprintf(env_bin, sizeof env_bin, "BIN_DIR=%s",
             bindir && *bindir ? bindir : ".");
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/syscalls.sh", NULL},
        .env = (const char *const[]){env_bin, NULL},
        .timeout = 50,
    });
    if (r.exit_code == 1 && strstr(r.err, "could not trace"))
        cr_skip_test("ptrace is not permitted here: %s", r.err);
    cr_assert_eq(r.exit_code, 0, "make syscalls failed: %s", r.err);
    cr_assert(strstr(r.out, "a PROCESS") && strstr(r.out, "a THREAD"),
              "both a fork and a thread should be traced:\n%s", r.out);
    cr_assert(strstr(r.out, "CLONE_THREAD"), "the thread's clone flags:\n%s",
              r.out);
    cr_assert_eq(r.leftover, 0);
    /* Which system call each one made: the line after its heading. */
    char fork_call[16] = "", thread_call[16] = "";
    const char *p = strstr(r.out, "a PROCESS");
    const char *t = strstr(r.out, "a THREAD");
    cr_assert(p && t);
    cr_assert_eq(sscanf(strchr(p, '\n'), " %15[a-z0-9]", fork_call), 1);
    cr_assert_eq(sscanf(strchr(t, '\n'), " %15[a-z0-9]", thread_call), 1);
    char verdict[128];
    if (strcmp(fork_call, thread_call) == 0)
        snprintf(verdict, sizeof verdict, "Same system call (%s)", fork_call);
    else
        snprintf(verdict, sizeof verdict,
                 "fork() called %s, pthread_create() called %s", fork_call,
                 thread_call);
    cr_assert(strstr(r.out, verdict),
              "the closing line must name the calls strace saw: '%s':\n%s",
              verdict, r.out);
    /* Long calls wrap at an argument boundary: no line over 100 columns,
     * and each line ends with a whole argument or flag. */
    for (const char *line = r.out; *line;) {
        size_t len = strcspn(line, "\n");
        cr_expect_leq(len, 100, "a line over 100 columns: %.*s", (int)len,
                      line);
        if (len > 0 && strncmp(line, "    ", 4) == 0 && line[len - 1] != ',' &&
            line[len - 1] != '|')
            cr_expect(memchr(line, '=', len) && strstr(line, ") = "),
                      "a traced call cut mid-argument: %.*s", (int)len, line);
        line += len + (line[len] == '\n');
    }
    run_free(&r);
}

/* ---- make samples ------------------------------------------------------ */

/* A README with one sample that is right, one that is stale, and one live
 * sample that is wrong (never compared): the checker must name exactly the
 * stale one, and UPDATE=1 must rewrite exactly that block. */
static const char samples_fixture[] =
    "# fixture\n"
    "\n"
    "<!-- sample -->\n"
    "```\n"
    "$ ./race --threads abc\n"
    "race: --threads: expected an integer in 1..1024, got 'abc'\n"
    "$ echo $?\n"
    "2\n"
    "```\n"
    "\n"
    "<!-- sample -->\n"
    "```\n"
    "$ printf 'Deer Bear River\\nDeer\\n' | ./wc_mapper\n"
    "...\n"
    "deer\t1\n"
    "```\n"
    "\n"
    "<!-- sample-live: ./race -m mutex -n 1000 -->\n"
    "```\n"
    "not what race prints\n"
    "```\n";

static run_result run_checker(const char *readme, bool update)
{
    const char *bindir = getenv("KIT_BIN_DIR");
    char env_bin[4096];
    snprintf(env_bin, sizeof env_bin, "BIN_DIR=%s",
             bindir && *bindir ? bindir : ".");
    return run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sh", "tools/check-samples.sh",
                                      readme, NULL},
        .env = (const char *const[]){env_bin, update ? "UPDATE=1" : "UPDATE",
                                     NULL},
        .timeout = 60,
    });
}

TestSuite(classroom_samples, .timeout = 120);

Test(classroom_samples,
     checker_reports_exactly_the_stale_sample_and_update_fixes_it)
{
    skip_if_nested();
    char *dir = make_tmpdir();
    char *readme = path_join(dir, "README.md");
    write_file(readme, samples_fixture, strlen(samples_fixture));

    run_result r = run_checker(readme, false);
    cr_assert_eq(r.exit_code, 1,
                 "a stale sample must fail make samples (exit 1):\n%s%s", r.out,
                 r.err);
    cr_expect_eq(count_substr(r.out, ": stale:"), 1,
                 "exactly one sample is stale:\n%s", r.out);
    cr_expect(strstr(r.out, "README.md:11: stale: printf"),
              "the stale sample is the one at line 11 (wc_mapper):\n%s", r.out);
    cr_expect(strstr(r.out, "+deer\t2"),
              "the report shows what the program prints now:\n%s", r.out);
    cr_expect(strstr(r.out, "2 compared, 1 up to date, 1 stale"),
              "the summary counts the samples:\n%s", r.out);
    cr_expect(strstr(r.out, "1 live, not compared"),
              "a live sample is never compared:\n%s", r.out);
    run_free(&r);

    r = run_checker(readme, true);
    cr_assert_eq(r.exit_code, 0, "UPDATE=1 failed:\n%s%s", r.out, r.err);
    run_free(&r);
    size_t len = 0;
    char *after = read_file(readme, &len);
    cr_assert(after);
    cr_expect(strstr(after, "...\ndeer\t2\n```"),
              "UPDATE=1 rewrites the stale block, keeping its elision:\n%s",
              after);
    cr_expect(strstr(after, "got 'abc'\n$ echo $?\n2\n```"),
              "the right sample is left as it was:\n%s", after);
    cr_expect(strstr(after, "<!-- sample-live: ./race -m mutex -n 1000 -->\n"
                            "```\n2 threads x 1000"),
              "UPDATE=1 re-runs the live sample too:\n%s", after);
    free(after);

    r = run_checker(readme, false);
    cr_expect_eq(r.exit_code, 0, "after UPDATE=1 every sample is current:\n%s",
                 r.out);
    run_free(&r);
    free(readme);
    rm_rf(dir);
    free(dir);
}
