/*
 * mr_combiner.h - the in-mapper combiner: a table from key to one value,
 * where adding a key that is already there folds the new value into the
 * held one (word count: held + value).  On the slide it is the step
 * between "mapping" and "shuffling" that turns (bear, 1) (bear, 1) into
 * (bear, 2) inside one map task.
 *
 * Two implementations with this one interface; the build links one:
 *   mr_combiner_simple.c  a chained hash table: read this one first
 *   mr_combiner.c         the fast one (open addressing, keys inline in
 *                         32-byte slots, prefetched in batches); `make
 *                         SIMPLE=1` builds the lab with the simple twin
 * Both fold the values of a key in the order they were added (combine()
 * need not be commutative) and hold every key once.
 *
 * Not thread-safe: one combiner per map worker.
 */
#ifndef LAB05_MR_COMBINER_H
#define LAB05_MR_COMBINER_H

#include <stddef.h>
#include <stdint.h>

typedef struct mr_combiner mr_combiner;

/* Readable bytes after a key that mr_combiner_add_padded() may load. */
#define MR_KEY_PAD 16

/* Fold value into held (the value already in the table for the key). */
typedef uint64_t (*mr_combine_fn)(uint64_t held, uint64_t value, void *arg);

/* The combiner that adds (word count's).  The fast table recognises it and
 * adds in place instead of calling it for every pair; it is the only
 * combiner the runtime treats specially. */
uint64_t mr_sum(uint64_t held, uint64_t value, void *arg);

/* An empty table that folds with combine(held, value, arg).  Dies (exit 1)
 * if out of memory, like every allocation of the runtime. */
mr_combiner *mr_combiner_new(mr_combine_fn combine, void *arg);

/* Add (key, value): the key's bytes are copied; any bytes, any length
 * below 4 GiB. */
void mr_combiner_add(mr_combiner *c, const char *key, size_t klen,
                     uint64_t value);

/* The same, for a caller that promises MR_KEY_PAD readable bytes after the
 * key (key[klen .. klen + MR_KEY_PAD), any values): the fast table then
 * loads a short key as two 8-byte words and a mask.  Same result as
 * mr_combiner_add(). */
void mr_combiner_add_padded(mr_combiner *c, const char *key, size_t klen,
                            uint64_t value);

/* Call fn once for every key held, with its combined value, in an
 * unspecified order (the fast table: by the top bits of mr_hash). */
void mr_combiner_foreach(const mr_combiner *c,
                         void (*fn)(const char *key, size_t klen,
                                    uint64_t value, void *ctx),
                         void *ctx);

/* Distinct keys held. */
size_t mr_combiner_count(const mr_combiner *c);

/* Empty the table, keeping its memory for the next map task. */
void mr_combiner_clear(mr_combiner *c);

void mr_combiner_free(mr_combiner *c);

#endif
