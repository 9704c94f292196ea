/*
 * wc_mapper.c - Hadoop Streaming mapper: text on stdin -> "word<TAB>count"
 *
 * The "map" of word count as a plain Unix filter, which is all Hadoop
 * Streaming asks of a mapper: read records (lines of text) on stdin, write
 * key<TAB>value lines on stdout, exit 0.  Hadoop then sorts the pairs by
 * key and feeds each reducer its share, equal keys together -- locally,
 * `LC_ALL=C sort` plays that part:
 *
 *     cat F | ./wc_mapper | LC_ALL=C sort | ./wc_reducer
 *
 * prints exactly what ./wordcount F prints.
 *
 * Words are those of words.h (Unicode letters and digits in UTF-8,
 * lowercased; everything else separates).  The textbook mapper emits
 * "word<TAB>1" for every word; this one combines in the mapper: it counts
 * in a hash table and prints each distinct word once with its count, which
 * shrinks what the shuffle must move (try --max-distinct 0 for the textbook
 * version and compare `| wc -l`).  To keep memory bounded whatever the
 * input, the table is flushed (printed and emptied) whenever it holds
 * --max-distinct words or 16 MiB of them (a single word longer than that
 * is printed at once with count 1); the reducer adds the partial counts
 * up, so the answer is the same.  Memory: the table, one read chunk and
 * the longest word -- not the input.
 *
 * What you will observe: one line per distinct word, in no particular
 * order (hash order: sorting is the shuffle's job, not the mapper's).
 *
 * Usage:   ./wc_mapper [--max-distinct N] < text
 * Exit:    0 on success, 1 on a read or write error, 2 on bad usage.
 *
 * See also: wc_reducer.c (the other half), words.h (the word rule),
 * wordcount.c (the same job on this lab's own runtime), README.md (Hadoop Streaming);
 * the Hadoop Streaming guide: hadoop.apache.org/docs/stable/
 *   hadoop-streaming/HadoopStreaming.html
 */
#include "cli.h"
#include "err.h"
#include "xpthread.h"

#include "kvline.h"
#include "words.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    DEFAULT_MAX_DISTINCT = 65536,
    MAX_MAX_DISTINCT = 100000000,
    READ_CHUNK = 1 << 20,   /* bytes per read(2) */
    ARENA_LIMIT = 16 << 20, /* flush when the words take this much */
    OUT_BUFFER = 1 << 16,   /* stdout buffer */
};

/* One distinct word: its bytes live in the arena at [off, off + len). */
typedef struct {
    uint64_t hash;  /* FNV-1a of the word; 0 never stored (marks empty) */
    uint64_t count; /* occurrences since the last flush, >= 1 */
    size_t off;     /* offset of the word in arena */
    size_t len;     /* word length in bytes, >= 1 */
} slot;

/* The in-mapper combiner: an open-addressing hash table (linear probing). */
typedef struct {
    slot *slots;         /* cap entries; hash == 0 means empty */
    size_t cap;          /* a power of two; used <= cap / 2 */
    size_t used;         /* distinct words held, <= max_distinct */
    char *arena;         /* the words' bytes, back to back */
    size_t arena_len;    /* bytes in use */
    size_t arena_cap;    /* bytes allocated */
    size_t max_distinct; /* flush before holding more; 0: no combining */
} combiner;

static void put_line(const char *w, size_t len, uint64_t count)
{
    if (!kvline_write(stdout, w, len, count))
        die_errno("write stdout");
}

/* Print every held word with its count and empty the table. */
static void flush(combiner *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        slot *s = &c->slots[i];
        if (s->hash != 0) {
            put_line(c->arena + s->off, s->len, s->count);
            s->hash = 0;
        }
    }
    c->used = 0;
    c->arena_len = 0;
    if (c->arena_cap > ARENA_LIMIT) { /* one giant word: give it back */
        free(c->arena);
        c->arena = NULL;
        c->arena_cap = 0;
    }
}

static uint64_t fnv1a(const char *w, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 0x100000001b3u;
    return h ? h : 1; /* 0 marks an empty slot */
}

static void grow_table(combiner *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    slot *s = xcalloc(cap, sizeof *s);
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i].hash == 0)
            continue;
        size_t j = c->slots[i].hash & (cap - 1);
        while (s[j].hash != 0)
            j = (j + 1) & (cap - 1);
        s[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = s;
    c->cap = cap;
}

