/*
 * mr.c - the MapReduce runtime: split, map + combine, shuffle, reduce,
 * merge, on threads or on forked worker processes.  See mr.h.
 *
 * Reading guide: the tasks (run_map, run_reduce) are the same code for both
 * worker kinds; only where their outputs live differs (memory or files).
 * Then come the two schedulers (threads_phase, procs_phase), the planner
 * (plan_splits), --explain, and mr_run tying the phases together.
 */
#include "mr.h"

#include "err.h"
#include "table.h"
#include "term.h"
#include "timing.h"
#include "words.h"
#include "xpthread.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bytes a map task reads per pread: 256 KiB stay in the L2 cache next to
 * the combiner table. */
#define CHUNK (1u << 18)
#define PATHLEN 4096
#define MAX_WORKERS 256 /* the CLI's --jobs limit */
#define CRASH_EXIT 42   /* a worker "dying" with _exit */

/* ---------------------------------------------------------------------
 * Growable byte buffers and the record formats inside them.
 *   map output (one per map task and partition): u32 klen, u64 value, key
 *   reduce output (one per partition, sorted):    u32 klen, u32 tlen,
 *                                                u64 value, key, text
 * ------------------------------------------------------------------- */
typedef struct {
    char *p;
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated; len <= cap */
} buf_t;

