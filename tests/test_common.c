/*
 * test_common.c - the shared helpers on their own: number and size parsing
 * (the one place every program's options go through), the JSON writer and
 * the test harness itself.
 */
#include "harness.h"
#include "tjson.h"

#include "cli.h"
#include "json.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(common_parse, .timeout = 10);

Test(common_parse, accepts_integers_inside_the_range)
{
    long long v = 0;
    cr_assert_eq(kit_parse_ll("1", 1, 1024, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1);
    cr_assert_eq(kit_parse_ll("1024", 1, 1024, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1024);
    cr_assert_eq(kit_parse_ll("-1", -1, 64, &v), KIT_PARSE_OK);
    cr_assert_eq(v, -1);
}

Test(common_parse, rejects_what_atoi_would_quietly_accept)
{
    long long v = 7;
    cr_assert_eq(kit_parse_ll("", 1, 10, &v), KIT_PARSE_EMPTY);
    cr_assert_eq(kit_parse_ll("abc", 1, 10, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("12x", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("1e3", 1, 10000, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll(" 5", 1, 10, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("0x10", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_ll("0", 1, 10, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_ll("-3", 1, 10, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_ll("99999999999999999999", 1, 10, &v), KIT_PARSE_RANGE);
    cr_assert_eq(v, 7, "a rejected value must not be stored");
}

Test(common_parse, reads_sizes_with_binary_suffixes)
{
    unsigned long long v = 0;
    cr_assert_eq(kit_parse_size("4K", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 4096);
    cr_assert_eq(kit_parse_size("64KiB", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 65536);
    cr_assert_eq(kit_parse_size("2m", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 2u << 20);
    cr_assert_eq(kit_parse_size("1G", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 1u << 30);
    cr_assert_eq(kit_parse_size("123", 1, 1ULL << 40, &v), KIT_PARSE_OK);
    cr_assert_eq(v, 123);
}

Test(common_parse, rejects_bad_sizes_and_overflow)
{
    unsigned long long v = 9;
    cr_assert_eq(kit_parse_size("", 1, 100, &v), KIT_PARSE_EMPTY);
    cr_assert_eq(kit_parse_size("K", 1, 100, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("-4K", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("4T", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("4KK", 1, 1 << 20, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("1.5M", 1, 1 << 30, &v), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_size("99999999999999999999", 1, 100, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_size("17179869184G", 1, ~0ULL, &v), KIT_PARSE_RANGE);
    cr_assert_eq(kit_parse_size("0", 1, 100, &v), KIT_PARSE_RANGE);
    cr_assert_eq(v, 9);
}

Test(common_parse, reads_fractions_but_not_exponents_or_infinity)
{
    double d = -1;
    cr_assert_eq(kit_parse_double("0.3", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_float_eq(d, 0.3, 1e-12);
    cr_assert_eq(kit_parse_double("1", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_eq(kit_parse_double(".5", 0, 1, &d), KIT_PARSE_OK);
    cr_assert_eq(kit_parse_double("1e-1", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("inf", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("nan", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double(".", 0, 1, &d), KIT_PARSE_SYNTAX);
    cr_assert_eq(kit_parse_double("1.5", 0, 1, &d), KIT_PARSE_RANGE);
}

TestSuite(common_json, .timeout = 10);

Test(common_json, writer_output_parses_and_reads_back)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    json_w j;
    json_start(&j, f);
    json_obj(&j, NULL);
    json_int(&j, "threads", 2);
    json_str(&j, "name", "a \"quoted\"\ttab");
    json_arr(&j, "results");
    json_obj(&j, NULL);
    json_double(&j, "seconds", 0.25);
    json_bool(&j, "ok", true);
    json_end(&j);
    json_obj(&j, NULL);
    json_uint(&j, "got", 18446744073709551615ULL);
    json_end(&j);
    json_end(&j);
    json_end(&j);
    json_finish(&j);
    fclose(f);
    cr_assert(tj_valid(buf), "not valid JSON: %s", buf);
    double d;
    cr_assert(tj_num(buf, "threads", &d));
    cr_assert_eq(d, 2);
    cr_assert(tj_num(buf, "results.0.seconds", &d));
    cr_assert_float_eq(d, 0.25, 1e-12);
    bool ok = false;
    cr_assert(tj_bool(buf, "results.0.ok", &ok));
    cr_assert(ok);
    cr_assert_eq(tj_len(buf, "results"), 2);
    cr_assert(!tj_has(buf, "results.2"));
    free(buf);
}

Test(common_json, test_reader_rejects_malformed_documents)
{
    cr_assert(!tj_valid("{"));
    cr_assert(!tj_valid("{\"a\":1,}"));
    cr_assert(!tj_valid("{\"a\":01}"));
    cr_assert(!tj_valid("{\"a\":1} x"));
    cr_assert(!tj_valid(""));
    cr_assert(tj_valid(" [1, -2.5e3, \"x\", null, true, {}] \n"));
}

TestSuite(common_harness, .timeout = 20);

Test(common_harness, captures_output_status_and_input)
{
    run_result r = RUN_IN("hello\n", "/bin/sh", "-c", "cat; echo err >&2; exit 5");
    cr_assert_str_eq(r.out, "hello\n");
    cr_assert_str_eq(r.err, "err\n");
    cr_assert_eq(r.exit_code, 5);
    cr_assert_eq(r.leftover, 0);
    run_free(&r);
}

Test(common_harness, kills_a_program_that_hangs)
{
    run_result r = run_with(&(run_opts){
        .argv = (const char *const[]){"/bin/sleep", "30", NULL}, .timeout = 0.5});
    cr_assert(r.timed_out);
    cr_assert_eq(r.signal, SIGKILL);
    run_free(&r);
}

Test(common_harness, notices_a_child_left_behind)
{
    run_result r = RUN("/bin/sh", "-c", "sleep 5 & exit 0");
    cr_assert_eq(r.exit_code, 0);
    cr_assert_geq(r.leftover, 1, "an orphaned sleep must be counted");
    run_free(&r);
}
