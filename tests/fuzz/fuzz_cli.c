/*
 * fuzz_cli.c - libFuzzer target for the kit's number parsers
 *
 * Every option of every program goes through kit_parse_ll, kit_parse_size or
 * kit_parse_double (common/cli.h).  This target feeds them arbitrary bytes
 * and checks more than "no crash": each answer must agree with a slow,
 * obviously-correct reference written here from the documented grammar,
 *   - a status of OK returns a value inside [min, max];
 *   - printing that value and parsing it again gives the same value;
 *   - nothing is accepted that strtoll/strtod with full consumption would
 *     reject, and nothing is rejected that the grammar allows;
 *   - a rejected string leaves *out untouched.
 *
 * Input layout (readable, so seeds can be typed by hand):
 *   byte 0   which parser: 'i' (ll), 's' (size), 'd' (double); any other
 *            byte picks one by its value modulo 3
 *   byte 1   which range from the tables below: '0' is the first, '1' the
 *            next..., any byte works (taken modulo the table's length)
 *   rest     the string to parse (up to the first NUL)
 * e.g. the seed "i0-5" parses "-5" with range 0 (1..1024).
 *
 * Build and run: make fuzz FUZZ_SECONDS=20 (see tools/fuzz.sh).
 */
#include "cli.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant broke: say which, on which input, and crash so libFuzzer
 * saves the input as a reproducer. */
#define CHECK(cond, what) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_cli: %s: %s (input '%s')\n", what, #cond, \
                    str); \
            abort(); \
        } \
    } while (0)

static const struct {
    long long min, max;
} ll_ranges[] = {
    {1, 1024}, {0, LLONG_MAX}, {LLONG_MIN, LLONG_MAX}, {-1, 64},
    {1, 1},    {0, 0},         {LLONG_MIN, -1},        {-1000000, 1000000},
};

static const struct {
    unsigned long long min, max;
} size_ranges[] = {
    {1, 1ULL << 40},    {0, ULLONG_MAX}, {1, 100},
    {4096, 1ULL << 30}, {0, 0},          {1ULL << 30, 1ULL << 30},
};

