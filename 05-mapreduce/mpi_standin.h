/*
 * mpi_standin.h - TEMPORARY: the interfaces wordcount_mpi.c needs from lab
 * 05's rooms (mr_combiner.h, mr_split.h), until those rooms merge.
 *
 * temporary: replaced by mr_combiner.c/mr_split.c when lab 05's rooms merge.
 * The swap: wordcount_mpi.c includes "mr_combiner.h" and "mr_split.h"
 * instead of this header, its `wcm_split` typedef names `mr_split`, and its
 * plan_splits() adapts the one mr_split_plan() call to the final
 * parameters; mpi_standin.c leaves the Makefile line.
 *
 * Both reproduce mr.c's behaviour as of this commit: the combiner folds
 * with combine(held, value) (the first value of a key is stored as is), and
 * the splits are mr.c's plan_splits()/align_boundary() exactly.
 */
#ifndef LAB05_MPI_STANDIN_H
#define LAB05_MPI_STANDIN_H

#include <stddef.h>
#include <stdint.h>

/* ---- mr_combiner.h (as announced) ---- */
typedef uint64_t (*mr_combine_fn)(uint64_t held, uint64_t value, void *arg);
typedef struct mr_combiner mr_combiner;

mr_combiner *mr_combiner_new(mr_combine_fn combine, void *arg);
/* Fold (key, value) into the table: a new key is stored with value, an
 * existing one becomes combine(held, value, arg).  The key is copied. */
void mr_combiner_add(mr_combiner *c, const char *key, size_t klen,
                     uint64_t value);
/* Every (key, value) held, in no particular order. */
void mr_combiner_foreach(const mr_combiner *c,
                         void (*fn)(const char *key, size_t klen,
                                    uint64_t value, void *ctx),
                         void *ctx);
size_t mr_combiner_count(const mr_combiner *c); /* distinct keys */
void mr_combiner_clear(mr_combiner *c);
void mr_combiner_free(mr_combiner *c);

/* ---- mr_split.h (as announced; the final type will be `mr_split`, a name
 * mr.h still uses for its own struct today) ---- */
typedef struct mpi_standin_split {
    int file;
    uint64_t begin, end; /* bytes [begin, end) of files[file]; never empty */
} mpi_standin_split;

/* Cut nfiles open files (fds, their names for messages, their sizes) into
 * blocks of `block` bytes (0: mr_default_block(total, jobs)), every
 * boundary moved to just after a separator as mr_run plans them.  Returns
 * a malloc'd array and its length in *n (0 for empty inputs: then the
 * array may be NULL).  Dies (exit 1) on a read error or more than
 * MR_MAX_SPLITS splits. */
mpi_standin_split *mr_split_plan(const int *fds, const char *const *names,
                                 const uint64_t *sizes, int nfiles,
                                 uint64_t block, int jobs, size_t *n);

#endif