/* words_scan's callback: count one word. */
static void on_word(const char *w, size_t len, void *ctx)
{
    combiner *c = ctx;
    /* The textbook mapper, (word, 1), on request; and for a giant word
     * always: copying 50 MB into the table to count it once would double
     * the memory for nothing (the reducer adds partial counts anyway). */
    if (c->max_distinct == 0 || len > ARENA_LIMIT) {
        put_line(w, len, 1);
        return;
    }
    uint64_t h = fnv1a(w, len);
    size_t j = h & (c->cap - 1);
    for (; c->slots[j].hash != 0; j = (j + 1) & (c->cap - 1)) {
        slot *s = &c->slots[j];
        if (s->hash == h && s->len == len &&
            memcmp(c->arena + s->off, w, len) == 0) {
            s->count++;
            return;
        }
    }
    /* A new word.  Make room first; both may flush or rehash, so the
     * probe is redone afterwards. */
    if (c->used == c->max_distinct || c->arena_len >= ARENA_LIMIT)
        flush(c);
    if (2 * (c->used + 1) > c->cap)
        grow_table(c);
    if (len > c->arena_cap - c->arena_len) {
        size_t need = c->arena_len + len;
        size_t cap = c->arena_cap ? c->arena_cap : 4096;
        while (cap < need)
            cap *= 2;
        c->arena = xrealloc(c->arena, cap);
        c->arena_cap = cap;
    }
    memcpy(c->arena + c->arena_len, w, len);
    j = h & (c->cap - 1);
    while (c->slots[j].hash != 0)
        j = (j + 1) & (c->cap - 1);
    c->slots[j] =
        (slot){.hash = h, .count = 1, .off = c->arena_len, .len = len};
    c->arena_len += len;
    c->used++;
}

/*
 * Read all of stdin in chunks and scan it.  A chunk usually ends inside a
 * word, so only the part up to the last separator is scanned
 * (words_cut_back) and the tail is carried over to the next read.  A word
 * longer than the buffer makes the buffer grow: memory is bounded by the
 * chunk size plus the longest word, not by the input.
 */
static void map_stdin(combiner *c)
{
    size_t cap = READ_CHUNK, have = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (cap - have < READ_CHUNK / 2) { /* a long word: make room */
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t got = read(STDIN_FILENO, buf + have, cap - have);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            die_errno("read stdin");
        }
        if (got == 0) { /* EOF: whatever is left is complete */
            words_scan(buf, have, on_word, c);
            break;
        }
        /* Invariant: the carried-over buf[0..have) holds no separator
         * (words_cut_back found the last one before it), so only the new
         * bytes are searched.  Searching all of buf each time would make
         * a 50 MB word arriving through a pipe, 64 KiB per read, cost
         * 50 MB x 800 reads. */
        size_t old = have;
        have += (size_t)got;
        size_t back = words_cut_back(buf + old, have - old);
        size_t cut = back ? old + back : 0;
        words_scan(buf, cut, on_word, c);
        memmove(buf, buf + cut, have - cut);
        have -= cut;
    }
    free(buf);
}

static const char usage[] =
    "usage: wc_mapper [--max-distinct N] < TEXT\n"
    "\n"
    "The map step of word count, as a Hadoop Streaming mapper: reads text on\n"
    "stdin, prints 'word<TAB>count' lines on stdout (one per distinct word,\n"
    "in hash order).  Words: Unicode letters and digits in UTF-8, lowercased.\n"
    "\n"
    "      --max-distinct N  in-mapper combining: hold at most N distinct\n"
    "                        words, then print them and start again\n"
    "                        (0..100000000, default 65536; 0 prints\n"
    "                        'word<TAB>1' for every word, the textbook "
    "mapper)\n"
    "  -h, --help            this text\n"
    "\n"
    "Example (the whole MapReduce job, locally; Hadoop runs the same two\n"
    "programs with its own sort in between):\n"
    "  printf 'Deer Bear River\\nCar Car River\\nDeer Car Bear\\n' |\n"
    "      ./wc_mapper | LC_ALL=C sort | ./wc_reducer\n";

int main(int argc, char *argv[])
{
    kit_set_prog("wc_mapper");
    enum { OPT_MAX_DISTINCT = 256 };
    /* Long only: -c means --consumers in the kit. */
    static const struct option longopts[] = {
        {"max-distinct", required_argument, NULL, OPT_MAX_DISTINCT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t max_distinct = DEFAULT_MAX_DISTINCT;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_MAX_DISTINCT:
            max_distinct =
                (size_t)opt_int("--max-distinct", optarg, 0, MAX_MAX_DISTINCT);
            break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(opt, argv, longopts);
        }
    }
    kit_no_operands(argc, argv);

    words_init();
    static char outbuf[OUT_BUFFER];
    if (setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf) != 0)
        die("setvbuf failed");
    combiner c = {.max_distinct = max_distinct};
    if (max_distinct > 0)
        grow_table(&c);
    map_stdin(&c);
    if (max_distinct > 0)
        flush(&c);
    free(c.slots);
    free(c.arena);
    /* Output errors (a full disk, a closed pipe) surface here at the
     * latest: a mapper that loses output must not exit 0. */
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("write stdout");
    return 0;
}