static void buf_reserve(buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void buf_put(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_free(buf_t *b)
{
    free(b->p);
    *b = (buf_t){0};
}

static void pair_put(buf_t *b, const char *key, uint32_t klen, uint64_t v)
{
    buf_reserve(b, 12 + (size_t)klen);
    memcpy(b->p + b->len, &klen, 4);
    memcpy(b->p + b->len + 4, &v, 8);
    if (klen)
        memcpy(b->p + b->len + 12, key, klen);
    b->len += 12 + (size_t)klen;
}

/* Read the pair at *off in b; false at the end.  Dies on a torn record
 * (it cannot happen with rename-published files; it is a check). */
static bool pair_next(const buf_t *b, size_t *off, const char **key,
                      uint32_t *klen, uint64_t *v)
{
    if (*off >= b->len)
        return false;
    if (b->len - *off < 12)
        die("corrupt intermediate data (a truncated record)");
    memcpy(klen, b->p + *off, 4);
    memcpy(v, b->p + *off + 4, 8);
    if (b->len - *off - 12 < *klen)
        die("corrupt intermediate data (a truncated key)");
    *key = b->p + *off + 12;
    *off += 12 + (size_t)*klen;
    return true;
}

struct mr_text {
    buf_t b;
};

void mr_text_add(mr_text *t, const char *s, size_t n) { buf_put(&t->b, s, n); }

/* ---------------------------------------------------------------------
 * Hashing and partitioning
 * ------------------------------------------------------------------- */
/* The bytes of a key of 0..8 bytes as one 64-bit word, with no loop and
 * no read past its end: 4..8 bytes are two 4-byte loads that overlap in
 * the middle (first four, last four); 1..3 bytes are the first, middle and
 * last byte.  For a given length that is one-to-one (every byte is in the
 * word), so two keys of the same length are equal iff their words are. */
static inline uint64_t load_upto8(const unsigned char *p, size_t len)
{
    if (len >= 4) {
        uint32_t first, last;
        memcpy(&first, p, 4);
        memcpy(&last, p + len - 4, 4);
        return (uint64_t)first | (uint64_t)last << 32;
    }
    if (len == 0)
        return 0;
    return (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
           (uint64_t)p[len - 1] << 16;
}

/*
 * A key of up to SHORT_KEY bytes -- nearly every word -- as two 64-bit
 * words: its bytes in order, zero-padded to 16 (w[0] = bytes 0..7, w[1] =
 * bytes 8..15, in memory order).  For a given length that is one-to-one, so
 * two short keys of the same length are equal iff their words are: the
 * combiner compares a key with two compares instead of a branch on its
 * length (callgrind: ~0.4 mispredicts per word, as was the hash's loop),
 * and the hash below mixes them with no loop.  Loaded with no read past
 * the key's end.
 */
#define SHORT_KEY 16

typedef struct {
    uint64_t w[2];
} key16;

static inline key16 key16_load(const unsigned char *p, size_t len)
{
    key16 k = {{0, 0}};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* In registers: byte i of the key is bits 8i..8i+7 of its word; pieces
     * that overlap hold the same bytes, so OR-ing them is harmless.  (Not
     * a zeroed buffer filled by memcpy: reading 8 bytes back from several
     * smaller stores stalls store-to-load forwarding.) */
    if (len > 8) { /* 9..16: first eight, then the last eight shifted down */
        uint64_t last;
        memcpy(&k.w[0], p, 8);
        memcpy(&last, p + len - 8, 8);
        k.w[1] = last >> (8 * (16 - len));
    } else if (len >= 4) { /* 4..8: first four, last four */
        uint32_t first, last;
        memcpy(&first, p, 4);
        memcpy(&last, p + len - 4, 4);
        k.w[0] = (uint64_t)first | (uint64_t)last << (8 * (len - 4));
    } else if (len > 0) { /* 1..3: first, middle and last byte */
        k.w[0] = (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
                 (uint64_t)p[len - 1] << (8 * (len - 1));
    }
#else
    /* Any byte order: a zeroed buffer, the bytes, then the words. */
    unsigned char b[SHORT_KEY] = {0};
    memcpy(b, p, len);
    memcpy(k.w, b, sizeof b);
#endif
    return k;
}

/* The hash of a short key: the words folded in one multiply each, then a
 * finalizer.  Bit j of a product depends only on bits 0..j of its input, so
 * after the two multiplies only the TOP bits have seen every byte of the
 * key; the final xor-shift / multiply / xor-shift carries them down to the
 * low bits too, which mr_partition uses (hash % R: without it, keys such as
 * "user00001".."user99999" crowded into a few partitions).  Each step is a
 * bijection of each word, so two keys of one length that differ in one word
 * never collide.  No branch at all. */
static inline uint64_t hash_key16(key16 k, size_t len)
{
    uint64_t h = (k.w[0] ^ (uint64_t)len * 0x9E3779B97F4A7C15ULL) *
                 0xBF58476D1CE4E5B9ULL;
    h = (h ^ k.w[1]) * 0x94D049BB133111EBULL;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return h ^ h >> 32;
}

/* Any key: a short one as above; a longer one eight bytes at a time, the
 * last 1..8 bytes as one load_upto8().  Every output bit depends on every
 * input bit, which both the tables and mr_partition rely on. */
static inline uint64_t hash_key(const void *key, size_t len)
{
    const unsigned char *p = key;
    if (len <= SHORT_KEY)
        return hash_key16(key16_load(p, len), len);
    uint64_t h =
        0x243F6A8885A308D3ULL ^ ((uint64_t)len * 0x9E3779B97F4A7C15ULL);
    while (len > 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    h = (h ^ load_upto8(p, len)) * 0x94D049BB133111EBULL;
    h ^= h >> 29;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return h;
}

uint64_t mr_hash(const void *key, size_t len) { return hash_key(key, len); }

unsigned mr_partition(uint64_t hash, unsigned nreduce)
{
#ifndef HANDOUT
    /* The hash is well mixed, so its remainder spreads keys evenly; the
     * same key always has the same hash, so it always meets its other
     * values in the same reducer. */
    return (unsigned)(hash % nreduce);
#else
    /* TODO(05.1): return the reduce partition of a key with this hash: a
     * number in 0..nreduce-1, the same for the same hash, spreading keys
     * evenly over all the partitions. */
    (void)hash;
    (void)nreduce;
    return 0;
#endif
}

/* ---------------------------------------------------------------------
 * The in-mapper combiner: a hash table from key to combined value, looked
 * up once per emitted pair -- the hottest code of the whole job.
 *
 * Open addressing with linear probing: a key lives in the first free slot
 * at or after its home slot, so a lookup reads consecutive slots, usually
 * in one cache line.  The capacity is a power of two (the home slot is a
 * shift, not a division) and at most 3/4 full (a hit probes ~2 slots on
 * average: one cache line).  The home slot is the hash's TOP bits:
 * mr_partition uses the low ones, so every key in one partition has the
 * same low bits.
 *
 * Why a slot is 32 bytes with the key inside it: the table outgrows the
 * L2 cache (100,000 distinct words), so a lookup's cost is the cache lines
 * it touches.  Two slots fill a 64-byte line exactly (the table is
 * line-aligned, so no slot straddles two lines), and a key of up to
 * INLINE_KEY bytes -- 99.9% of the words of an English text -- is compared
 * right there, with no second miss in a separate key array.  Longer keys
 * live in an arena and the slot holds their offset.
 * ------------------------------------------------------------------- */
#define EMPTY UINT32_MAX      /* klen of a free slot */
#define EMPTY_META UINT64_MAX /* meta of a free slot (its klen is EMPTY) */
#define INLINE_KEY SHORT_KEY
#define CACHE_LINE 64

typedef struct {
    uint64_t meta; /* the hash's low 32 bits | klen << 32: one compare
                      checks both before the key; EMPTY_META: free */
    uint64_t val;  /* combined value */
    union {
        char inl[INLINE_KEY]; /* klen <= INLINE_KEY: the key, zero-padded
                                 (the bytes of its key16) */
        uint32_t off;         /* else: the key is at arena + off */
    } key;
} cslot;
_Static_assert(sizeof(cslot) * 2 == CACHE_LINE, "two slots per cache line");

static inline uint64_t slot_meta(uint64_t hash, size_t klen)
{
    return (uint32_t)hash | (uint64_t)klen << 32;
}

static inline uint32_t slot_klen(const cslot *s)
{
    return (uint32_t)(s->meta >> 32);
}

typedef struct {
    cslot *slots;  /* 1 << bits slots, CACHE_LINE-aligned */
    unsigned bits; /* capacity = 1 << bits */
    size_t used;   /* occupied slots; kept <= capacity * 3/4 */
    buf_t arena;   /* the keys longer than INLINE_KEY, each once */
    /* The arrays the table has outgrown, freed with the table: freeing a
     * large block unmaps it, and unmapping memory in a process whose other
     * threads run flushes their TLBs by interrupting their cores (perf:
     * smp_call_function_many_cond and the interrupts' sending, ~10% of a
     * -j 2 run).  They add up to less than the table itself.  The table
     * starts at 2^10 slots and cannot pass 2^63, so 64 places are enough. */
    cslot *retired[64];
    int nretired;
} ctab;
_Static_assert(sizeof(((ctab *)0)->retired) / sizeof(cslot *) >= 64 - 10,
               "a place for every doubling from 2^10 slots");

static const char *slot_key(const ctab *t, const cslot *s)
{
    return slot_klen(s) <= INLINE_KEY ? s->key.inl : t->arena.p + s->key.off;
}

/* n free slots (meta = EMPTY_META), aligned to a cache line. */
static cslot *slots_new(size_t n)
{
    void *p = NULL;
    int e = posix_memalign(&p, CACHE_LINE, n * sizeof(cslot));
    if (e != 0)
        die_code(e, "posix_memalign of %zu bytes", n * sizeof(cslot));
    memset(p, 0xff, n * sizeof(cslot));
    return p;
}

static void ctab_clear(ctab *t)
{
    if (!t->slots) {
        t->bits = 10;
        t->slots = slots_new((size_t)1 << t->bits);
    } else {
        memset(t->slots, 0xff, sizeof(cslot) << t->bits); /* all EMPTY_META */
    }
    t->used = 0;
    t->arena.len = 0;
}

/* Double the capacity.  A slot keeps only 32 bits of its hash, so each
 * key's hash is computed again: rare (the table doubles a dozen times per
 * worker, then is reused by its later tasks). */
static void ctab_grow(ctab *t)
{
    unsigned nbits = t->bits + 1;
    size_t ncap = (size_t)1 << nbits;
    cslot *ns = slots_new(ncap);
    for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
        cslot *s = &t->slots[i];
        if (s->meta == EMPTY_META)
            continue;
        size_t j =
            (size_t)(hash_key(slot_key(t, s), slot_klen(s)) >> (64 - nbits));
        while (ns[j].meta != EMPTY_META)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    t->retired[t->nretired++] = t->slots; /* room: see the assert at ctab */
    t->slots = ns;
    t->bits = nbits;
}

/* Equal keys of n bytes?  Called once per word, and most words are
 * short: up to 16 bytes take two fixed-size loads per side (overlapping,
 * as in load_upto8) instead of a byte loop or a call to memcmp. */
static inline bool same_key(const char *a, const char *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a,
                        *y = (const unsigned char *)b;
    if (n <= 8)
        return load_upto8(x, n) == load_upto8(y, n);
    if (n <= 16) {
        uint64_t x0, x1, y0, y1;
        memcpy(&x0, x, 8);
        memcpy(&y0, y, 8);
        memcpy(&x1, x + n - 8, 8);
        memcpy(&y1, y + n - 8, 8);
        return x0 == y0 && x1 == y1;
    }
    return memcmp(a, b, n) == 0;
}

/* Does inline slot s hold the short key k?  Two compares, no branch. */
static inline bool slot_is(const cslot *s, key16 k)
{
    uint64_t w[2];
    memcpy(w, s->key.inl, sizeof w);
    return ((w[0] ^ k.w[0]) | (w[1] ^ k.w[1])) == 0;
}

/* A new key into free slot i (the one that ended its probe).  A short key
 * (klen <= INLINE_KEY) comes as its key16 k; a longer one as its bytes. */
static void ctab_insert(ctab *t, size_t i, uint64_t meta, key16 k,
                        const char *key, size_t klen, uint64_t value)
{
    cslot *s = &t->slots[i];
    s->meta = meta;
    s->val = value;
    if (klen <= INLINE_KEY) {
        memcpy(s->key.inl, k.w, INLINE_KEY); /* zero-padded: see key16 */
    } else {
        if (t->arena.len + klen >= EMPTY)
            die("a map task's keys exceed 4 GiB: use a smaller --block-size");
        s->key.off = (uint32_t)t->arena.len;
        buf_put(&t->arena, key, klen);
    }
    if (++t->used * 4 > (size_t)3 << t->bits)
        ctab_grow(t);
}

/*
 * Prefetching.  Most lookups of a rare word miss every cache: the core
 * waits ~100 ns for DRAM, longer than it takes to tokenize and hash the
 * word.  So mr_emit() does not look a pair up at once: it hashes it, asks
 * the memory system for its home slot (a prefetch: a hint that does not
 * wait) and queues it; every BATCH pairs the queue is folded into the
 * table in emission order.  By then the slots have arrived, and the
 * misses of BATCH words overlapped instead of following one another.
 * On the bench text this took ~20% off the map phase, although copying
 * the keys into the queue costs instructions.
 */
#define BATCH 16

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#define NOINLINE __attribute__((noinline))
#else
#define PREFETCH(addr) ((void)(addr)) /* a hint only: fine to lose */
#define NOINLINE
#endif

typedef struct {
    uint64_t hash, value;
    key16 k;             /* klen <= SHORT_KEY: the key */
    uint32_t koff, klen; /* else: the key is mr_emitter.qkeys + koff */
} pending;

struct mr_emitter {
    ctab tab;
    const mr_app *app;
    uint64_t emitted; /* pairs emitted in this attempt */
    buf_t *trace;     /* --explain: every pair as emitted, before combining */
    pending q[BATCH]; /* emitted, not yet in the table; q[0..nq) */
    int nq;
    buf_t qkeys; /* their keys longer than SHORT_KEY (a caller's key may
                    not outlive the call) */
};

uint64_t mr_sum(uint64_t held, uint64_t value, void *arg)
{
    (void)arg;
    return held + value;
}

/* Fold the queued pairs into the table, in the order they were emitted
 * (combine() need not be commutative).  Kept out of line: mr_emit(), run
 * for every word, stays a few instructions long.  The combiner mr_sum is
 * recognised and inlined (an indirect call per word costs more than the
 * addition it makes). */
static NOINLINE void emit_flush(mr_emitter *em)
{
    ctab *t = &em->tab;
    const mr_app *app = em->app;
    bool sum = app->combine == mr_sum;
    cslot *slots = t->slots; /* in locals: ctab_insert may grow the table */
    unsigned shift = 64 - t->bits;
    size_t mask = ((size_t)1 << t->bits) - 1;
    for (int k = 0; k < em->nq; k++) {
        const pending *q = &em->q[k];
        const char *key = q->klen > SHORT_KEY ? em->qkeys.p + q->koff : NULL;
        uint64_t meta = slot_meta(q->hash, q->klen);
        for (size_t i = (size_t)(q->hash >> shift);; i = (i + 1) & mask) {
            cslot *s = &slots[i];
            /* meta first: a different key almost never gets past it, so
             * the key bytes are compared about once per word */
            if (s->meta == meta &&
                (key ? memcmp(t->arena.p + s->key.off, key, q->klen) == 0
                     : slot_is(s, q->k))) {
                s->val = sum ? s->val + q->value
                             : app->combine(s->val, q->value, app->arg);
                break;
            }
            if (s->meta == EMPTY_META) {
                ctab_insert(t, i, meta, q->k, key, q->klen, q->value);
                slots = t->slots;
                shift = 64 - t->bits;
                mask = ((size_t)1 << t->bits) - 1;
                break;
            }
        }
    }
    em->nq = 0;
    em->qkeys.len = 0;
}

/* Queue a pair: the next free entry (filled in by the caller), and then
 * emit_queued(), which prefetches its home slot and folds the queue in
 * when it is full. */
static inline pending *emit_next(mr_emitter *em)
{
    em->emitted++;
    return &em->q[em->nq++];
}

static inline void emit_queued(mr_emitter *em, const pending *q)
{
    PREFETCH(&em->tab.slots[q->hash >> (64 - em->tab.bits)]);
    if (em->nq == BATCH)
        emit_flush(em);
}

/* Queue one pair whose short key (klen <= SHORT_KEY) is already loaded as
 * k: nearly every word. */
static inline void emit_short(mr_emitter *em, size_t klen, key16 k,
                              uint64_t value)
{
    pending *q = emit_next(em);
    q->hash = hash_key16(k, klen);
    q->value = value;
    q->k = k;
    q->klen = (uint32_t)klen;
    emit_queued(em, q);
}

void mr_emit(mr_emitter *em, const char *key, size_t klen, uint64_t value)
{
    if (klen >= EMPTY)
        die("a key of %zu bytes is too long", klen);
    if (em->trace)
        pair_put(em->trace, key, (uint32_t)klen, value);
    if (klen <= SHORT_KEY) {
        emit_short(em, klen, key16_load((const unsigned char *)key, klen),
                   value);
        return;
    }
    pending *q = emit_next(em); /* a long key: its bytes go to qkeys */
    q->hash = hash_key(key, klen);
    q->value = value;
    q->k = (key16){{0, 0}};
    q->klen = (uint32_t)klen;
    q->koff = (uint32_t)em->qkeys.len;
    buf_put(&em->qkeys, key, klen);
    emit_queued(em, q);
}

/* 16 bytes of 0xff, then 16 of 0: the 16 bytes at ff_then_0 + 16 - len are
 * len bytes of 0xff and then zeros, in memory order whatever the byte
 * order of the machine -- the mask that keeps a key's len bytes. */
static const unsigned char ff_then_0[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff};

void mr_emit_padded(mr_emitter *em, const char *key, size_t klen,
                    uint64_t value)
{
    if (klen > SHORT_KEY || em->trace) {
        mr_emit(em, key, klen, value);
        return;
    }
    /* The caller promised key[0..klen + MR_KEY_PAD) readable: load 16
     * bytes and clear those past the key.  Same key16 as key16_load(),
     * with no branch on the length. */
    uint64_t w[2], m[2];
    memcpy(w, key, 16);
    memcpy(m, ff_then_0 + 16 - klen, 16);
    emit_short(em, klen, (key16){{w[0] & m[0], w[1] & m[1]}}, value);
}

static void emitter_free(mr_emitter *em)
{
    for (int i = 0; i < em->tab.nretired; i++)
        free(em->tab.retired[i]);
    free(em->tab.slots);
    buf_free(&em->tab.arena);
    buf_free(&em->qkeys);
}

/* ---------------------------------------------------------------------
 * The job: everything the coordinator and every worker share (workers are
 * forked after it is filled in, so they have a copy).
 * ------------------------------------------------------------------- */
typedef struct {
    const mr_config *cfg;
    int nfiles;
    int *fds;           /* open input files */
    uint64_t *sizes;    /* their sizes when the job started */
    const char **names; /* for messages ("standard input" for "-") */
    mr_split *splits;   /* M splits */
    int M, R;
    uint64_t block, total;
    /* threads mode: map outputs in memory, mapout[m * R + r] */
    buf_t *mapout;
    buf_t *redout;     /* R reduce outputs (both modes, after reading) */
    buf_t *trace;      /* --explain: M buffers of emitted pairs */
    uint64_t *emitted; /* per map task, from its accepted attempt */
    double shuffle_s, reduce_s; /* CPU-ish seconds inside reduce tasks */
    long failed;                /* failed attempts */
    pthread_mutex_t lock;       /* threads mode: guards the scheduler state */
} job_t;

/* ---------------------------------------------------------------------
 * Cleanup: the temp dir, the workers, the app's output temp file.  Runs at
 * exit and from the SIGINT/SIGTERM handler, so it uses only
 * async-signal-safe calls (kill, waitpid, unlink, rmdir) and names it can
 * build without snprintf.
 * ------------------------------------------------------------------- */
static struct {
    pid_t coordinator;                /* cleanup runs only in this process */
    char dir[PATHLEN];                /* "" when there is none */
    volatile pid_t pids[MAX_WORKERS]; /* live workers, 0 = none */
    int M, R;                         /* names mr-<m>-<r>[.tmp] to remove */
    char outfile[PATHLEN];            /* the app's temp output, "" if none */
} cl;

static size_t cat(char *dst, size_t at, const char *s)
{
    while (*s && at + 1 < PATHLEN)
        dst[at++] = *s++;
    dst[at] = '\0';
    return at;
}

static size_t cat_num(char *dst, size_t at, long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0 && at + 1 < PATHLEN)
        dst[at++] = tmp[--n];
    dst[at] = '\0';
    return at;
}

/* dir/mr-<m>-<r><sfx> (m < 0: mr-out-<r><sfx>) */
static void inter_name(char *dst, int m, int r, const char *sfx)
{
    size_t at = cat(dst, 0, cl.dir);
    at = cat(dst, at, m < 0 ? "/mr-out-" : "/mr-");
    if (m >= 0) {
        at = cat_num(dst, at, m);
        at = cat(dst, at, "-");
    }
    at = cat_num(dst, at, r);
    cat(dst, at, sfx);
}

static void cleanup_now(void)
{
    if (getpid() != cl.coordinator)
        return; /* a worker exiting must not tear down the job */
    for (int i = 0; i < MAX_WORKERS; i++) {
        pid_t p = cl.pids[i];
        if (p > 0) {
            kill(p, SIGKILL);
            while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
                ;
            cl.pids[i] = 0;
        }
    }
    if (cl.dir[0]) {
        char path[PATHLEN];
        for (int m = -1; m < cl.M; m++)
            for (int r = 0; r < cl.R; r++) {
                inter_name(path, m, r, "");
                unlink(path);
                inter_name(path, m, r, ".tmp");
                unlink(path);
            }
        cat(path, cat(path, 0, cl.dir), "/stdin");
        unlink(path);
        rmdir(cl.dir);
        cl.dir[0] = '\0';
    }
    if (cl.outfile[0]) {
        unlink(cl.outfile);
        cl.outfile[0] = '\0';
    }
}

static void on_signal(int sig)
{
    /* The signal stays blocked until the handler returns, so raise() only
     * queues it: save errno for the code we interrupted until then. */
    int saved = errno;
    cleanup_now();
    signal(sig, SIG_DFL);
    raise(sig); /* die of the signal as soon as we return: the shell sees why */
    errno = saved;
}

void mr_cleanup_add_file(const char *path) { cat(cl.outfile, 0, path); }

void mr_cleanup_forget_file(void) { cl.outfile[0] = '\0'; }

static void cleanup_install(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    cl.coordinator = getpid();
    if (atexit(cleanup_now) != 0)
        die("atexit failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        die_errno("sigaction");
}

static void make_tmpdir(void)
{
    if (cl.dir[0])
        return;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char tmpl[PATHLEN];
    int n = snprintf(tmpl, sizeof tmpl, "%s/%s.XXXXXX", base, kit_prog());
    if (n < 0 || (size_t)n >= sizeof tmpl - 16)
        die("TMPDIR is too long: %s", base);
    if (!mkdtemp(tmpl))
        die_errno("cannot create a temporary directory in %s", base);
    /* Published only once complete: the handler may read it any time. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    cat(cl.dir, 0, tmpl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---------------------------------------------------------------------
 * Small I/O helpers
 * ------------------------------------------------------------------- */
static void write_all(int fd, const char *p, size_t n, const char *what)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die_errno("write %s", what);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Publish b as `final`: write a temp name, then rename (atomic), so a
 * reader sees the whole file or none. */
static void publish(const buf_t *b, const char *tmp, const char *final)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die_errno("create %s", tmp);
    write_all(fd, b->p, b->len, tmp);
    if (close(fd) != 0)
        die_errno("close %s", tmp);
    if (rename(tmp, final) != 0)
        die_errno("rename %s", tmp);
}

static void slurp(const char *path, buf_t *b)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die_errno("open %s", path);
    b->len = 0;
    struct stat st; /* one allocation, big enough, if fstat says */
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        buf_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        buf_reserve(b, 1); /* room to see EOF (or a file that grew) */
        ssize_t n = read(fd, b->p + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die_errno("read %s", path);
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    close(fd);
}

/* ---------------------------------------------------------------------
 * Fault injection.  Whether attempt `a` of a task dies, and where, depends
 * only on (seed, phase, task, attempt): thread and process runs with the
 * same seed fail the same attempts.
 * ------------------------------------------------------------------- */
static uint64_t splitmix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

typedef struct {
    bool dies;
    double where;   /* 0..1: how far into the task */
    bool by_signal; /* processes: SIGKILL rather than _exit */
} crash_t;

static crash_t crash_plan(const job_t *J, int phase, int task, int attempt)
{
    crash_t c = {false, 0, false};
    if (J->cfg->crash_rate <= 0)
        return c;
    uint64_t x = splitmix(J->cfg->seed ^
                          splitmix(((uint64_t)phase << 56) ^
                                   ((uint64_t)task << 20) ^ (uint64_t)attempt));
    double u1 = (double)(x >> 11) / 9007199254740992.0;
    x = splitmix(x);
    c.dies = u1 < J->cfg->crash_rate;
    c.where = (double)(x >> 11) / 9007199254740992.0;
    c.by_signal = (x & 1) != 0;
    return c;
}

/* Die here.  Returns (false) only for threads: the caller abandons the
 * attempt and drops everything it produced. */
static bool crash_now(const job_t *J, const crash_t *c)
{
    if (J->cfg->workers == MR_PROCESSES) {
        if (c->by_signal)
            raise(SIGKILL);
        _exit(CRASH_EXIT);
    }
    return false;
}

/* ---------------------------------------------------------------------
 * A map task: read the split chunk by chunk, map, combine, partition.
 * ------------------------------------------------------------------- */
typedef struct {
    mr_emitter em;
    buf_t chunk; /* pread buffer, grows only for a record > CHUNK */
} worker_t;

/* Where to cut buf[0..n) for map(): just after a separator near the end.
 * Returns 0 if there is no separator at all (read more). */
static size_t chunk_cut(const char *buf, size_t n)
{
    size_t from = n > 4096 ? n - 4096 : 0;
    size_t i = words_cut(buf, n, from);
    if (i == n && from > 0)
        i = words_cut(buf, n, 0);
    return i < n ? i + 1 : 0;
}

static void read_at(const job_t *J, int file, char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(J->fds[file], p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die_errno("%s: read failed", J->names[file]);
        }
        if (r == 0)
            die("%s: changed size while being read (it was %llu bytes)",
                J->names[file], (unsigned long long)J->sizes[file]);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
}

/* Run attempt `attempt` of map task m; out[0..R) receive its partitions.
 * Returns false if the attempt was abandoned (threads mode crash). */
static bool run_map(job_t *J, worker_t *w, int m, int attempt, buf_t *out)
{
    const mr_split *s = &J->splits[m];
    const mr_app *app = J->cfg->app;
    crash_t c = crash_plan(J, 0, m, attempt);
    /* 80% of crash points fall while reading and mapping, 20% while
     * publishing the R outputs (some may already be renamed into place). */
    double crash_byte = c.where / 0.8 * (double)s->length;
    mr_emitter *em = &w->em;
    ctab_clear(&em->tab);
    em->app = app;
    em->emitted = 0;
    em->nq = 0;
    em->qkeys.len = 0;
    em->trace = J->trace ? &J->trace[m] : NULL;
    if (em->trace)
        em->trace->len = 0;
    buf_t *b = &w->chunk;
    uint64_t pos = s->offset, end = s->offset + s->length, done = 0;
    size_t have = 0;
    while (pos < end || have > 0) {
        if (b->cap - have < 4096 || b->cap < CHUNK)
            buf_reserve(b, b->cap < CHUNK ? CHUNK : b->cap); /* doubles */
        size_t want = b->cap - have;
        if (want > end - pos)
            want = (size_t)(end - pos);
        read_at(J, s->file, b->p + have, want, pos);
        pos += want;
        have += want;
        size_t cut = pos == end ? have : chunk_cut(b->p, have);
        if (cut == 0) { /* one record longer than the buffer: grow */
            b->len = have;
            buf_reserve(b, b->cap);
            continue;
        }
        app->map(s, b->p, cut, em, app->arg);
        done += cut;
        memmove(b->p, b->p + cut, have - cut);
        have -= cut;
        if (c.dies && c.where < 0.8 && (double)done >= crash_byte)
            return crash_now(J, &c);
    }
    emit_flush(em); /* the last few pairs */
    /* Partition the combined pairs: the shuffle's sending side.  Two
     * passes: count each partition's bytes, then write them into buffers
     * allocated once, big enough (growing them by doubling as they filled
     * copied every byte about once more, and touched twice the fresh
     * memory). */
    ctab *t = &em->tab;
    unsigned R = (unsigned)J->R;
    size_t *need = xcalloc(R, sizeof *need);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
            cslot *sl = &t->slots[i];
            if (sl->meta == EMPTY_META)
                continue;
            const char *key = slot_key(t, sl);
            uint32_t klen = slot_klen(sl);
            unsigned r = mr_partition(hash_key(key, klen), R);
            if (r >= R)
                die("mr_partition returned %u, but there are only %u "
                    "partitions",
                    r, R);
            if (pass == 0)
                need[r] += 12 + (size_t)klen;
            else
                pair_put(&out[r], key, klen, sl->val);
        }
        for (unsigned r = 0; pass == 0 && r < R; r++)
            buf_reserve(&out[r], need[r]);
    }
    free(need);
    if (J->cfg->workers == MR_PROCESSES) {
        int crash_after = c.dies && c.where >= 0.8
                              ? (int)((c.where - 0.8) / 0.2 * (J->R + 1))
                              : -1;
        char tmp[PATHLEN], fin[PATHLEN];
        for (int r = 0; r < J->R; r++) {
            if (r == crash_after)
                crash_now(J, &c);
            inter_name(tmp, m, r, ".tmp");
            inter_name(fin, m, r, "");
            publish(&out[r], tmp, fin);
        }
        if (crash_after >= J->R) /* all renamed, never reported */
            crash_now(J, &c);
    } else if (c.dies) {
        return crash_now(J, &c);
    }
    return true;
}

/* ---------------------------------------------------------------------
 * A reduce task: group partition r's pairs by key (the shuffle's receiving
 * side), reduce each distinct key, sort the distinct keys.
 *
 * Why the grouping table is indexed by the hash's top bits, like the
 * mappers' tables: a map output lists its keys in its table's slot order,
 * i.e. sorted by those bits.  So each map output sweeps this table from
 * start to end -- memory read in order, which the hardware prefetches --
 * instead of jumping to a random slot (a cache miss) for every pair.
 * That needs the table big enough from the start: grown from small, the
 * first keys (the smallest hashes) would all pile up at slot 0 and every
 * later one probe past the pile.  The value lists are built in the same
 * order, so reducing in slot order walks them in order too; only the
 * final sort looks at the keys in another order.
 * ------------------------------------------------------------------- */
typedef struct {
    uint64_t hash;
    const char *key; /* NULL: free slot */
    uint32_t klen;
    uint32_t head, tail; /* value list in the node array */
    uint32_t n;          /* values */
} rslot;

typedef struct {
    uint64_t val;
    uint32_t next; /* UINT32_MAX: end */
} vnode;

/* A reduced key, to sort: its first 8 bytes as a big-endian number
 * (zero-padded), so that most comparisons are one integer compare with no
 * trip to the key's bytes (scattered over the map outputs: a cache miss
 * each); then the result of reduce(). */
typedef struct {
    uint64_t prefix;
    const rslot *s;
    uint64_t res;  /* reduce()'s value */
    uint64_t toff; /* its text: tlen bytes at offset toff of the task's */
    uint32_t tlen; /* text buffer */
} rkey;

static uint64_t key_prefix(const char *key, uint32_t klen)
{
    uint64_t p = 0;
    for (uint32_t i = 0; i < 8; i++)
        p = p << 8 | (i < klen ? (unsigned char)key[i] : 0u);
    return p;
}

/* Bytewise order, as LC_ALL=C sort: equal prefixes are settled by the
 * whole keys (a key shorter than 8 bytes and its zero-padded twin have the
 * same prefix, so the length decides). */
static int rkey_cmp(const void *a, const void *b)
{
    const rkey *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    uint32_t n = x->s->klen < y->s->klen ? x->s->klen : y->s->klen;
    int c = n ? memcmp(x->s->key, y->s->key, n) : 0;
    if (c)
        return c;
    return (x->s->klen > y->s->klen) - (x->s->klen < y->s->klen);
}

/* n free slots.  Not calloc: fresh zeroed memory is only mapped to the
 * kernel's shared zero page when first read, so the first write to each
 * page faults again, and in a process with more than one thread that fault
 * must flush the other CPUs' TLBs -- an interrupt to every core running a
 * worker (callgrind cannot see it; perf shows smp_call_function).  Writing
 * first costs one ordinary fault per page. */
static rslot *rtab_new(size_t n)
{
    rslot *t = xmalloc(n * sizeof *t);
    memset(t, 0, n * sizeof *t);
    return t;
}

/* Double the grouping table (rare: it starts big enough for the largest
 * map output's keys). */
static rslot *rtab_grow(rslot *tab, unsigned *bits)
{
    size_t old = (size_t)1 << *bits, cap = old * 2;
    rslot *nt = rtab_new(cap);
    for (size_t k = 0; k < old; k++) {
        if (!tab[k].key)
            continue;
        size_t j = (size_t)(tab[k].hash >> (64 - (*bits + 1)));
        while (nt[j].key)
            j = (j + 1) & (cap - 1);
        nt[j] = tab[k];
    }
    free(tab);
    ++*bits;
    return nt;
}

/* Reduce every key of tab, in slot order, then sort them: out receives the
 * sorted records (u32 klen, u32 tlen, u64 value, key, text). */
static void reduce_keys(const mr_app *app, const rslot *tab, unsigned bits,
                        size_t used, const vnode *nodes, buf_t *out)
{
    rkey *keys = xmalloc((used ? used : 1) * sizeof *keys);
    size_t vcap = 16, k = 0, need = 0;
    uint64_t *vals = xmalloc(vcap * sizeof *vals);
    mr_text text = {{0}};
    for (size_t i = 0; i < (size_t)1 << bits; i++) {
        const rslot *s = &tab[i];
        if (!s->key)
            continue;
        if (s->n > vcap) {
            vcap = s->n * 2;
            vals = xrealloc(vals, vcap * sizeof *vals);
        }
        size_t n = 0;
        for (uint32_t x = s->head; x != UINT32_MAX; x = nodes[x].next)
            vals[n++] = nodes[x].val;
        size_t before = text.b.len;
        uint64_t res = app->reduce(s->key, s->klen, vals, n, &text, app->arg);
        if (text.b.len - before >= UINT32_MAX)
            die("reduce: a result text is too long");
        uint32_t tl = (uint32_t)(text.b.len - before);
        keys[k++] = (rkey){key_prefix(s->key, s->klen), s, res, before, tl};
        need += 16 + (size_t)s->klen + tl;
    }
    qsort(keys, used, sizeof *keys, rkey_cmp); /* distinct keys only */
    out->len = 0;
    buf_reserve(out, need);
    for (size_t i = 0; i < used; i++) {
        const rkey *x = &keys[i];
        char *p = out->p + out->len;
        memcpy(p, &x->s->klen, 4);
        memcpy(p + 4, &x->tlen, 4);
        memcpy(p + 8, &x->res, 8);
        memcpy(p + 16, x->s->key, x->s->klen);
        if (x->tlen)
            memcpy(p + 16 + x->s->klen, text.b.p + x->toff, x->tlen);
        out->len += 16 + (size_t)x->s->klen + x->tlen;
    }
    free(vals);
    buf_free(&text.b);
    free(keys);
}

static bool run_reduce(job_t *J, int r, int attempt, buf_t *out,
                       double *shuffle_s, double *reduce_s)
{
    crash_t c = crash_plan(J, 1, r, attempt);
    int crash_after = c.dies ? (int)(c.where * (J->M + 1)) : -1;
    double t0 = kit_thread_cpu_seconds();
    bool procs = J->cfg->workers == MR_PROCESSES;
    buf_t *files = procs ? xcalloc((size_t)J->M, sizeof *files) : NULL;
    const buf_t **ins = xcalloc((size_t)J->M, sizeof *ins);
    /* Fetch every map output first: their sizes bound the work.  A record
     * is at least 12 bytes, so total / 12 bounds the values (the node
     * array never has to grow) and largest / 12 the keys of the largest
     * map output, which are all distinct (the table starts at twice
     * that). */
    size_t total = 0, largest = 0;
    for (int m = 0; m < J->M; m++) {
        if (procs) {
            char path[PATHLEN];
            inter_name(path, m, r, "");
            slurp(path, &files[m]);
            ins[m] = &files[m];
        } else {
            ins[m] = &J->mapout[(size_t)m * (size_t)J->R + (size_t)r];
        }
        total += ins[m]->len;
        largest = ins[m]->len > largest ? ins[m]->len : largest;
    }
    unsigned bits = 10;
    while (((size_t)1 << bits) < largest / 12 * 2)
        bits++;
    rslot *tab = rtab_new((size_t)1 << bits);
    size_t used = 0, nn = 0, ncap = total / 12 + 1;
    vnode *nodes = xmalloc(ncap * sizeof *nodes);
    bool alive = true;
    for (int m = 0; m < J->M && alive; m++) {
        if (m == crash_after) {
            alive = crash_now(J, &c);
            break;
        }
        size_t off = 0;
        const char *key;
        uint32_t klen;
        uint64_t v;
        while (pair_next(ins[m], &off, &key, &klen, &v)) {
            uint64_t h = hash_key(key, klen);
            size_t mask = ((size_t)1 << bits) - 1;
            size_t i = (size_t)(h >> (64 - bits)); /* see above */
            while (tab[i].key && !(tab[i].hash == h && tab[i].klen == klen &&
                                   same_key(tab[i].key, key, klen)))
                i = (i + 1) & mask;
            if (nn >= UINT32_MAX)
                die("reduce partition %d: too many values", r);
            nodes[nn] = (vnode){v, UINT32_MAX}; /* nn < ncap: total / 12 */
            rslot *s = &tab[i];
            if (!s->key) {
                *s = (rslot){h, key, klen, (uint32_t)nn, (uint32_t)nn, 1};
                if (++used * 2 > mask + 1)
                    tab = rtab_grow(tab, &bits);
            } else {
                nodes[s->tail].next = (uint32_t)nn;
                s->tail = (uint32_t)nn;
                s->n++;
            }
            nn++;
        }
    }
    double t1 = kit_thread_cpu_seconds();
    if (alive)
        reduce_keys(J->cfg->app, tab, bits, used, nodes, out);
    free(tab);
    free(nodes);
    if (alive && procs) {
        char tmp[PATHLEN], fin[PATHLEN];
        inter_name(tmp, -1, r, ".tmp");
        inter_name(fin, -1, r, "");
        publish(out, tmp, fin);
        if (crash_after == J->M) /* published, never reported */
            crash_now(J, &c);
    } else if (alive && crash_after == J->M) {
        alive = crash_now(J, &c);
    }
    if (files) {
        for (int m = 0; m < J->M; m++)
            buf_free(&files[m]);
        free(files);
    }
    free(ins);
    *shuffle_s = t1 - t0;
    *reduce_s = kit_thread_cpu_seconds() - t1;
    return alive;
}

/* ---------------------------------------------------------------------
 * Scheduling.  Both kinds keep a queue of pending tasks; a failed attempt
 * puts its task back until it has failed MR_MAX_ATTEMPTS times.
 * ------------------------------------------------------------------- */
typedef struct {
    job_t *J;
    int phase; /* 0 map, 1 reduce */
    int ntasks;
    int *queue; /* pending tasks: queue[qhead .. qhead+qlen) mod ntasks */
    int qhead, qlen;
    int *attempts;     /* attempts started per task */
    int done;          /* tasks whose output was accepted */
    int failed_task;   /* >= 0: gave up on this task */
    pthread_cond_t cv; /* threads: task queued, task done or job failed */
} sched_t;

static const char *phase_name(int phase) { return phase ? "reduce" : "map"; }

static void sched_init(sched_t *s, job_t *J, int phase, int ntasks)
{
    *s = (sched_t){.J = J, .phase = phase, .ntasks = ntasks, .failed_task = -1};
    s->queue = xmalloc((size_t)ntasks * sizeof *s->queue);
    s->attempts = xcalloc((size_t)ntasks, sizeof *s->attempts);
    for (int i = 0; i < ntasks; i++)
        s->queue[i] = i;
    s->qlen = ntasks;
}

static int sched_pop(sched_t *s)
{
    int t = s->queue[s->qhead];
    s->qhead = (s->qhead + 1) % s->ntasks;
    s->qlen--;
    return t;
}

/* Record a failed attempt of task t; re-queue it or give up. */
static void sched_failed(sched_t *s, int t, const char *how)
{
    s->J->failed++;
    if (s->J->cfg->verbose)
        warn_msg("%s task %d, attempt %d %s; %s", phase_name(s->phase), t,
                 s->attempts[t], how,
                 s->attempts[t] < MR_MAX_ATTEMPTS ? "re-running it"
                                                  : "giving up");
    if (s->attempts[t] >= MR_MAX_ATTEMPTS) {
        s->failed_task = t;
        return;
    }
    s->queue[(s->qhead + s->qlen) % s->ntasks] = t;
    s->qlen++;
}

static void sched_done(sched_t *s)
{
    s->done++;
    if (s->J->cfg->progress)
        kit_progress(phase_name(s->phase), s->done, s->ntasks);
}

static void sched_check(sched_t *s)
{
    if (s->failed_task >= 0)
        die("%s task %d failed %d attempts in a row (--crash-rate %g); giving "
            "up",
            phase_name(s->phase), s->failed_task, MR_MAX_ATTEMPTS,
            s->J->cfg->crash_rate);
}

static void sched_free(sched_t *s)
{
    free(s->queue);
    free(s->attempts);
}

/* --- threads -------------------------------------------------------- */
typedef struct {
    sched_t *s;
    worker_t w; /* written at every word (the emitter's queue) */
    /* The tctx of all threads sit side by side in one array: without this
     * gap the end of one thread's hot data could share a cache line with
     * the start of the next one's (false sharing: the line would bounce
     * between the two cores at every word). */
    char pad[CACHE_LINE]; // cppcheck-suppress unusedStructMember
} tctx;

static void *thread_worker(void *arg)
{
    tctx *c = arg;
    sched_t *s = c->s;
    job_t *J = s->J;
    for (;;) {
        xmutex_lock(&J->lock);
        while (s->failed_task < 0 && s->done < s->ntasks && s->qlen == 0)
            xcond_wait(&s->cv, &J->lock);
        if (s->failed_task >= 0 || s->done == s->ntasks) {
            xmutex_unlock(&J->lock);
            break;
        }
        int t = sched_pop(s);
        int a = s->attempts[t]++;
        xmutex_unlock(&J->lock);

        bool ok;
        double sh = 0, re = 0;
        buf_t *out = NULL, rout = {0};
        if (s->phase == 0) {
            out = xcalloc((size_t)J->R, sizeof *out);
            ok = run_map(J, &c->w, t, a, out);
        } else {
            ok = run_reduce(J, t, a, &rout, &sh, &re);
        }

        xmutex_lock(&J->lock);
        if (ok) { /* accept the output: exactly once per task */
            if (s->phase == 0) {
                memcpy(&J->mapout[(size_t)t * (size_t)J->R], out,
                       (size_t)J->R * sizeof *out);
                J->emitted[t] = c->w.em.emitted;
            } else {
                J->redout[t] = rout;
                J->shuffle_s += sh;
                J->reduce_s += re;
            }
            sched_done(s);
        } else { /* abandoned: its partial output is dropped */
            if (out)
                for (int r = 0; r < J->R; r++)
                    buf_free(&out[r]);
            buf_free(&rout);
            sched_failed(s, t, "was abandoned");
        }
        xcond_broadcast(&s->cv);
        xmutex_unlock(&J->lock);
        free(out);
    }
    return NULL;
}

static void threads_phase(job_t *J, int phase, int ntasks)
{
    sched_t s;
    sched_init(&s, J, phase, ntasks);
    xcond_init(&s.cv);
    int n = J->cfg->jobs < ntasks ? J->cfg->jobs : ntasks;
    pthread_t *th = xmalloc((size_t)(n ? n : 1) * sizeof *th);
    tctx *cx = xcalloc((size_t)(n ? n : 1), sizeof *cx);
    for (int i = 0; i < n; i++) {
        cx[i].s = &s;
        xpthread_create(&th[i], thread_worker, &cx[i]);
    }
    for (int i = 0; i < n; i++)
        xpthread_join(th[i]);
    for (int i = 0; i < n; i++) { /* all joined: no TLB to flush elsewhere */
        emitter_free(&cx[i].w.em);
        buf_free(&cx[i].w.chunk);
    }
    free(th);
    free(cx);
    xcond_destroy(&s.cv);
    sched_check(&s);
    sched_free(&s);
}

/* --- processes ------------------------------------------------------- */
typedef struct {
    int32_t phase, task, attempt;
} task_msg;

typedef struct {
    int32_t task, ok;
    uint64_t emitted;
    double shuffle_s, reduce_s;
} done_msg;

typedef struct {
    pid_t pid;
    int to;   /* task pipe, write end (coordinator -> worker) */
    int from; /* result pipe, read end (worker -> coordinator) */
    int task; /* running task, -1 if idle */
} pworker;

static bool read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* The worker: read a task, run it, report; EOF on the task pipe means the
 * job is over. */
static noreturn void worker_main(job_t *J, int in, int out)
{
    worker_t w;
    memset(&w, 0, sizeof w);
    task_msg t;
    while (read_full(in, &t, sizeof t)) {
        done_msg d = {t.task, 1, 0, 0, 0};
        if (t.phase == 0) {
            buf_t *o = xcalloc((size_t)J->R, sizeof *o);
            run_map(J, &w, t.task, t.attempt, o);
            d.emitted = w.em.emitted;
            for (int r = 0; r < J->R; r++)
                buf_free(&o[r]);
            free(o);
        } else {
            buf_t o = {0};
            run_reduce(J, t.task, t.attempt, &o, &d.shuffle_s, &d.reduce_s);
            buf_free(&o);
        }
        write_all(out, (const char *)&d, sizeof d, "the result pipe");
    }
    _exit(0);
}

static void spawn(job_t *J, pworker *ws, int i, int nw)
{
    int tp[2], rp[2];
    if (pipe(tp) != 0 || pipe(rp) != 0)
        die_errno("pipe");
    fflush(NULL); /* or buffered output would be written twice */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* pids[] changes with no handler */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* a Ctrl-C kills workers outright */
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        /* Close the other workers' pipe ends: a worker holding a sibling's
         * task pipe would keep that sibling from ever seeing EOF. */
        for (int k = 0; k < nw; k++)
            if (k != i && ws[k].pid > 0) {
                close(ws[k].to);
                close(ws[k].from);
            }
        close(tp[1]); /* the coordinator writes tasks */
        close(rp[0]); /* the coordinator reads results */
        worker_main(J, tp[0], rp[1]);
    }
    cl.pids[i] = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(tp[0]); /* the worker's ends: ours would hide its death (no EOF) */
    close(rp[1]);
    ws[i] = (pworker){pid, tp[1], rp[0], -1};
}

/* Reap worker i (it has died or is being retired); describe how it ended. */
static void reap(pworker *ws, int i, char *how, size_t n)
{
    close(ws[i].to);
    close(ws[i].from);
    int st = 0;
    while (waitpid(ws[i].pid, &st, 0) < 0)
        if (errno != EINTR)
            die_errno("waitpid");
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    cl.pids[i] = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (WIFSIGNALED(st))
        snprintf(how, n, "died: worker %ld was killed by %s", (long)ws[i].pid,
                 WTERMSIG(st) == SIGKILL ? "SIGKILL" : "a signal");
    else
        snprintf(how, n, "died: worker %ld called _exit(%d)", (long)ws[i].pid,
                 WEXITSTATUS(st));
    ws[i].pid = 0;
}

static void procs_phase(job_t *J, pworker *ws, int nw, int phase, int ntasks)
{
    sched_t s;
    sched_init(&s, J, phase, ntasks);
    struct pollfd *pf = xmalloc((size_t)nw * sizeof *pf);
    while (s.done < ntasks && s.failed_task < 0) {
        for (int i = 0; i < nw && s.qlen > 0; i++) {
            if (ws[i].task >= 0)
                continue;
            int t = sched_pop(&s);
            task_msg m = {phase, t, s.attempts[t]++};
            ws[i].task = t;
            ssize_t w;
            do
                w = write(ws[i].to, &m, sizeof m);
            while (w < 0 && errno == EINTR);
            if (w != (ssize_t)sizeof m && errno != EPIPE)
                die_errno("write to worker %ld", (long)ws[i].pid);
            /* On EPIPE the worker is dead: poll sees EOF below. */
        }
        for (int i = 0; i < nw; i++)
            pf[i] = (struct pollfd){ws[i].from, POLLIN, 0};
        if (poll(pf, (nfds_t)nw, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        for (int i = 0; i < nw; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            done_msg d;
            if (read_full(ws[i].from, &d, sizeof d) && d.task == ws[i].task) {
                if (phase == 0)
                    J->emitted[d.task] = d.emitted;
                J->shuffle_s += d.shuffle_s;
                J->reduce_s += d.reduce_s;
                ws[i].task = -1;
                sched_done(&s);
                continue;
            }
            /* EOF: the worker died.  Start a fresh one in its place. */
            char how[128];
            int t = ws[i].task;
            reap(ws, i, how, sizeof how);
            if (t >= 0)
                sched_failed(&s, t, how);
            spawn(J, ws, i, nw);
        }
    }
    free(pf);
    sched_check(&s);
    sched_free(&s);
}

/* ---------------------------------------------------------------------
 * Planning: open the inputs, cut them into splits.
 * ------------------------------------------------------------------- */
uint64_t mr_default_block(uint64_t total, int jobs)
{
    /* About 4 splits per worker, and at least 8: enough to balance the
     * load and to lose little to a crash, few enough that per-task costs
     * (a table, R files) stay small -- and their number, hence memory,
     * does not grow with the input.  The "at least 8" makes -j 1 and -j 2
     * run the same tasks, so comparing them measures the parallelism. */
    uint64_t splits = 4 * (uint64_t)(jobs > 2 ? jobs : 2);
    uint64_t want = total / splits + 1;
    uint64_t min = 1u << 20;
    want = want < min ? min : want;
    return (want + 65535) / 65536 * 65536;
}

static void open_inputs(job_t *J)
{
    const mr_config *cfg = J->cfg;
    J->nfiles = cfg->nfiles;
    J->fds = xcalloc((size_t)J->nfiles, sizeof *J->fds);
    J->sizes = xcalloc((size_t)J->nfiles, sizeof *J->sizes);
    J->names = xcalloc((size_t)J->nfiles, sizeof *J->names);
    int stdin_fd = -1;
    for (int i = 0; i < J->nfiles; i++) {
        const char *f = cfg->files[i];
        struct stat st;
        if (strcmp(f, "-") == 0) {
            J->names[i] = "standard input";
            if (stdin_fd < 0) {
                if (fstat(STDIN_FILENO, &st) != 0)
                    die_errno("standard input");
                if (S_ISREG(st.st_mode)) {
                    stdin_fd = STDIN_FILENO;
                } else {
                    /* A pipe cannot be read at an offset: copy it into the
                     * job's directory first, as `hdfs dfs -put` would. */
                    make_tmpdir();
                    char path[PATHLEN];
                    cat(path, cat(path, 0, cl.dir), "/stdin");
                    stdin_fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
                    if (stdin_fd < 0)
                        die_errno("create %s", path);
                    char *tmp = xmalloc(CHUNK);
                    for (;;) {
                        ssize_t n = read(STDIN_FILENO, tmp, CHUNK);
                        if (n < 0 && errno == EINTR)
                            continue;
                        if (n < 0)
                            die_errno("standard input");
                        if (n == 0)
                            break;
                        write_all(stdin_fd, tmp, (size_t)n, path);
                    }
                    free(tmp);
                }
            }
            J->fds[i] = stdin_fd;
        } else {
            J->names[i] = f;
            J->fds[i] = open(f, O_RDONLY);
            if (J->fds[i] < 0)
                die_errno("%s", f);
        }
        if (fstat(J->fds[i], &st) != 0)
            die_errno("%s", J->names[i]);
        if (S_ISDIR(st.st_mode))
            die("%s: is a directory", J->names[i]);
        if (!S_ISREG(st.st_mode))
            die("%s: not a regular file (use standard input for pipes)",
                J->names[i]);
        J->sizes[i] = (uint64_t)st.st_size;
        J->total += J->sizes[i];
    }
}

/* Boundary b of file f moves to just after the first separator at or
 * after b-1, so the record that straddles b stays whole in the earlier
 * split (Hadoop's LineRecordReader does the same with lines). */
static uint64_t align_boundary(const job_t *J, int f, uint64_t b)
{
    char win[4096];
    uint64_t pos = b - 1, size = J->sizes[f];
    while (pos < size) {
        size_t n = size - pos < sizeof win ? (size_t)(size - pos) : sizeof win;
        read_at(J, f, win, n, pos);
        size_t i = words_cut(win, n, 0);
        if (i < n)
            return pos + i + 1;
        pos += n;
    }
    return size;
}

static void plan_splits(job_t *J)
{
    J->block = J->cfg->block_size ? J->cfg->block_size
                                  : mr_default_block(J->total, J->cfg->jobs);
    if (J->cfg->explain &&
        !J->cfg->block_size) /* three splits, as on the slide */
        J->block = J->total > 3 ? (J->total + 2) / 3 : 1;
    size_t cap = 16;
    J->splits = xmalloc(cap * sizeof *J->splits);
    for (int f = 0; f < J->nfiles; f++) {
        uint64_t start = 0, size = J->sizes[f];
        while (start < size) {
            uint64_t end = size;
            if (size - start > J->block) {
                /* the next HDFS block boundary after start */
                uint64_t b = (start / J->block + 1) * J->block;
                end = align_boundary(J, f, b);
            }
            if (J->M >= MR_MAX_SPLITS)
                die("--block-size %llu makes more than %d splits: use a larger "
                    "one",
                    (unsigned long long)J->block, MR_MAX_SPLITS);
            if ((size_t)J->M == cap) {
                cap *= 2;
                J->splits = xrealloc(J->splits, cap * sizeof *J->splits);
            }
            J->splits[J->M] = (mr_split){f, J->M, start, end - start};
            J->M++;
            start = end;
        }
    }
}

static void check_sizes(const job_t *J)
{
    for (int f = 0; f < J->nfiles; f++) {
        struct stat st;
        if (fstat(J->fds[f], &st) != 0)
            die_errno("%s", J->names[f]);
        if ((uint64_t)st.st_size != J->sizes[f])
            die("%s: changed size while being read (%llu bytes, now %llu)",
                J->names[f], (unsigned long long)J->sizes[f],
                (unsigned long long)st.st_size);
    }
}

/* ---------------------------------------------------------------------
 * --explain: print what each phase produced, like the lecture's slide
 * ------------------------------------------------------------------- */
static void show_bytes(FILE *f, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
}

static int pair_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    uint32_t lx, ly;
    memcpy(&lx, *x, 4);
    memcpy(&ly, *y, 4);
    uint32_t n = lx < ly ? lx : ly;
    int c = n ? memcmp(*x + 12, *y + 12, n) : 0;
    return c ? c : (lx > ly) - (lx < ly);
}

/* Print the pairs of buffers bufs[0..nb) sorted by key ("(bear, 1) ..."). */
static void show_pairs(FILE *f, const buf_t *bufs, int nb, bool sort)
{
    size_t n = 0, cap = 16;
    const char **recs = xmalloc(cap * sizeof *recs);
    for (int k = 0; k < nb; k++) {
        size_t off = 0, at;
        const char *key;
        uint32_t klen;
        uint64_t v;
        while (at = off, pair_next(&bufs[k], &off, &key, &klen, &v)) {
            if (n == cap)
                recs = xrealloc(recs, (cap *= 2) * sizeof *recs);
            recs[n++] = bufs[k].p + at;
        }
    }
    if (sort)
        qsort(recs, n, sizeof *recs, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        uint32_t klen;
        uint64_t v;
        memcpy(&klen, recs[i], 4);
        memcpy(&v, recs[i] + 4, 8);
        fputs(" (", f);
        show_bytes(f, recs[i] + 12, klen);
        fprintf(f, ", %llu)", (unsigned long long)v);
    }
    if (n == 0)
        fputs(" (nothing)", f);
    fputc('\n', f);
    free(recs);
}

static void explain_map(const job_t *J)
{
    FILE *f = stdout;
    printf("1. SPLITTING: %llu bytes cut into %d split%s of at most %llu bytes "
           "(HDFS: 128 MiB blocks);\n   each boundary moved to just after a "
           "separator, so no word is cut in two\n",
           (unsigned long long)J->total, J->M, J->M == 1 ? "" : "s",
           (unsigned long long)J->block);
    for (int m = 0; m < J->M; m++) {
        const mr_split *s = &J->splits[m];
        char *p = xmalloc(s->length ? (size_t)s->length : 1);
        read_at(J, s->file, p, (size_t)s->length, s->offset);
        printf("   split %d  %s bytes [%llu, %llu)  \"", m, J->names[s->file],
               (unsigned long long)s->offset,
               (unsigned long long)(s->offset + s->length));
        show_bytes(f, p, (size_t)s->length);
        printf("\"\n");
        free(p);
    }
    printf(
        "\n2. MAPPING: each map task emits a pair (key, value) per record\n");
    for (int m = 0; m < J->M; m++) {
        printf("   map %d:", m);
        show_pairs(f, &J->trace[m], 1, false);
    }
    printf("\n3. COMBINING (in the mapper): equal keys of one task folded "
           "together\n");
    for (int m = 0; m < J->M; m++) {
        printf("   map %d:", m);
        show_pairs(f, &J->mapout[(size_t)m * (size_t)J->R], J->R, true);
    }
}

static void explain_reduce(const job_t *J)
{
    printf("\n4. SHUFFLING: pair (k, v) goes to reducer mr_partition(hash(k), "
           "%d);\n"
           "   each reducer groups its values by key, in map-task order\n",
           J->R);
    for (int r = 0; r < J->R; r++) {
        printf("   reducer %d:", r);
        /* Re-group from the map outputs, exactly as run_reduce did. */
        size_t off = 0;
        const buf_t *out = &J->redout[r];
        bool any = false;
        while (off < out->len) {
            uint32_t klen, tl;
            memcpy(&klen, out->p + off, 4);
            memcpy(&tl, out->p + off + 4, 4);
            const char *key = out->p + off + 16;
            printf(" ");
            show_bytes(stdout, key, klen);
            printf(" [");
            int nv = 0;
            for (int m = 0; m < J->M; m++) {
                size_t o2 = 0;
                const char *k2;
                uint32_t l2;
                uint64_t v;
                const buf_t *in =
                    &J->mapout[(size_t)m * (size_t)J->R + (size_t)r];
                while (pair_next(in, &o2, &k2, &l2, &v))
                    if (l2 == klen && memcmp(k2, key, klen) == 0)
                        printf("%s%llu", nv++ ? ", " : "",
                               (unsigned long long)v);
            }
            printf("]");
            off += 16 + (size_t)klen + tl;
            any = true;
        }
        printf("%s\n", any ? "" : " (nothing: no key hashed here)");
    }
    printf(
        "\n5. REDUCING: each reducer folds every key's values into one result, "
        "sorted by key\n");
    for (int r = 0; r < J->R; r++) {
        printf("   reducer %d:", r);
        size_t off = 0;
        const buf_t *out = &J->redout[r];
        if (out->len == 0)
            printf(" (nothing)");
        while (off < out->len) {
            uint32_t klen, tl;
            uint64_t v;
            memcpy(&klen, out->p + off, 4);
            memcpy(&tl, out->p + off + 4, 4);
            memcpy(&v, out->p + off + 8, 8);
            printf(" (");
            show_bytes(stdout, out->p + off + 16, klen);
            if (tl) {
                printf(", ");
                show_bytes(stdout, out->p + off + 16 + klen, tl);
                printf(")");
            } else {
                printf(", %llu)", (unsigned long long)v);
            }
            off += 16 + (size_t)klen + tl;
        }
        printf("\n");
    }
    printf("\n6. FINAL RESULT: the %d sorted reducer outputs merged into one\n",
           J->R);
}

/* ---------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------- */
/* The records of reduce output b, into recs[] (malloc'd, *n of them):
 * counted first, so the array is allocated once. */
static void parse_out(const buf_t *b, mr_rec **recs, size_t *n)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            *recs = xmalloc((count ? count : 1) * sizeof **recs);
        size_t off = 0, i = 0;
        while (off < b->len) {
            if (b->len - off < 16)
                die("corrupt reduce output");
            mr_rec r;
            memcpy(&r.klen, b->p + off, 4);
            memcpy(&r.tlen, b->p + off + 4, 4);
            memcpy(&r.value, b->p + off + 8, 8);
            if (b->len - off - 16 < (size_t)r.klen + r.tlen)
                die("corrupt reduce output");
            r.key = b->p + off + 16;
            r.text = r.key + r.klen;
            off += 16 + (size_t)r.klen + r.tlen;
            if (pass == 1)
                (*recs)[i] = r;
            i++;
        }
        count = i;
    }
    *n = count;
}

static int rec_cmp(const mr_rec *x, const mr_rec *y)
{
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Merge the R sorted runs (a k-way merge: R is small). */
static void merge(job_t *J, mr_result *res)
{
    int R = J->R;
    mr_rec **runs = xcalloc((size_t)R, sizeof *runs);
    size_t *len = xcalloc((size_t)R, sizeof *len),
           *pos = xcalloc((size_t)R, sizeof *pos);
    size_t total = 0;
    for (int r = 0; r < R; r++) {
        parse_out(&J->redout[r], &runs[r], &len[r]);
        total += len[r];
    }
    res->recs = xmalloc((total ? total : 1) * sizeof *res->recs);
    res->n = 0;
    for (;;) {
        int best = -1;
        for (int r = 0; r < R; r++)
            if (pos[r] < len[r] &&
                (best < 0 ||
                 rec_cmp(&runs[r][pos[r]], &runs[best][pos[best]]) < 0))
                best = r;
        if (best < 0)
            break;
        res->recs[res->n++] = runs[best][pos[best]++];
    }
    for (int r = 0; r < R; r++)
        free(runs[r]);
    free(runs);
    free(len);
    free(pos);
}

void mr_run(const mr_config *cfg, mr_result *res)
{
    memset(res, 0, sizeof *res);
    words_init(); /* before any thread scans */
    cleanup_install();
    double t_start = kit_now();
    job_t J;
    memset(&J, 0, sizeof J);
    J.cfg = cfg;
    J.R = cfg->reducers;
    xmutex_init(&J.lock);

    open_inputs(&J);
    if (cfg->explain && J.total > MR_EXPLAIN_MAX)
        usage_error("--explain prints every pair, so it is for small inputs "
                    "(at most %d bytes; this one has %llu): try --plan",
                    MR_EXPLAIN_MAX, (unsigned long long)J.total);
    if (cfg->workers == MR_PROCESSES)
        signal(SIGPIPE, SIG_IGN); /* a dead worker's pipe: EPIPE, not death */
    plan_splits(&J);
    double t_split = kit_now();

    J.emitted = xcalloc((size_t)(J.M ? J.M : 1), sizeof *J.emitted);
    J.redout = xcalloc((size_t)J.R, sizeof *J.redout);
    if (cfg->explain)
        J.trace = xcalloc((size_t)(J.M ? J.M : 1), sizeof *J.trace);
    pworker ws[MAX_WORKERS];
    int nw = 0;
    if (cfg->workers == MR_PROCESSES) {
        make_tmpdir();
        cl.M = J.M;
        cl.R = J.R;
        nw = cfg->jobs;
        for (int i = 0; i < nw; i++)
            ws[i].pid = 0;
        for (int i = 0; i < nw; i++)
            spawn(&J, ws, i, nw);
        procs_phase(&J, ws, nw, 0, J.M);
    } else {
        J.mapout =
            xcalloc((size_t)(J.M ? J.M : 1) * (size_t)J.R, sizeof *J.mapout);
        threads_phase(&J, 0, J.M);
    }
    check_sizes(&J);
    double t_map = kit_now();
    if (cfg->explain)
        explain_map(&J);

    if (cfg->workers == MR_PROCESSES) {
        procs_phase(&J, ws, nw, 1, J.R);
        for (int i = 0; i < nw; i++) { /* EOF on its task pipe: it exits */
            char how[128];
            reap(ws, i, how, sizeof how);
        }
        for (int r = 0; r < J.R; r++) {
            char path[PATHLEN];
            inter_name(path, -1, r, "");
            slurp(path, &J.redout[r]);
        }
        cleanup_now(); /* the files are read: remove the directory now */
    } else {
        threads_phase(&J, 1, J.R);
    }
    double t_reduce = kit_now();
    if (cfg->explain)
        explain_reduce(&J);

    merge(&J, res);
    double t_merge = kit_now();

    for (int m = 0; m < J.M; m++)
        res->emitted += J.emitted[m];
    res->bytes = J.total;
    res->map_tasks = J.M;
    res->reduce_tasks = J.R;
    res->jobs = cfg->jobs;
    res->block_size = J.block;
    res->workers = cfg->workers;
    res->failed_attempts = J.failed;
    res->t_split = t_split - t_start;
    res->t_map = t_map - t_split;
    /* Each reduce task first fetches and groups its partition (the
     * shuffle), then reduces: split the phase's wall time in that ratio. */
    double busy = J.shuffle_s + J.reduce_s, wall = t_reduce - t_map;
    double share = busy > 0 ? J.shuffle_s / busy : 0.5;
    res->t_shuffle = wall * share;
    res->t_reduce = wall - res->t_shuffle;
    res->t_merge = t_merge - t_reduce;
    res->t_total = t_merge - t_start;
    res->priv_bufs = J.redout;
    res->priv_nbufs = J.R;

    if (J.mapout)
        for (size_t i = 0; i < (size_t)J.M * (size_t)J.R; i++)
            buf_free(&J.mapout[i]);
    free(J.mapout);
    if (J.trace)
        for (int m = 0; m < J.M; m++)
            buf_free(&J.trace[m]);
    free(J.trace);
    for (int f = 0; f < J.nfiles; f++) {
        bool dup = false;
        for (int g = 0; g < f; g++)
            dup |= J.fds[g] == J.fds[f];
        if (!dup && J.fds[f] != STDIN_FILENO)
            close(J.fds[f]);
    }
    cleanup_now(); /* the stdin spool, if any */
    free(J.fds);
    free(J.sizes);
    free(J.names);
    free(J.splits);
    free(J.emitted);
    xmutex_destroy(&J.lock);
}

void mr_result_free(mr_result *res)
{
    buf_t *b = res->priv_bufs;
    for (int r = 0; r < res->priv_nbufs; r++)
        buf_free(&b[r]);
    free(b);
    free(res->recs);
    memset(res, 0, sizeof *res);
}

/* "\t<v>\n" into buf (at least 22 bytes); returns its length. */
static size_t tab_number_nl(char *buf, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf[0] = '\t';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = digits[n - 1 - i];
    buf[n + 1] = '\n';
    return n + 2;
}

/* The lines are assembled in a local buffer and written 64 KiB at a time:
 * two stdio calls and a printf per line were most of the time of writing
 * 100,000 short lines. */
bool mr_write_recs(FILE *out, const mr_rec *recs, size_t n)
{
    enum { CAP = 1 << 16 };
    char *buf = xmalloc(CAP);
    size_t len = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const mr_rec *r = &recs[i];
        size_t need = (size_t)r->klen + (r->tlen ? 2 + (size_t)r->tlen : 22);
        if (len + need > CAP) { /* flush; a huge line goes out by itself */
            ok = fwrite(buf, 1, len, out) == len;
            len = 0;
            if (need > CAP) {
                ok = ok && fwrite(r->key, 1, r->klen, out) == r->klen;
                if (r->tlen)
                    ok = ok && putc('\t', out) != EOF &&
                         fwrite(r->text, 1, r->tlen, out) == r->tlen &&
                         putc('\n', out) != EOF;
                else {
                    size_t nl = tab_number_nl(buf, r->value);
                    ok = ok && fwrite(buf, 1, nl, out) == nl;
                }
                continue;
            }
        }
        memcpy(buf + len, r->key, r->klen);
        len += r->klen;
        if (r->tlen) {
            buf[len++] = '\t';
            memcpy(buf + len, r->text, r->tlen);
            len += r->tlen;
            buf[len++] = '\n';
        } else {
            len += tab_number_nl(buf + len, r->value);
        }
    }
    ok = ok && fwrite(buf, 1, len, out) == len;
    free(buf);
    return ok && !ferror(out);
}

void mr_write_result(const char *path, const mr_rec *recs, size_t n)
{
    if (!path) {
        if (!mr_write_recs(stdout, recs, n) || fflush(stdout) != 0)
            die_errno("write to standard output");
        return;
    }
    size_t len = strlen(path) + 8;
    char *tmp = xmalloc(len);
    snprintf(tmp, len, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        die_errno("%s: cannot create a temporary file next to it", path);
    mr_cleanup_add_file(tmp); /* removed if we die from here on */
    FILE *f = fdopen(fd, "w");
    if (!f)
        die_errno("%s", tmp);
    if (!mr_write_recs(f, recs, n) || fflush(f) != 0)
        die_errno("write %s", tmp);
    if (fchmod(fd, 0644) != 0) /* mkstemp makes it 0600 */
        die_errno("chmod %s", tmp);
    if (fclose(f) != 0)
        die_errno("close %s", tmp);
    if (rename(tmp, path) != 0)
        die_errno("rename %s to %s", tmp, path);
    mr_cleanup_forget_file();
    free(tmp);
}

void mr_print_plan(FILE *f, const mr_result *res)
{
    double mb = (double)res->bytes / 1e6;
    fprintf(
        f,
        "plan: %llu bytes (%.2f MB) in %d split%s of at most %llu bytes (HDFS "
        "uses 128 MiB blocks),\n      boundaries moved to just after a "
        "separator; "
        "%d map task%s -> %d reduce partition%s,\n      %d worker %s, "
        "%ld failed attempt%s\n",
        (unsigned long long)res->bytes, mb, res->map_tasks,
        res->map_tasks == 1 ? "" : "s", (unsigned long long)res->block_size,
        res->map_tasks, res->map_tasks == 1 ? "" : "s", res->reduce_tasks,
        res->reduce_tasks == 1 ? "" : "s", res->jobs,
        res->workers == MR_PROCESSES ? "processes" : "threads",
        res->failed_attempts, res->failed_attempts == 1 ? "" : "s");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "phase", TBL_LEFT);
    tbl_col(&t, "seconds", TBL_RIGHT);
    tbl_col(&t, "share", TBL_RIGHT);
    tbl_col(&t, "what happened", TBL_LEFT);
    const struct {
        const char *name;
        double s;
        const char *what;
    } ph[] = {
        {"split", res->t_split, "open the inputs, cut them into blocks"},
        {"map", res->t_map, "map + combine every split, partition"},
        {"shuffle", res->t_shuffle,
         "each reducer fetches + groups its partition"},
        {"reduce", res->t_reduce, "reduce every distinct key, sort the keys"},
        {"merge", res->t_merge, "merge the sorted runs, write the result"},
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        tbl_cell(&t, "%s", ph[i].name);
        tbl_cell(&t, "%.3f", ph[i].s);
        tbl_cell(&t, "%.0f%%",
                 res->t_total > 0 ? 100 * ph[i].s / res->t_total : 0);
        tbl_cell(&t, "%s", ph[i].what);
    }
    tbl_cell(&t, "total");
    tbl_cell(&t, "%.3f", res->t_total);
    tbl_cell(&t, "100%%");
    tbl_cell(&t, "%.1f MB/s", res->t_total > 0 ? mb / res->t_total : 0);
    tbl_print(&t, f);
}
