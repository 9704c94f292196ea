/*
 * mr_combiner.c - the in-mapper combiner, fast version (the interface and
 * its plain twin: mr_combiner.h, mr_combiner_simple.c).  On the slide: the
 * fold inside each mapper, before the shuffle.
 *
 * A hash table from key to combined value, looked up once per emitted
 * pair -- the hottest code of the whole job.  Read mr_combiner_simple.c
 * first: this file does the same, faster; the README's "How fast" says by
 * how much each trick pays.  Next: mr_map.c, which feeds it.
 *
 * Open addressing with linear probing: a key lives in the first free slot
 * at or after its home slot, so a lookup reads consecutive slots, usually
 * in one cache line.  The capacity is a power of two (the home slot is a
 * shift, not a division) and at most 3/4 full (a hit probes ~2 slots on
 * average: one cache line).  The home slot is the hash's TOP bits:
 * mr_partition uses the low ones, so every key in one partition has the
 * same low bits.
 *
 * A slot is 32 bytes with the key inside it, because a lookup's cost is
 * the cache lines it touches once the table outgrows the L2 cache: two
 * slots fill a 64-byte line exactly (the table is line-aligned), and a key
 * of up to INLINE_KEY bytes -- nearly every word -- is compared right
 * there, with no second miss in a separate key array.  Longer keys live in
 * an arena and the slot holds their offset.
 */
#include "mr_combiner.h"

#include "err.h"
#include "xpthread.h"
#include "mr_internal.h"
#include "mr_key.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX      /* klen of a free slot */
#define EMPTY_META UINT64_MAX /* meta of a free slot (its klen is EMPTY) */
#define INLINE_KEY SHORT_KEY

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
} slot_table;

static const char *slot_key(const slot_table *t, const cslot *s)
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

static void table_clear(slot_table *t)
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
static void table_grow(slot_table *t)
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
    /* Freed at once, though an unmap while other threads run makes the
     * kernel interrupt their cores (README, "How fast"): the table grows
     * only in a worker's first task, a dozen times, and keeping the
     * outgrown arrays would double its memory. */
    free(t->slots);
    t->slots = ns;
    t->bits = nbits;
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
static void table_insert(slot_table *t, size_t i, uint64_t meta, key16 k,
                         const char *key, size_t klen, uint64_t value)
{
    cslot *s = &t->slots[i];
    s->meta = meta;
    s->val = value;
    if (klen <= INLINE_KEY) {
        memcpy(s->key.inl, k.w, INLINE_KEY); /* zero-padded: see key16 */
    } else if (key) { /* a long key always comes with its bytes */
        if (t->arena.len + klen >= EMPTY)
            die("a map task's keys exceed 4 GiB: use a smaller --block-size");
        s->key.off = (uint32_t)t->arena.len;
        buf_put(&t->arena, key, klen);
    }
    if (++t->used * 4 > (size_t)3 << t->bits)
        table_grow(t);
}

/*
 * Prefetching.  A lookup of a rare word misses every cache: the core would
 * wait for DRAM longer than it takes to tokenize and hash the word.  So
 * mr_combiner_add() does not look a pair up at once: it hashes it, asks
 * the memory system for its home slot (a prefetch: a hint that does not
 * wait) and queues it; every BATCH pairs the queue is folded into the
 * table in the order the pairs came.  By then the slots have arrived, and
 * the misses of BATCH pairs overlapped instead of following one another.
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
    uint32_t koff, klen; /* else: the key is mr_combiner.qkeys + koff */
} pending;

struct mr_combiner {
    slot_table tab;
    mr_combine_fn combine;
    void *arg;
    bool sum;         /* combine == mr_sum: add in place, no call */
    pending q[BATCH]; /* added, not yet in the table; q[0..nq) */
    int nq;
    buf_t qkeys; /* their keys longer than SHORT_KEY (a caller's key may
                    not outlive the call) */
};

uint64_t mr_sum(uint64_t held, uint64_t value, void *arg)
{
    (void)arg;
    return held + value;
}

mr_combiner *mr_combiner_new(mr_combine_fn combine, void *arg)
{
    mr_combiner *c = xcalloc(1, sizeof *c);
    c->combine = combine;
    c->arg = arg;
    c->sum = combine == mr_sum;
    table_clear(&c->tab);
    return c;
}

/* Fold the queued pairs into the table, in the order they were added.
 * Kept out of line: the add, run for every word, stays a few instructions
 * long.  mr_sum is inlined (an indirect call per word costs more than the
 * addition it makes). */
static NOINLINE void combiner_flush(mr_combiner *c)
{
    slot_table *t = &c->tab;
    bool sum = c->sum;
    cslot *slots = t->slots; /* in locals: table_insert may grow the table */
    unsigned shift = 64 - t->bits;
    size_t mask = ((size_t)1 << t->bits) - 1;
    for (int k = 0; k < c->nq; k++) {
        const pending *q = &c->q[k];
        size_t klen = q->klen;
        const char *key = klen > SHORT_KEY ? c->qkeys.p + q->koff : NULL;
        uint64_t meta = slot_meta(q->hash, klen);
        for (size_t i = (size_t)(q->hash >> shift);; i = (i + 1) & mask) {
            cslot *s = &slots[i];
            /* meta first: a different key almost never gets past it, so
             * the key bytes are compared about once per word */
            if (s->meta == meta &&
                (key ? memcmp(t->arena.p + s->key.off, key, klen) == 0
                     : slot_is(s, q->k))) {
                s->val = sum ? s->val + q->value
                             : c->combine(s->val, q->value, c->arg);
                break;
            }
            if (s->meta == EMPTY_META) {
                table_insert(t, i, meta, q->k, key, klen, q->value);
                slots = t->slots;
                shift = 64 - t->bits;
                mask = ((size_t)1 << t->bits) - 1;
                break;
            }
        }
    }
    c->nq = 0;
    c->qkeys.len = 0;
}