static const struct {
    double min, max;
} dbl_ranges[] = {
    {0, 1}, {-1e9, 1e9}, {-DBL_MAX, DBL_MAX}, {0.5, 0.5}, {0.001, 1000},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* ---- kit_parse_ll ------------------------------------------------------ */

/* Reference from the grammar: [+-]?[0-9]+, whole string, decimal. */
static enum kit_parse_status ref_ll(const char *str, long long min,
                                    long long max, long long *v)
{
    if (*str == '\0')
        return KIT_PARSE_EMPTY;
    const char *p = str + (*str == '+' || *str == '-');
    if (*p == '\0')
        return KIT_PARSE_SYNTAX;
    for (; *p; p++)
        if (!is_digit(*p))
            return KIT_PARSE_SYNTAX;
    errno = 0;
    char *end;
    *v = strtoll(str, &end, 10);
    if (errno == ERANGE)
        return KIT_PARSE_RANGE;
    if (*v < min || *v > max)
        return KIT_PARSE_RANGE;
    return KIT_PARSE_OK;
}

static void fuzz_ll(const char *str, unsigned which)
{
    long long min = ll_ranges[which % N(ll_ranges)].min;
    long long max = ll_ranges[which % N(ll_ranges)].max;
    long long v = 0x5eed, ref = 0;
    enum kit_parse_status st = kit_parse_ll(str, min, max, &v);
    enum kit_parse_status want = ref_ll(str, min, max, &ref);
    CHECK(st == want, "kit_parse_ll disagrees with the grammar");
    if (st != KIT_PARSE_OK) {
        CHECK(v == 0x5eed, "a rejected value was stored");
        return;
    }
    CHECK(v >= min && v <= max, "accepted value outside [min, max]");
    CHECK(v == ref, "accepted value differs from strtoll's");
    /* strtoll with full consumption accepts it too */
    char *end;
    errno = 0;
    long long s = strtoll(str, &end, 10);
    CHECK(*end == '\0' && errno == 0 && s == v, "strtoll would reject it");
    /* round trip */
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    long long again = 0;
    CHECK(kit_parse_ll(buf, min, max, &again) == KIT_PARSE_OK && again == v,
          "printed value does not parse back");
}

/* ---- kit_parse_size ---------------------------------------------------- */

/* Reference: [0-9]+ then optional K/M/G (either case), and after a suffix
 * optionally "B", "b", "iB" or "ib"; value in 128-bit arithmetic. */
static enum kit_parse_status ref_size(const char *str, unsigned long long min,
                                      unsigned long long max,
                                      unsigned long long *v)
{
    if (*str == '\0')
        return KIT_PARSE_EMPTY;
    const char *p = str;
    unsigned __int128 n = 0;
    int big = 0;
    if (!is_digit(*p))
        return KIT_PARSE_SYNTAX;
    for (; is_digit(*p); p++) {
        n = n * 10 + (unsigned)(*p - '0');
        if (n > ULLONG_MAX) {
            big = 1;
            n = (unsigned __int128)ULLONG_MAX + 1; /* stays above the max */
        }
    }
    unsigned shift = 0;
    const char *sfx = strchr("kKmMgG", *p);
    if (*p != '\0' && sfx != NULL) {
        shift = (unsigned)(10 * (1 + (sfx - "kKmMgG") / 2));
        p++;
        if (strcmp(p, "B") == 0 || strcmp(p, "b") == 0)
            p += 1;
        else if (strcmp(p, "iB") == 0 || strcmp(p, "ib") == 0)
            p += 2;
    }
    if (*p != '\0')
        return KIT_PARSE_SYNTAX;
    if (big)
        return KIT_PARSE_RANGE;
    n <<= shift;
    if (n > ULLONG_MAX)
        return KIT_PARSE_RANGE;
    *v = (unsigned long long)n;
    if (*v < min || *v > max)
        return KIT_PARSE_RANGE;
    return KIT_PARSE_OK;
}

static void fuzz_size(const char *str, unsigned which)
{
    unsigned long long min = size_ranges[which % N(size_ranges)].min;
    unsigned long long max = size_ranges[which % N(size_ranges)].max;
    unsigned long long v = 0x5eed, ref = 0;
    enum kit_parse_status st = kit_parse_size(str, min, max, &v);
    enum kit_parse_status want = ref_size(str, min, max, &ref);
    CHECK(st == want, "kit_parse_size disagrees with the grammar");
    if (st != KIT_PARSE_OK) {
        CHECK(v == 0x5eed, "a rejected value was stored");
        return;
    }
    CHECK(v >= min && v <= max, "accepted size outside [min, max]");
    CHECK(v == ref, "accepted size differs from the reference");
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", v);
    unsigned long long again = 0;
    CHECK(kit_parse_size(buf, min, max, &again) == KIT_PARSE_OK && again == v,
          "printed size does not parse back");
    /* and with a suffix when it divides exactly */
    if (v != 0 && v % 1024 == 0) {
        snprintf(buf, sizeof buf, "%lluK", v / 1024);
        CHECK(kit_parse_size(buf, min, max, &again) == KIT_PARSE_OK &&
                  again == v,
              "size printed with K does not parse back");
    }
}

/* ---- kit_parse_double -------------------------------------------------- */

/* Reference: [+-]? ( [0-9]+ ( . [0-9]* )? | . [0-9]+ ), then strtod. */
static enum kit_parse_status ref_double(const char *str, double min, double max,
                                        double *v)
{
    if (*str == '\0')
        return KIT_PARSE_EMPTY;
    const char *p = str + (*str == '+' || *str == '-');
    int digits = 0;
    while (is_digit(*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (is_digit(*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0 || *p != '\0')
        return KIT_PARSE_SYNTAX;
    char *end;
    errno = 0;
    *v = strtod(str, &end);
    if (*end != '\0')
        return KIT_PARSE_SYNTAX;
    if (errno == ERANGE || !isfinite(*v) || *v < min || *v > max)
        return KIT_PARSE_RANGE;
    return KIT_PARSE_OK;
}

static void fuzz_double(const char *str, unsigned which)
{
    double min = dbl_ranges[which % N(dbl_ranges)].min;
    double max = dbl_ranges[which % N(dbl_ranges)].max;
    double v = 12345.0, ref = 0;
    enum kit_parse_status st = kit_parse_double(str, min, max, &v);
    enum kit_parse_status want = ref_double(str, min, max, &ref);
    CHECK(st == want, "kit_parse_double disagrees with the grammar");
    if (st != KIT_PARSE_OK) {
        CHECK(v == 12345.0, "a rejected value was stored");
        return;
    }
    CHECK(isfinite(v) && v >= min && v <= max,
          "accepted number outside [min, max]");
    CHECK(v == ref, "accepted number differs from strtod's");
    /* Round trip through the shortest exact form printf gives without an
     * exponent (the grammar has none): %.17g is exact; skip when it needs
     * an exponent. */
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    if (strchr(buf, 'e') == NULL) {
        double again = 0;
        CHECK(kit_parse_double(buf, min, max, &again) == KIT_PARSE_OK &&
                  again == v,
              "printed number does not parse back");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 256)
        return 0;
    char str[256];
    size_t n = size - 2;
    memcpy(str, data + 2, n);
    str[n] = '\0'; /* stops at an embedded NUL, as a C string would */
    int kind = data[0] == 'i'   ? 0
               : data[0] == 's' ? 1
               : data[0] == 'd' ? 2
                                : data[0] % 3;
    unsigned which =
        (unsigned)(data[1] + 256 - '0') % 256; /* '0' -> 0, '1' -> 1, ... */
    switch (kind) {
    case 0: fuzz_ll(str, which); break;
    case 1: fuzz_size(str, which); break;
    default: fuzz_double(str, which); break;
    }
    return 0;
}
