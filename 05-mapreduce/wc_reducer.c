/*
 * wc_reducer.c - Hadoop Streaming reducer: sorted "key<TAB>count" -> totals
 *
 * The "reduce" of word count as a plain Unix filter.  Hadoop Streaming
 * sorts the mappers' output by key and pipes each reducer its share as
 * "key<TAB>value" lines; all lines of one key arrive one after another.
 * So a reducer needs to remember only the current key and its running
 * total: when the key changes, the previous run is complete -- print it.
 * Memory: one key and one line, whatever the input size.
 *
 *     cat F | ./wc_mapper | LC_ALL=C sort | ./wc_reducer
 *
 * What you will observe: "word<TAB>total" lines in the order of the input
 * (sorted, so the output is sorted too).  A bad line -- no TAB, an empty
 * key, a value that is not a decimal count, a count or a total beyond
 * 2^64-1, a key smaller than the one before (input not sorted) -- stops the
 * reducer with its line number and exit status 1:
 *     wc_reducer: line 3: value 'x' is not a count
 * That is what Hadoop expects of a task that cannot do its job: a non-zero
 * exit fails the task attempt (and, after retries, the job), instead of a
 * wrong total slipping into the output.
 *
 * Usage:   ./wc_reducer < sorted-pairs
 * Exit:    0 on success, 1 on bad input or an I/O error, 2 on bad usage.
 *
 * See also: wc_mapper.c (the other half), kvline.h (the line format),
 * README.md (Hadoop Streaming); the MapReduce paper (Dean & Ghemawat, OSDI 2004),
 * section 2: reduce(key, list of values).
 */
#include "cli.h"
#include "err.h"
#include "xpthread.h"

#include "kvline.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

enum { SHOW_MAX = 40, OUT_BUFFER = 1 << 16 };

/* The reducer's whole state. */
typedef struct {
    char *key;      /* the previous line's key (malloc'd); valid if seen */
    size_t key_len; /* its length, >= 1 */
    size_t key_cap; /* bytes allocated at key */
    bool seen;      /* at least one line has been read */
    bool run;       /* a run of `key` is open and total is its sum so far */
    uint64_t total; /* sum of the values of the open run */
    uint64_t line;  /* number of the line being read, from 1 */
} reducer;

/* Text for an error message: at most SHOW_MAX bytes, control bytes as '?',
 * so a binary line cannot mess up the terminal. */
static const char *show(const char *s, size_t n, char out[SHOW_MAX + 4])
{
    size_t k = 0;
    for (; k < n && k < SHOW_MAX; k++) {
        unsigned char b = (unsigned char)s[k];
        if (b < 0x20 || b == 0x7f)
            out[k] = '?';
        else
            out[k] = s[k];
    }
    if (n > SHOW_MAX) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k] = '\0';
    return out;
}

static void emit(const char *key, size_t len, uint64_t total)
{
    if (!kvline_write(stdout, key, len, total))
        die_errno("write stdout");
}

/* Byte order, as `LC_ALL=C sort` and Hadoop's Text keys compare. */
static int key_cmp(const reducer *r, const kvline *kv)
{
    size_t n = r->key_len < kv->key_len ? r->key_len : kv->key_len;
    int c = memcmp(r->key, kv->key, n);
    if (c != 0)
        return c;
    return (r->key_len > kv->key_len) - (r->key_len < kv->key_len);
}

static void remember_key(reducer *r, const kvline *kv)
{
    if (kv->key_len > r->key_cap || r->key == NULL) {
        r->key_cap = kv->key_len;
        r->key = xrealloc(r->key, r->key_cap);
    }
    memcpy(r->key, kv->key, kv->key_len);
    r->key_len = kv->key_len;
    r->seen = true;
}

static void bad_line(const reducer *r, enum kvline_status s, const kvline *kv)
{
    char v[SHOW_MAX + 4];
    if (s == KVLINE_NO_TAB || s == KVLINE_EMPTY_KEY)
        die("line %llu: %s", (unsigned long long)r->line, kvline_strerror(s));
    die("line %llu: value '%s' %s", (unsigned long long)r->line,
        show(kv->val, kv->val_len, v), kvline_strerror(s));
}

/* One parsed line.  Runs of equal keys are summed; a new key closes the
 * previous run. */
static void reduce_line(reducer *r, const kvline *kv)
{
    if (r->seen && key_cmp(r, kv) > 0) {
        char a[SHOW_MAX + 4], b[SHOW_MAX + 4];
        die("line %llu: key '%s' comes after '%s': the input must be sorted "
            "(pipe it through LC_ALL=C sort)",
            (unsigned long long)r->line, show(kv->key, kv->key_len, a),
            show(r->key, r->key_len, b));
    }
#ifndef HANDOUT
    if (r->run && key_cmp(r, kv) == 0) {
        if (!kvline_add(&r->total, kv->value)) {
            char k[SHOW_MAX + 4];
            die("line %llu: total for key '%s' does not fit in a 64-bit "
                "count",
                (unsigned long long)r->line, show(kv->key, kv->key_len, k));
        }
    } else {
        if (r->run) /* the previous key's run is complete */
            emit(r->key, r->key_len, r->total);
        r->total = kv->value;
        r->run = true;
    }
#else
    /* TODO(05.2): sum runs of equal keys.  If a run is open (r->run) and
     * this line has the same key (key_cmp(r, kv) == 0), add kv->value to
     * r->total with kvline_add (a total beyond 2^64-1 is an error naming
     * the line); otherwise print the finished run with emit(r->key,
     * r->key_len, r->total) and start a new one.  main() prints the last
     * run.  This stub prints every line as it came: no summing at all. */
    emit(kv->key, kv->key_len, kv->value);
#endif
    remember_key(r, kv);
}

static const char usage[] =
    "usage: wc_reducer < SORTED_PAIRS\n"
    "\n"
    "The reduce step of word count, as a Hadoop Streaming reducer: reads\n"
    "'key<TAB>count' lines sorted by key (bytewise, as LC_ALL=C sort does),\n"
    "prints 'key<TAB>total' once per key.  A malformed line (no TAB, empty\n"
    "key, a value that is not a decimal count, a count or total above\n"
    "2^64-1, unsorted keys) stops it with the line number and exit 1.\n"
    "\n"
    "  -h, --help   this text\n"
    "\n"
    "Example:\n"
    "  printf 'bear\\t1\\nbear\\t2\\ncar\\t3\\n' | ./wc_reducer\n"
    "  cat F | ./wc_mapper | LC_ALL=C sort | ./wc_reducer\n";

int main(int argc, char *argv[])
{
    kit_set_prog("wc_reducer");
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': kit_help(usage);
        default: kit_opt_fail(opt, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    static char outbuf[OUT_BUFFER];
    if (setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf) != 0)
        die("setvbuf failed");
    reducer r = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    /* getline, not fgets: a key may be of any length, and a line may hold
     * NUL bytes (got counts them). */
    while ((got = getline(&line, &cap, stdin)) != -1) {
        r.line++;
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n') /* the last may lack one */
            len--;
        kvline kv;
        enum kvline_status s = kvline_parse(line, len, &kv);
        if (s != KVLINE_OK)
            bad_line(&r, s, &kv);
        reduce_line(&r, &kv);
    }
    if (ferror(stdin))
        die_errno("read stdin");
    if (r.run)
        emit(r.key, r.key_len, r.total);
    free(line);
    free(r.key);
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("write stdout");
    return 0;
}