/* Queue a pair: prefetch its home slot, fold the queue in when full. */
static inline void combiner_queued(mr_combiner *c, const pending *q)
{
    PREFETCH(&c->tab.slots[q->hash >> (64 - c->tab.bits)]);
    if (c->nq == BATCH)
        combiner_flush(c);
}

/* Queue one pair whose short key (klen <= SHORT_KEY) is already loaded as
 * k: nearly every word. */
static inline void add_short(mr_combiner *c, size_t klen, key16 k,
                             uint64_t value)
{
    pending *q = &c->q[c->nq++];
    q->hash = hash_key16(k, klen);
    q->value = value;
    q->k = k;
    q->klen = (uint32_t)klen;
    combiner_queued(c, q);
}

/* Kept out of line: mr_emit() stays small for the padded short keys. */
static NOINLINE void add_any_key(mr_combiner *c, const char *key, size_t klen,
                                 uint64_t value)
{
    if (klen >= EMPTY)
        die("a key of %zu bytes is too long", klen);
    if (klen <= SHORT_KEY) {
        add_short(c, klen, key16_load((const unsigned char *)key, klen), value);
        return;
    }
    pending *q = &c->q[c->nq++]; /* a long key: its bytes go to qkeys */
    q->hash = hash_key(key, klen);
    q->value = value;
    q->k = (key16){{0, 0}};
    q->klen = (uint32_t)klen;
    q->koff = (uint32_t)c->qkeys.len;
    buf_put(&c->qkeys, key, klen);
    combiner_queued(c, q);
}

/* 16 bytes of 0xff, then 16 of 0: the 16 bytes at ff_then_0 + 16 - len are
 * len bytes of 0xff and then zeros, in memory order whatever the byte
 * order of the machine -- the mask that keeps a key's len bytes. */
static const unsigned char ff_then_0[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff};
_Static_assert(MR_KEY_PAD >= SHORT_KEY, "a padded short key loads whole");

/* A short key (klen <= SHORT_KEY) followed by MR_KEY_PAD readable bytes:
 * load 16 bytes and clear those past the key.  Same key16 as key16_load(),
 * with no branch on the length. */
static inline void add_short_padded(mr_combiner *c, const char *key,
                                    size_t klen, uint64_t value)
{
    uint64_t w[2], m[2];
    memcpy(w, key, 16);
    memcpy(m, ff_then_0 + 16 - klen, 16);
    add_short(c, klen, (key16){{w[0] & m[0], w[1] & m[1]}}, value);
}

void mr_combiner_add(mr_combiner *c, const char *key, size_t klen,
                     uint64_t value)
{
    add_any_key(c, key, klen, value);
}

void mr_combiner_add_padded(mr_combiner *c, const char *key, size_t klen,
                            uint64_t value)
{
    if (klen <= SHORT_KEY)
        add_short_padded(c, key, klen, value);
    else
        add_any_key(c, key, klen, value);
}

/* Every other pair: kept out of line, so that mr_emit() needs no stack
 * frame for the common case. */
static NOINLINE void emit_other(mr_emitter *em, const char *key, size_t klen,
                                uint64_t value)
{
    emit_record(em, key, klen, value);
    add_any_key(em->combiner, key, klen, value);
}

/* mr_emit (mr.h), here so that the add is inlined into it: see
 * emit_record() in mr_internal.h.  The first branch is nearly every word
 * of word count (a padded app has no --explain trace: see mr_map.c). */
void mr_emit(mr_emitter *em, const char *key, size_t klen, uint64_t value)
{
    if (em->padded && klen <= SHORT_KEY) {
        em->emitted++;
        add_short_padded(em->combiner, key, klen, value);
        return;
    }
    emit_other(em, key, klen, value);
}

/* The table is logically const: the pairs still queued are folded in
 * before anyone looks (the queue is invisible from outside). */
static const slot_table *settled(const mr_combiner *c)
{
    if (c->nq > 0)
        combiner_flush((mr_combiner *)c); /* allocated non-const: defined */
    return &c->tab;
}

void mr_combiner_foreach(const mr_combiner *c,
                         void (*fn)(const char *key, size_t klen,
                                    uint64_t value, void *ctx),
                         void *ctx)
{
    const slot_table *t = settled(c);
    for (size_t i = 0; i < (size_t)1 << t->bits; i++) {
        const cslot *s = &t->slots[i];
        if (s->meta != EMPTY_META)
            fn(slot_key(t, s), slot_klen(s), s->val, ctx);
    }
}

size_t mr_combiner_count(const mr_combiner *c) { return settled(c)->used; }

void mr_combiner_clear(mr_combiner *c)
{
    table_clear(&c->tab);
    c->nq = 0;
    c->qkeys.len = 0;
}

void mr_combiner_free(mr_combiner *c)
{
    if (!c)
        return;
    free(c->tab.slots);
    buf_free(&c->tab.arena);
    buf_free(&c->qkeys);
    free(c);
}
