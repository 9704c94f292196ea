/*
 * mpi_standin.c - TEMPORARY stand-in for lab 05's combiner and split rooms
 *
 * temporary: replaced by mr_combiner.c/mr_split.c when lab 05's rooms merge.
 *
 * wordcount_mpi.c is written against the interfaces those rooms export
 * (mr_combiner_*, mr_split_plan); until they exist, this file provides them
 * with mr.c's behaviour, so that wordcount_mpi's output is byte-identical
 * to ./wordcount's.  See mpi_standin.h for the swap.
 */
#include "mpi_standin.h"

#include "mr.h"
#include "words.h"

#include "err.h"
#include "xpthread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- the combiner: open addressing, linear probing, keys in an arena ----
 * Invariants: cap is a power of two; used * 4 <= cap * 3 (a probe always
 * finds a free slot); a slot with klen == UINT32_MAX is free; a used slot's
 * key is arena[off .. off + klen). */
typedef struct {
    uint64_t hash, val, off;
    uint32_t klen;
} comb_slot;

#define FREE_SLOT UINT32_MAX

struct mr_combiner {
    mr_combine_fn combine;
    void *arg;
    comb_slot *slots;
    size_t cap, used;
    char *arena;
    size_t alen, acap;
};

static comb_slot *slots_new(size_t cap)
{
    comb_slot *s = xmalloc(cap * sizeof *s);
    for (size_t i = 0; i < cap; i++)
        s[i].klen = FREE_SLOT;
    return s;
}

mr_combiner *mr_combiner_new(mr_combine_fn combine, void *arg)
{
    mr_combiner *c = xcalloc(1, sizeof *c);
    c->combine = combine;
    c->arg = arg;
    c->cap = 1024;
    c->slots = slots_new(c->cap);
    return c;
}

static void comb_grow(mr_combiner *c)
{
    size_t cap = c->cap * 2;
    comb_slot *s = slots_new(cap);
    for (size_t i = 0; i < c->cap; i++) {
        if (c->slots[i].klen == FREE_SLOT)
            continue;
        size_t j = (size_t)c->slots[i].hash & (cap - 1);
        while (s[j].klen != FREE_SLOT)
            j = (j + 1) & (cap - 1);
        s[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = s;
    c->cap = cap;
}

void mr_combiner_add(mr_combiner *c, const char *key, size_t klen,
                     uint64_t value)
{
    if (klen >= FREE_SLOT)
        die("a key of %zu bytes is too long for the combiner", klen);
    uint64_t h = mr_hash(key, klen);
    size_t i = (size_t)h & (c->cap - 1);
    for (;; i = (i + 1) & (c->cap - 1)) {
        comb_slot *s = &c->slots[i];
        if (s->klen == FREE_SLOT)
            break;
        if (s->hash == h && s->klen == klen &&
            memcmp(c->arena + s->off, key, klen) == 0) {
            s->val = c->combine(s->val, value, c->arg);
            return;
        }
    }
    if (c->alen + klen > c->acap) {
        c->acap = c->acap ? c->acap : 4096;
        while (c->alen + klen > c->acap)
            c->acap *= 2;
        c->arena = xrealloc(c->arena, c->acap);
    }
    if (klen)
        memcpy(c->arena + c->alen, key, klen);
    c->slots[i] = (comb_slot){h, value, c->alen, (uint32_t)klen};
    c->alen += klen;
    if (++c->used * 4 > c->cap * 3)
        comb_grow(c);
}

void mr_combiner_foreach(const mr_combiner *c,
                         void (*fn)(const char *key, size_t klen,
                                    uint64_t value, void *ctx),
                         void *ctx)
{
    for (size_t i = 0; i < c->cap; i++) {
        const comb_slot *s = &c->slots[i];
        if (s->klen != FREE_SLOT)
            fn(c->arena + s->off, s->klen, s->val, ctx);
    }
}

size_t mr_combiner_count(const mr_combiner *c) { return c->used; }

void mr_combiner_clear(mr_combiner *c)
{
    for (size_t i = 0; i < c->cap; i++)
        c->slots[i].klen = FREE_SLOT;
    c->used = 0;
    c->alen = 0;
}

void mr_combiner_free(mr_combiner *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c->arena);
    free(c);
}

/* ---- the splits: mr.c's plan_splits() and align_boundary() ---- */

static void read_at(int fd, const char *name, char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die_errno("%s: read failed", name);
        }
        if (r == 0)
            die("%s: changed size while being read", name);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
}

/* Boundary b moves to just after the first separator at or after b-1. */
static uint64_t align_boundary(int fd, const char *name, uint64_t size,
                               uint64_t b)
{
    char win[4096];
    uint64_t pos = b - 1;
    while (pos < size) {
        size_t n = size - pos < sizeof win ? (size_t)(size - pos) : sizeof win;
        read_at(fd, name, win, n, pos);
        size_t i = words_cut(win, n, 0);
        if (i < n)
            return pos + i + 1;
        pos += n;
    }
    return size;
}

mpi_standin_split *mr_split_plan(const int *fds, const char *const *names,
                                 const uint64_t *sizes, int nfiles,
                                 uint64_t block, int jobs, size_t *n)
{
    uint64_t total = 0;
    for (int f = 0; f < nfiles; f++)
        total += sizes[f];
    if (!block)
        block = mr_default_block(total, jobs);
    size_t cap = 16, m = 0;
    mpi_standin_split *s = xmalloc(cap * sizeof *s);
    for (int f = 0; f < nfiles; f++) {
        uint64_t start = 0, size = sizes[f];
        while (start < size) {
            uint64_t end = size;
            if (size - start > block) {
                uint64_t b = (start / block + 1) * block;
                end = align_boundary(fds[f], names[f], size, b);
            }
            if (m >= MR_MAX_SPLITS)
                die("--block-size %llu makes more than %d splits: use a larger "
                    "one",
                    (unsigned long long)block, MR_MAX_SPLITS);
            if (m == cap) {
                cap *= 2;
                s = xrealloc(s, cap * sizeof *s);
            }
            s[m++] = (mpi_standin_split){f, start, end};
            start = end;
        }
    }
    *n = m;
    return s;
}
