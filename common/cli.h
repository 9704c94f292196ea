/*
 * cli.h - the kit's one command-line convention, as functions.
 *
 *   -h/--help        usage with an example, on stdout, exit 0
 *   bad usage        one line on stderr naming the option, exit 2
 *   numbers          range-checked, never atoi():
 *                      race: --threads: expected an integer in 1..1024, got 'abc'
 *   sizes            "64K", "4M", "1G" (powers of 1024), same checks
 *
 * The kit_parse_* functions return a status and never exit, so tests and
 * fuzzers can call them; the opt_* wrappers turn a bad value into a usage
 * error that names the option.
 */
#ifndef KIT_CLI_H
#define KIT_CLI_H

#include <getopt.h>
#include <stdbool.h>

enum kit_parse_status {
    KIT_PARSE_OK = 0,
    KIT_PARSE_EMPTY,  /* "" */
    KIT_PARSE_SYNTAX, /* not a number at all, or trailing junk: "12x", "1e3" */
    KIT_PARSE_RANGE,  /* a number, but outside [min, max] (overflow included) */
};

/* Decimal integer with optional sign; whole string must be consumed. */
enum kit_parse_status kit_parse_ll(const char *s, long long min, long long max,
                                   long long *out);

/* Non-negative decimal integer with an optional K, M or G suffix (x1024^k,
 * either case, optional trailing "B" or "iB": 4K, 4KiB, 4kb). */
enum kit_parse_status kit_parse_size(const char *s, unsigned long long min,
                                     unsigned long long max,
                                     unsigned long long *out);

/* Decimal fraction such as 0.3 or 1; no hex, no inf/nan. */
enum kit_parse_status kit_parse_double(const char *s, double min, double max,
                                       double *out);

/* Wrappers: on error, usage_error() with the option's name and range. */
long long opt_int(const char *opt, const char *s, long long min, long long max);
unsigned long long opt_size(const char *opt, const char *s,
                            unsigned long long min, unsigned long long max);
double opt_double(const char *opt, const char *s, double min, double max);

/* Index of s in the NULL-terminated list, or usage error
 * "race: --mode: expected one of unsafe|mutex|atomic|local|all, got 'x'". */
int opt_choice(const char *opt, const char *s, const char *const choices[]);

/*
 * The getopt_long loop's default branch.  Start optstring with ':' so that a
 * missing value returns ':' (not '?'); then, for c == '?' or ':', call
 *     kit_opt_fail(c, argv, longopts);
 * It prints "race: unknown option '--frobnicate'" or
 * "race: option '--threads' needs a value" and exits 2.
 */
_Noreturn void kit_opt_fail(int c, char *const argv[],
                            const struct option *longopts);

/* Print usage text (already containing an example) to stdout and exit 0. */
_Noreturn void kit_help(const char *text);

/* Stray positional arguments are usage errors too. */
void kit_no_operands(int argc, char *const argv[]);

#endif
