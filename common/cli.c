/* cli.c - see cli.h. */
#include "cli.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kit_parse_status kit_parse_ll(const char *s, long long min, long long max,
                                   long long *out)
{
    if (s == NULL || *s == '\0')
        return KIT_PARSE_EMPTY;
    /* strtoll skips leading spaces and accepts "0x"; we want plain decimal. */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return KIT_PARSE_SYNTAX;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return KIT_PARSE_SYNTAX;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || v < min || v > max)
        return KIT_PARSE_RANGE;
    *out = v;
    return KIT_PARSE_OK;
}

enum kit_parse_status kit_parse_size(const char *s, unsigned long long min,
                                     unsigned long long max,
                                     unsigned long long *out)
{
    if (s == NULL || *s == '\0')
        return KIT_PARSE_EMPTY;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return KIT_PARSE_SYNTAX;
    unsigned long long v = 0;
    bool overflow = false;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        p++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        p++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        p++;
        break;
    default: break;
    }
    if (shift != 0) { /* optional "B" or "iB" after a suffix */
        if (*p == 'i' && (p[1] == 'B' || p[1] == 'b'))
            p += 2;
        else if (*p == 'B' || *p == 'b')
            p++;
    }
    if (*p != '\0')
        return KIT_PARSE_SYNTAX;
    if (overflow || (shift && v > (ULLONG_MAX >> shift)))
        return KIT_PARSE_RANGE;
    v <<= shift;
    if (v < min || v > max)
        return KIT_PARSE_RANGE;
    *out = v;
    return KIT_PARSE_OK;
}

enum kit_parse_status kit_parse_double(const char *s, double min, double max,
                                       double *out)
{
    if (s == NULL || *s == '\0')
        return KIT_PARSE_EMPTY;
    /* Accept only [+-]digits[.digits] or [+-].digits: no exponents, hex, inf. */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    int digits = 0;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0 || *p != '\0')
        return KIT_PARSE_SYNTAX;
    errno = 0;
    double v = strtod(s, NULL);
    if (errno == ERANGE || !isfinite(v) || v < min || v > max)
        return KIT_PARSE_RANGE;
    *out = v;
    return KIT_PARSE_OK;
}

long long opt_int(const char *opt, const char *s, long long min, long long max)
{
    long long v;
    if (kit_parse_ll(s, min, max, &v) != KIT_PARSE_OK)
        usage_error("%s: expected an integer in %lld..%lld, got '%s'", opt, min,
                    max, s ? s : "");
    return v;
}

/* "65536" -> "64K" when exact, to print ranges the way users type them. */
static void fmt_size(char *buf, size_t n, unsigned long long v)
{
    static const char sfx[] = "GMK";
    for (int i = 0; i < 3; i++) {
        unsigned shift = (unsigned)(30 - 10 * i);
        if (v != 0 && v % (1ULL << shift) == 0) {
            snprintf(buf, n, "%llu%c", v >> shift, sfx[i]);
            return;
        }
    }
    snprintf(buf, n, "%llu", v);
}

unsigned long long opt_size(const char *opt, const char *s,
                            unsigned long long min, unsigned long long max)
{
    unsigned long long v;
    if (kit_parse_size(s, min, max, &v) != KIT_PARSE_OK) {
        char lo[32], hi[32];
        fmt_size(lo, sizeof lo, min);
        fmt_size(hi, sizeof hi, max);
        usage_error(
            "%s: expected a size in %s..%s (suffix K, M or G), got '%s'", opt,
            lo, hi, s ? s : "");
    }
    return v;
}

double opt_double(const char *opt, const char *s, double min, double max)
{
    double v;
    if (kit_parse_double(s, min, max, &v) != KIT_PARSE_OK)
        usage_error("%s: expected a number in %g..%g, got '%s'", opt, min, max,
                    s ? s : "");
    return v;
}

int opt_choice(const char *opt, const char *s, const char *const choices[])
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; choices[i]; i++) {
        if (s && strcmp(s, choices[i]) == 0)
            return i;
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? "|" : "",
                         choices[i]);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    usage_error("%s: expected one of %s, got '%s'", opt, list, s ? s : "");
}

/* The option as the user typed it: "--threads" or "-t". */
static void opt_name(char *buf, size_t n, int short_opt, char *const argv[],
                     const struct option *longopts)
{
    if (short_opt != 0) {
        /* getopt_long reports a long option's val in optopt, so prefer the
         * long name when one maps to it and the user typed it. */
        const char *typed = argv[optind - 1];
        for (const struct option *o = longopts; o && o->name; o++) {
            if (o->flag == NULL && o->val == short_opt && typed &&
                strncmp(typed, "--", 2) == 0) {
                snprintf(buf, n, "--%s", o->name);
                return;
            }
        }
        snprintf(buf, n, "-%c", short_opt);
        return;
    }
    const char *typed = argv[optind - 1];
    size_t len = strcspn(typed, "=");
    snprintf(buf, n, "%.*s", (int)len, typed);
}

void kit_opt_fail(int c, char *const argv[], const struct option *longopts)
{
    char name[128];
    opt_name(name, sizeof name, optopt, argv, longopts);
    if (c == ':')
        usage_error("option '%s' needs a value", name);
    usage_error("unknown option '%s'", name);
}

void kit_help(const char *text)
{
    fputs(text, stdout);
    if (fflush(stdout) != 0)
        exit(KIT_EXIT_RUNTIME);
    exit(0);
}

void kit_no_operands(int argc, char *const argv[])
{
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}
