/*
 * fuzz_reducer.c - libFuzzer target: the line parser of wc_reducer.
 *
 * The input is split into lines at '\n' and each goes through
 * kvline_parse, as wc_reducer does.  Checked for every line:
 *   - no crash, no read outside the line (ASan, UBSan);
 *   - the verdict agrees with a plain restatement of the grammar
 *     (key: >= 1 byte before the first TAB; value: >= 1 ASCII digit and
 *     nothing else; number <= UINT64_MAX, checked with long division);
 *   - a valid line round-trips: formatting key TAB value and parsing that
 *     again gives the same key and value, and for a value without leading
 *     zeros the formatted line is byte-identical to the input.
 * kvline_add is checked against the obvious overflow rule on the values.
 *
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
 *       -fsanitize=fuzzer,address,undefined -Icommon \
 *       tests/fuzz/fuzz_reducer.c 05-mapreduce/kvline.c common/\*.c -o fr
 *   ./fr -max_total_time=60 tests/fuzz/corpus/reducer
 */
#include "../../05-mapreduce/kvline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, what) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_reducer: %s: line '%.*s'\n", what, \
                    (int)(len < 200 ? len : 200), line); \
            abort(); \
        } \
    } while (0)

/* Is the decimal digit string d[0..n) <= UINT64_MAX?  Compared as text,
 * after dropping leading zeros: a different method from kvline's. */
static int fits_u64(const char *d, size_t n)
{
    static const char max[] = "18446744073709551615";
    while (n > 1 && d[0] == '0')
        d++, n--;
    if (n != sizeof max - 1)
        return n < sizeof max - 1;
    return memcmp(d, max, n) <= 0;
}

static void one_line(const char *line, size_t len, uint64_t *sum, int *sum_ok)
{
    kvline kv;
    enum kvline_status s = kvline_parse(line, len, &kv);

    const char *tab = memchr(line, '\t', len);
    enum kvline_status want;
    if (tab == NULL) {
        want = KVLINE_NO_TAB;
    } else if (tab == line) {
        want = KVLINE_EMPTY_KEY;
    } else {
        const char *v = tab + 1;
        size_t vn = len - (size_t)(v - line);
        size_t digits = 0;
        while (digits < vn && v[digits] >= '0' && v[digits] <= '9')
            digits++;
        if (vn > 0 && v[0] == '-')
            want = KVLINE_NEGATIVE;
        else if (vn == 0 || digits != vn)
            want = KVLINE_NOT_COUNT;
        else if (!fits_u64(v, vn))
            want = KVLINE_OVERFLOW;
        else
            want = KVLINE_OK;
    }
    CHECK(s == want, "verdict differs from the grammar");
    CHECK(kvline_strerror(s) != NULL, "no message");
    if (s != KVLINE_OK)
        return;

    CHECK(kv.key == line && kv.key_len == (size_t)(tab - line), "wrong key");
    /* Round trip. */
    char *again = malloc(kv.key_len + 1 + 20);
    if (again == NULL)
        abort();
    memcpy(again, kv.key, kv.key_len);
    again[kv.key_len] = '\t';
    size_t n =
        kv.key_len + 1 + kvline_format_u64(kv.value, again + kv.key_len + 1);
    kvline kv2;
    CHECK(kvline_parse(again, n, &kv2) == KVLINE_OK, "formatted line rejected");
    CHECK(kv2.value == kv.value && kv2.key_len == kv.key_len &&
              memcmp(kv2.key, kv.key, kv.key_len) == 0,
          "round trip changed the pair");
    if (kv.val_len == 1 || kv.val[0] != '0')
        CHECK(n == len && memcmp(again, line, len) == 0,
              "canonical line not reproduced byte for byte");
    free(again);

    /* Summation: overflow exactly when the true sum exceeds UINT64_MAX. */
    if (*sum_ok) {
        uint64_t before = *sum;
        int fits = kv.value <= UINT64_MAX - before;
        int ok = kvline_add(sum, kv.value);
        CHECK(ok == fits, "kvline_add overflow verdict wrong");
        CHECK(ok ? *sum == before + kv.value : *sum == before,
              "kvline_add changed the sum wrongly");
        if (!ok)
            *sum_ok = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);
    uint64_t sum = 0;
    int sum_ok = 1;
    size_t start = 0;
    while (start < size) {
        const char *nl = memchr(buf + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - buf) : size;
        /* Each line in its own exact-size allocation: ASan then catches a
         * read one past the line, as getline's buffer would not. */
        size_t len = end - start;
        char *line = malloc(len ? len : 1);
        if (line == NULL)
            abort();
        if (len)
            memcpy(line, buf + start, len);
        one_line(line, len, &sum, &sum_ok);
        free(line);
        start = end + 1;
    }
    free(buf);
    return 0;
}
