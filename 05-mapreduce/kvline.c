/*
 * kvline.c - strict parser for "key<TAB>count" lines (see kvline.h).
 *
 * Why not strtoull(): it skips leading spaces, accepts a sign (and turns
 * "-1" into 18446744073709551615 without complaint), accepts "0x1f" with
 * base 0, and stops quietly at the first junk character.  A reducer that
 * used it would sum garbage.  Counting digits by hand, with the overflow
 * check before each multiply, is shorter than guarding strtoull.
 */
#include "kvline.h"

#include <string.h>

enum kvline_status kvline_parse(const char *line, size_t len, kvline *out)
{
    const char *tab = memchr(line, '\t', len);
    if (tab == NULL)
        return KVLINE_NO_TAB;
    const char *val = tab + 1;
    size_t val_len = len - (size_t)(val - line);
    out->val = val;
    out->val_len = val_len;
    if (tab == line)
        return KVLINE_EMPTY_KEY;
    if (val_len > 0 && val[0] == '-')
        return KVLINE_NEGATIVE;
    if (val_len == 0)
        return KVLINE_NOT_COUNT;
    uint64_t v = 0;
    for (size_t i = 0; i < val_len; i++) {
        unsigned d = (unsigned char)val[i] - (unsigned)'0';
        if (d > 9)
            return KVLINE_NOT_COUNT;
        /* v * 10 + d <= UINT64_MAX  <=>  v <= (UINT64_MAX - d) / 10 */
        if (v > (UINT64_MAX - d) / 10) {
            /* Say "overflow" only if the rest is digits too: "9...9x" is
             * simply not a count. */
            for (size_t j = i + 1; j < val_len; j++)
                if ((unsigned char)val[j] - (unsigned)'0' > 9)
                    return KVLINE_NOT_COUNT;
            return KVLINE_OVERFLOW;
        }
        v = v * 10 + d;
    }
    out->key = line;
    out->key_len = (size_t)(tab - line);
    out->value = v;
    return KVLINE_OK;
}

const char *kvline_strerror(enum kvline_status s)
{
    switch (s) {
    case KVLINE_OK: return "ok";
    case KVLINE_NO_TAB: return "no TAB between key and value";
    case KVLINE_EMPTY_KEY: return "empty key";
    case KVLINE_NEGATIVE: return "is negative";
    case KVLINE_NOT_COUNT: return "is not a count";
    case KVLINE_OVERFLOW: return "does not fit in a 64-bit count";
    }
    return "unknown error";
}

bool kvline_add(uint64_t *sum, uint64_t v)
{
    if (v > UINT64_MAX - *sum)
        return false;
    *sum += v;
    return true;
}

size_t kvline_format_u64(uint64_t v, char buf[20])
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

bool kvline_write(FILE *f, const char *key, size_t key_len, uint64_t v)
{
    char tail[1 + 20 + 1];
    tail[0] = '\t';
    size_t n = 1 + kvline_format_u64(v, tail + 1);
    tail[n++] = '\n';
    return fwrite(key, 1, key_len, f) == key_len && fwrite(tail, 1, n, f) == n;
}
