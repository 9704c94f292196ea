/*
 * mr_split.h - SPLITTING: cut the input files into splits, one per map
 * task, the way HDFS cuts a file into blocks -- with each boundary moved
 * to just after a separator byte (words_cut), so no record is cut in two.
 * Usable on its own, without a job (an MPI word count plans with it).
 */
#ifndef LAB05_MR_SPLIT_H
#define LAB05_MR_SPLIT_H

#include <stdint.h>

/* One input split: bytes [begin, end) of input file number `file`;
 * begin < end (empty splits are never made). */
typedef struct mr_split {
    int file;
    uint64_t begin, end;
} mr_split;

/* The default block size for `total` input bytes and `jobs` workers: about
 * four splits per worker and at least 8 splits (so -j 1 and -j 2 run the
 * same tasks), but blocks of at least 1 MiB -- an input under 8 MiB has
 * fewer splits (see the README for why not 128 MiB). */
uint64_t mr_default_block(uint64_t total, int jobs);

/*
 * Plan the splits of nfiles inputs, exactly as mr_run does.
 *   fds[f]    open for reading at an offset (pread: a regular file)
 *   sizes[f]  its size in bytes (a file of 0 bytes gets no split)
 *   names[f]  for error messages; NULL: "input file <f>"
 *   block     the block size; 0: mr_default_block(sum of sizes, jobs)
 *   jobs      workers, for the default block size (ignored if block > 0)
 * Each file is cut at multiples of `block`; each cut then moves forward to
 * just after the next separator at or after it (a file with none after a
 * cut ends its last split there).  Returns the malloc'd array of *nsplits
 * splits in file order, then offset order (free() it; NULL if there are
 * none).  Dies (exit 1) on a read error, a file shorter than its size, or
 * more than MR_MAX_SPLITS splits.
 */
mr_split *mr_split_plan(int nfiles, const int *fds, const uint64_t *sizes,
                        const char *const *names, uint64_t block, int jobs,
                        int *nsplits);

#endif
