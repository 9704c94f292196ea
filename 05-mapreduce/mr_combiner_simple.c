/*
 * mr_combiner_simple.c - the in-mapper combiner, simple version: a chained
 * hash table (K&R 6.6).  Same interface and same results as the fast one
 * (mr_combiner.c); `make SIMPLE=1` builds the lab with this one, and
 * `make bench LAB=05` shows what the fast one buys.
 *
 * Read this first.  Next: mr_combiner.c, the same table made fast.
 */
#include "mr_combiner.h"

#include "err.h"
#include "xpthread.h" /* xmalloc */
#include "mr_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next; /* the next key in the same bucket */
    uint64_t value;     /* the values of the key so far, combined */
    size_t klen;
    char key[]; /* klen bytes */
} entry;

struct mr_combiner {
    entry **buckets; /* nbuckets chains; a key lives in bucket hash % n */
    size_t nbuckets, count;
    mr_combine_fn combine;
    void *arg;
};

mr_combiner *mr_combiner_new(mr_combine_fn combine, void *arg)
{
    mr_combiner *c = xcalloc(1, sizeof *c);
    c->nbuckets = 1024;
    c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
    c->combine = combine;
    c->arg = arg;
    return c;
}

/* Twice as many buckets, when the chains average two keys: a lookup then
 * stays short however many distinct keys a task has. */
static void grow(mr_combiner *c)
{
    size_t n = c->nbuckets * 2;
    entry **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < c->nbuckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t j = mr_hash(e->key, e->klen) % n;
            e->next = b[j];
            b[j] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

void mr_combiner_add(mr_combiner *c, const char *key, size_t klen,
                     uint64_t value)
{
    entry **head = &c->buckets[mr_hash(key, klen) % c->nbuckets];
    for (entry *e = *head; e; e = e->next)
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            e->value = c->combine(e->value, value, c->arg);
            return;
        }
    entry *e = xmalloc(sizeof *e + klen);
    *e = (entry){*head, value, klen};
    memcpy(e->key, key, klen);
    *head = e;
    if (++c->count > 2 * c->nbuckets)
        grow(c);
}

/* The padding is a promise the simple table does not need. */
void mr_combiner_add_padded(mr_combiner *c, const char *key, size_t klen,
                            uint64_t value)
{
    mr_combiner_add(c, key, klen, value);
}

/* mr_emit (mr.h): see emit_record() in mr_internal.h. */
void mr_emit(mr_emitter *em, const char *key, size_t klen, uint64_t value)
{
    emit_record(em, key, klen, value);
    mr_combiner_add(em->combiner, key, klen, value);
}

void mr_combiner_foreach(const mr_combiner *c,
                         void (*fn)(const char *key, size_t klen,
                                    uint64_t value, void *ctx),
                         void *ctx)
{
    for (size_t i = 0; i < c->nbuckets; i++)
        for (const entry *e = c->buckets[i]; e; e = e->next)
            fn(e->key, e->klen, e->value, ctx);
}

size_t mr_combiner_count(const mr_combiner *c) { return c->count; }

void mr_combiner_clear(mr_combiner *c)
{
    for (size_t i = 0; i < c->nbuckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    memset(c->buckets, 0, c->nbuckets * sizeof *c->buckets);
    c->count = 0;
}

void mr_combiner_free(mr_combiner *c)
{
    if (!c)
        return;
    mr_combiner_clear(c);
    free(c->buckets);
    free(c);
}

uint64_t mr_sum(uint64_t held, uint64_t value, void *arg)
{
    (void)arg;
    return held + value;
}
