/*
 * mr_partition.c - SHUFFLING, the sending side's address: which reducer a
 * key goes to.  On the slide, the arrows from the mappers to the reducers.
 *
 * Every map task sends a key to partition mr_partition(mr_hash(key), R);
 * because the hash depends on the key alone, all the values of a key, from
 * every map task, meet in one reducer.  Exercise 05.1 lives here.
 *
 * Before: mr_map.c (the map task that calls this).  Next: mr_reduce.c.
 * The hash itself is in mr_key.h.
 */
#include "mr.h"
#include "mr_key.h"

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
