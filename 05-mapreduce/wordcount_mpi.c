/*
 * wordcount_mpi.c - lab 05's word count on Open MPI: one laptop or a cluster, byte for byte
 *
 * The same job as ./wordcount -- the same splits, tokenizer (words.c),
 * combiner, partition function (mr_partition), key groups and merge: lab
 * 05's rooms -- with MPI as the transport instead of threads or pipes.
 * mpirun starts P copies of this program (ranks 0..P-1), on one machine or
 * on many; each does:
 *
 *   split    plan the splits of every FILE: the same plan on every rank
 *            (it depends only on the files' sizes and bytes)
 *   map      map the splits it owns (split s belongs to rank s mod P) into
 *            one in-mapper combiner: (word, count) per distinct word
 *   shuffle  one MPI_Alltoallv: each combined pair goes to the rank owning
 *            its partition mr_partition(mr_hash(word), R); partition p
 *            belongs to rank p mod P
 *   reduce   group each of its partitions' pairs (mr_groups: the counts
 *            of a word added up as they come), reduce and sort them: one
 *            sorted run per partition (-o DIR: DIR/part-r-0000p, Hadoop's
 *            names)
 *   merge    rank 0 gathers the runs (MPI_Gatherv), merges them and writes
 *            the result to stdout (-o DIR: DIR/merged)
 *
 * What you will observe:
 *   the output is byte-identical to ./wordcount FILE..., for any -np
 *   --plan   (stderr, rank 0) the host of every rank, its splits, the bytes
 *            it shuffled with the combiner and without it, and the phases'
 *            times: on a cluster, the shuffle is the phase that crosses the
 *            network
 *   errors   a missing file, or one rank failing (--fail-rank), ends the job
 *            with exit 1 and one line naming the rank: never a hang.  MPI
 *            does not re-run a failed task as Hadoop does (see the README).
 *
 * Usage: mpirun -np P ./wordcount_mpi [OPTIONS] FILE...
 *   mpirun -q -np 4 ./wordcount_mpi --plan 05-mapreduce/README.md
 * (-q: only the program's own messages; --oversubscribe: more ranks than
 * cores; as root, Open MPI wants OMPI_ALLOW_RUN_AS_ROOT=1 and
 * OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment.)
 *
 * See also: wordcount.c (the same job on one machine), mr.h, README.md
 * ("On a cluster"), the MPI standard's chapter on collective communication.
 */
#include <mpi.h>

#include "mr.h"
#include "words.h"
/* lab 05's own rooms: the same splitting, combiner, key groups (reduce)
 * and merge as ./wordcount; mr_internal.h is the rooms' shared header */
#include "mr_combiner.h"
#include "mr_internal.h"
#include "mr_split.h"

#include "cli.h"
#include "err.h"
#include "proc.h"
#include "table.h"
#include "xpthread.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The splits as lab 05's split room exports them (mr_split.h: mr_split). */
typedef mr_split wcm_split;

/* ---- leaving: never a hang ------------------------------------------------
 * Every way out passes through leave_mpi() (atexit): the normal end and the
 * usage errors (every rank parses the same argv, so every rank exits 2
 * together) finalize; anything else -- die() on one rank in the middle of
 * the job -- calls MPI_Abort, which kills every rank of the job: the
 * others would otherwise wait forever in the next collective call. */
static int my_rank, nranks;
static bool all_leave_together = true; /* usage errors and the normal end */

static void leave_mpi(void)
{
    int fin = 0;
    if (MPI_Finalized(&fin) != MPI_SUCCESS || fin)
        return;
    if (all_leave_together)
        MPI_Finalize();
    else
        MPI_Abort(MPI_COMM_WORLD, KIT_EXIT_RUNTIME);
}

/* A failure every rank can check at the same point (opening the inputs):
 * the lowest failing rank prints its message, all ranks exit 1 together,
 * with no MPI_Abort banner.  `msg` is this rank's message, or NULL. */
static void agree_or_exit(const char *msg)
{
    int mine = msg ? my_rank : nranks, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == nranks)
        return;
    if (first == my_rank)
        fprintf(stderr, "%s: %s\n", kit_prog(), msg);
    all_leave_together = true;
    exit(KIT_EXIT_RUNTIME);
}

/* ---- the inputs -------------------------------------------------------- */

typedef struct {
    int n;
    const char *const *names;
    int *fds;
    uint64_t *sizes;
    uint64_t total;
} inputs;

/* Open every FILE on every rank (they share the paths); a rank that cannot,
 * or that sees another size than rank 0 does (another copy of the file on
 * its host: the plans would differ), fails the job. */
static void open_inputs(inputs *in, const char *const *names, int n)
{
    static char msg[1024];
    const char *err = NULL;
    in->n = n;
    in->names = names;
    in->fds = xcalloc((size_t)n, sizeof *in->fds);
    in->sizes = xcalloc((size_t)n, sizeof *in->sizes);
    for (int i = 0; i < n && !err; i++) {
        struct stat st;
        in->fds[i] = open(names[i], O_RDONLY);
        if (in->fds[i] < 0 || fstat(in->fds[i], &st) != 0)
            snprintf(msg, sizeof msg, "%s: %s", names[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            snprintf(msg, sizeof msg, "%s: is a directory", names[i]);
        else if (!S_ISREG(st.st_mode))
            snprintf(msg, sizeof msg, "%s: not a regular file", names[i]);
        else {
            in->sizes[i] = (uint64_t)st.st_size;
            continue;
        }
        err = msg;
    }
    agree_or_exit(err);
    uint64_t *ref = xmalloc((size_t)n * sizeof *ref);
    memcpy(ref, in->sizes, (size_t)n * sizeof *ref);
    MPI_Bcast(ref, n, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    in->total = 0;
    for (int i = 0; i < n && !err; i++) {
        in->total += in->sizes[i];
        if (ref[i] != in->sizes[i]) {
            snprintf(msg, sizeof msg,
                     "%s: %llu bytes here, %llu on rank 0: every host must "
                     "see the same file",
                     names[i], (unsigned long long)in->sizes[i],
                     (unsigned long long)ref[i]);
            err = msg;
        }
    }
    free(ref);
    agree_or_exit(err);
}

static void close_inputs(inputs *in)
{
    for (int i = 0; i < in->n; i++)
        if (in->fds[i] >= 0)
            close(in->fds[i]);
    free(in->fds);
    free(in->sizes);
}

/* The one call into lab 05's split room: the same plan as mr_run's (block
 * 0: mr_default_block for P workers, what ./wordcount -j P would use). */
static wcm_split *plan_splits(const inputs *in, uint64_t block, size_t *n)
{
    int count = 0;
    wcm_split *splits = mr_split_plan(in->n, in->fds, in->sizes, in->names,
                                      block, nranks, &count);
    *n = (size_t)count;
    return splits;
}

/* Split s is mapped by this rank.  Round robin: with every file at the
 * same path (a shared file system), any rank reads any block equally well;
 * HDFS instead runs a task where a replica of its block is. */
static int split_owner(size_t s) { return (int)(s % (size_t)nranks); }
/* Partition p is reduced by this rank. */
static int partition_owner(unsigned p) { return (int)(p % (unsigned)nranks); }

/* ---- map: read a split, tokenize, combine --------------------------------- */

typedef struct {
    mr_combiner *comb;
    uint64_t words;     /* (word, 1) pairs: the map's raw output */
    uint64_t raw_bytes; /* what they would weigh in the shuffle */
} map_ctx;

/* One shuffled pair: klen (4 bytes), value (8), the key: 12 + klen bytes,
 * the rooms' map-output format (mr_internal.h: pair_put, pair_next), so
 * that the receiver can hand the pairs to mr_groups. */
#define PAIR_HEAD 12
_Static_assert(
    WORDS_PAD >= MR_KEY_PAD,
    "on_word's mr_combiner_add_padded needs WORDS_PAD >= MR_KEY_PAD");

static void on_word(const char *w, size_t len, void *ctx)
{
    map_ctx *m = ctx; /* words_scan's words have WORDS_PAD bytes after them */
    mr_combiner_add_padded(m->comb, w, len, 1);
    m->words++;
    m->raw_bytes += PAIR_HEAD + len;
}

/* Read split s in chunks, each cut just after a separator (words_cut_back)
 * so that words_scan sees whole words; the rest waits for the next read. */
static void map_split(const inputs *in, const wcm_split *s, map_ctx *m,
                      char **buf, size_t *cap)
{
    uint64_t pos = s->begin;
    size_t have = 0;
    while (pos < s->end || have > 0) {
        size_t want = *cap - have;
        if (want > s->end - pos)
            want = (size_t)(s->end - pos);
        mr_read_at(in->fds[s->file], in->names[s->file], in->sizes[s->file],
                   *buf + have, want, pos);
        pos += want;
        have += want;
        size_t cut = pos == s->end ? have : words_cut_back(*buf, have);
        if (cut == 0) { /* one word longer than the buffer: grow it */
            *cap *= 2;
            *buf = xrealloc(*buf, *cap);
            continue;
        }
        words_scan(*buf, cut, on_word, m);
        memmove(*buf, *buf + cut, have - cut);
        have -= cut;
    }
}

/* ---- shuffle: pack the combined pairs by destination, MPI_Alltoallv ------- */

typedef struct {
    unsigned R;
    int *counts;   /* bytes per destination rank */
    char *out;     /* pass 2: the packed pairs */
    size_t *at;    /* pass 2: next free byte per destination */
    bool fill;     /* pass 1 counts, pass 2 fills */
    uint64_t kept; /* pairs to other ranks */
} pack_ctx;

static unsigned partition_of(const char *key, size_t klen, unsigned R)
{
    unsigned p = mr_partition(mr_hash(key, klen), R);
    if (p >= R)
        die("mr_partition returned %u, but there are only %u partitions", p, R);
    return p;
}

static void pack_pair(const char *key, size_t klen, uint64_t value, void *ctx)
{
    pack_ctx *k = ctx;
    int dest = partition_owner(partition_of(key, klen, k->R));
    size_t need = PAIR_HEAD + klen;
    if (!k->fill) {
        if ((size_t)k->counts[dest] > (size_t)INT_MAX - need)
            die("more than 2 GiB of pairs for rank %d: use more ranks", dest);
        k->counts[dest] += (int)need;
        k->kept += dest != my_rank;
        return;
    }
    char *p = k->out + k->at[dest];
    uint32_t kl = (uint32_t)klen;
    memcpy(p, &kl, 4);
    memcpy(p + 4, &value, 8);
    memcpy(p + PAIR_HEAD, key, klen);
    k->at[dest] += need;
}

/* Displacements from counts; dies past MPI's int limit. */
static int displs_of(const int *counts, int *displs)
{
    size_t total = 0;
    for (int r = 0; r < nranks; r++) {
        displs[r] = (int)total;
        total += (size_t)counts[r];
        if (total > INT_MAX)
            die("more than 2 GiB to exchange in one MPI call: use more ranks");
    }
    return (int)total;
}

/* ---- reduce: the rooms' key groups, one per partition ------------------- */
/* A sum of sums is the sum: the key groups fold the counts as they come
 * (mr_app.combine_across_tasks), as ./wordcount's reducers do. */
static uint64_t add_counts(const char *key, size_t klen, const uint64_t *vals,
                           size_t n, mr_text *text, void *arg)
{
    (void)key;
    (void)klen;
    (void)text;
    (void)arg;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += vals[i];
    return sum;
}

static const mr_app count_app = {.name = "word count (MPI)",
                                 .combine = mr_sum,
                                 .reduce = add_counts,
                                 .combine_across_tasks = true};

/* Group the pairs one rank sent us (recv[0..len): pairs of our partitions,
 * mixed) into groups[], one per partition we own: each partition's pairs
 * are first copied into runs[] (reused from rank to rank), because
 * mr_groups_add_run takes one partition's run. */
static void group_from_rank(const char *recv, size_t len, unsigned R,
                            mr_groups **groups, buf_t *runs, unsigned mine)
{
    for (unsigned i = 0; i < mine; i++)
        runs[i].len = 0;
    const buf_t from = {(char *)recv, len, len}; /* only read */
    size_t off = 0;
    const char *key;
    uint32_t klen;
    uint64_t v;
    while (pair_next(&from, &off, &key, &klen, &v)) {
        unsigned part = partition_of(key, klen, R);
        if (partition_owner(part) != my_rank)
            die("received a pair of partition %u, reduced by rank %d", part,
                partition_owner(part));
        pair_put(&runs[part / (unsigned)nranks], key, klen, v);
    }
    for (unsigned i = 0; i < mine; i++)
        mr_groups_add_run(groups[i], &runs[i]);
}

/* ---- reporting: --plan ------------------------------------------------------ */

enum { PH_SPLIT, PH_MAP, PH_SHUFFLE, PH_REDUCE, PH_MERGE, NPHASES };

typedef struct {
    char host[MPI_MAX_PROCESSOR_NAME];
    uint64_t splits, in_bytes, words, pairs, sent, sent_remote, raw_sent;
    uint64_t partitions, keys;
    double t[NPHASES];
} rank_stats;

static void mib(char *dst, size_t n, uint64_t b)
{
    snprintf(dst, n, "%.2f", (double)b / (1 << 20));
}

static void print_plan(FILE *f, const rank_stats *st, const inputs *in,
                       size_t nsplits, uint64_t block, unsigned R)
{
    int hosts = 0;
    for (int r = 0; r < nranks; r++) {
        int seen = 0;
        for (int q = 0; q < r; q++)
            seen |= strcmp(st[q].host, st[r].host) == 0;
        hosts += !seen;
    }
    fprintf(f,
            "plan: %d rank%s on %d host%s; %llu bytes in %zu split%s of at "
            "most %llu bytes (HDFS: 128 MiB);\n"
            "      split s is mapped by rank s mod %d, partition p (of %u) "
            "reduced by rank p mod %d\n",
            nranks, nranks == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s",
            (unsigned long long)in->total, nsplits, nsplits == 1 ? "" : "s",
            (unsigned long long)block, nranks, R, nranks);
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "rank", TBL_RIGHT);
    tbl_col(&t, "host", TBL_LEFT);
    tbl_col(&t, "splits", TBL_RIGHT);
    tbl_col(&t, "input MiB", TBL_RIGHT);
    tbl_col(&t, "words", TBL_RIGHT);
    tbl_col(&t, "pairs sent", TBL_RIGHT);
    tbl_col(&t, "shuffled B", TBL_RIGHT);
    tbl_col(&t, "to others B", TBL_RIGHT);
    tbl_col(&t, "no combiner B", TBL_RIGHT);
    tbl_col(&t, "keys reduced", TBL_RIGHT);
    rank_stats sum = {.host = ""};
    int shown = nranks < TBL_MAX_ROWS - 2 ? nranks : TBL_MAX_ROWS - 2;
    char m[32];
    for (int r = 0; r < nranks; r++) {
        const rank_stats *s = &st[r];
        sum.splits += s->splits;
        sum.in_bytes += s->in_bytes;
        sum.words += s->words;
        sum.pairs += s->pairs;
        sum.sent += s->sent;
        sum.sent_remote += s->sent_remote;
        sum.raw_sent += s->raw_sent;
        sum.keys += s->keys;
        if (r >= shown)
            continue;
        mib(m, sizeof m, s->in_bytes);
        tbl_cell(&t, "%d", r);
        tbl_cell(&t, "%.24s", s->host);
        tbl_cell(&t, "%llu", (unsigned long long)s->splits);
        tbl_cell(&t, "%s", m);
        tbl_cell(&t, "%llu", (unsigned long long)s->words);
        tbl_cell(&t, "%llu", (unsigned long long)s->pairs);
        tbl_cell(&t, "%llu", (unsigned long long)s->sent);
        tbl_cell(&t, "%llu", (unsigned long long)s->sent_remote);
        tbl_cell(&t, "%llu", (unsigned long long)s->raw_sent);
        tbl_cell(&t, "%llu", (unsigned long long)s->keys);
    }
    mib(m, sizeof m, sum.in_bytes);
    tbl_cell(&t, "all");
    if (shown < nranks)
        tbl_cell(&t, "(%d more ranks)", nranks - shown);
    else
        tbl_cell(&t, "%s", "");
    tbl_cell(&t, "%llu", (unsigned long long)sum.splits);
    tbl_cell(&t, "%s", m);
    tbl_cell(&t, "%llu", (unsigned long long)sum.words);
    tbl_cell(&t, "%llu", (unsigned long long)sum.pairs);
    tbl_cell(&t, "%llu", (unsigned long long)sum.sent);
    tbl_cell(&t, "%llu", (unsigned long long)sum.sent_remote);
    tbl_cell(&t, "%llu", (unsigned long long)sum.raw_sent);
    tbl_cell(&t, "%llu", (unsigned long long)sum.keys);
    tbl_print(&t, f);
    fprintf(f,
            "shuffle: %llu bytes with the combiner, %llu without it "
            "(every (word, 1) pair): %.1fx less to send;\n"
            "         %llu of them crossed between ranks (on a cluster: the "
            "network)\n",
            (unsigned long long)sum.sent, (unsigned long long)sum.raw_sent,
            sum.sent ? (double)sum.raw_sent / (double)sum.sent : 0.0,
            (unsigned long long)sum.sent_remote);

    kit_table p;
    tbl_init(&p);
    tbl_col(&p, "phase", TBL_LEFT);
    tbl_col(&p, "seconds", TBL_RIGHT);
    tbl_col(&p, "slowest rank", TBL_RIGHT);
    tbl_col(&p, "what happened", TBL_LEFT);
    static const char *const names[NPHASES] = {"split", "map", "shuffle",
                                               "reduce", "merge"};
    static const char *const what[NPHASES] = {
        "open the inputs, plan the same splits on every rank",
        "map + combine this rank's splits",
        "MPI_Alltoallv of the combined pairs (waits for the slowest map)",
        "add up each partition's counts, sort them",
        "gather the runs on rank 0, merge, write"};
    double total = 0;
    for (int ph = 0; ph < NPHASES; ph++) {
        int slow = 0;
        for (int r = 1; r < nranks; r++)
            if (st[r].t[ph] > st[slow].t[ph])
                slow = r;
        total += st[slow].t[ph];
        tbl_cell(&p, "%s", names[ph]);
        tbl_cell(&p, "%.3f", st[slow].t[ph]);
        tbl_cell(&p, "%d", slow);
        tbl_cell(&p, "%s", what[ph]);
    }
    tbl_cell(&p, "total");
    tbl_cell(&p, "%.3f", total);
    tbl_cell(&p, "%s", "");
    tbl_cell(&p, "the slowest rank of each phase (MPI_Wtime)");
    tbl_print(&p, f);
}

/* ---- the job ---------------------------------------------------------------- */

typedef struct {
    const char *const *files;
    int nfiles;
    unsigned R;
    uint64_t block;
    const char *outdir;
    bool plan;
    int fail_rank; /* -1: none */
} options;

/* Write dir/name whole or not at all: mr_write_result writes a temp file
 * beside it (recorded in proc.h's cleanup: removed if this rank dies or is
 * interrupted) and renames it into place once complete. */
static void write_part(const char *dir, const char *name, const mr_rec *recs,
                       size_t n)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = xmalloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    mr_write_result(path, recs, n);
    free(path);
}

static void run_job(const options *o)
{
    rank_stats me = {.host = ""};
    int hlen = 0;
    MPI_Get_processor_name(me.host, &hlen);
    double t = MPI_Wtime();

    /* split */
    inputs in;
    open_inputs(&in, o->files, o->nfiles);
    if (o->outdir) { /* every rank writes its parts there */
        static char msg[1024];
        struct stat st;
        if (stat(o->outdir, &st) != 0)
            snprintf(msg, sizeof msg, "--output %s: %s", o->outdir,
                     strerror(errno));
        else if (!S_ISDIR(st.st_mode) || access(o->outdir, W_OK | X_OK) != 0)
            snprintf(msg, sizeof msg,
                     "--output %s: not a directory this rank can write to",
                     o->outdir);
        else
            msg[0] = '\0';
        agree_or_exit(msg[0] ? msg : NULL);
    }
    uint64_t block = o->block ? o->block : mr_default_block(in.total, nranks);
    size_t nsplits;
    wcm_split *splits = plan_splits(&in, block, &nsplits);
    me.t[PH_SPLIT] = MPI_Wtime() - t;
    t = MPI_Wtime();

    /* map */
    map_ctx m = {mr_combiner_new(mr_sum, NULL), 0, 0};
    size_t cap = 1 << 20;
    char *buf = xmalloc(cap);
    for (size_t s = 0; s < nsplits; s++) {
        if (split_owner(s) != my_rank)
            continue;
        map_split(&in, &splits[s], &m, &buf, &cap);
        me.splits++;
        me.in_bytes += splits[s].end - splits[s].begin;
    }
    free(buf);
    me.words = m.words;
    me.raw_sent = m.raw_bytes;
    me.pairs = mr_combiner_count(m.comb);
    if (o->fail_rank == my_rank)
        die("failing on purpose after the map phase (--fail-rank %d)",
            o->fail_rank);
    me.t[PH_MAP] = MPI_Wtime() - t;
    t = MPI_Wtime();

    /* shuffle */
    int *scount = xcalloc((size_t)nranks, sizeof *scount);
    int *sdispl = xcalloc((size_t)nranks, sizeof *sdispl);
    int *rcount = xcalloc((size_t)nranks, sizeof *rcount);
    int *rdispl = xcalloc((size_t)nranks, sizeof *rdispl);
    size_t *at = xcalloc((size_t)nranks, sizeof *at);
    pack_ctx k = {o->R, scount, NULL, at, false, 0};
    mr_combiner_foreach(m.comb, pack_pair, &k);
    int stotal = displs_of(scount, sdispl);
    k.out = xmalloc(stotal ? (size_t)stotal : 1);
    for (int r = 0; r < nranks; r++)
        at[r] = (size_t)sdispl[r];
    k.fill = true;
    mr_combiner_foreach(m.comb, pack_pair, &k);
    me.sent = (uint64_t)stotal;
    me.sent_remote = (uint64_t)stotal - (uint64_t)scount[my_rank];
    mr_combiner_free(m.comb);
    MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, MPI_COMM_WORLD);
    int rtotal = displs_of(rcount, rdispl);
    char *recv = xmalloc(rtotal ? (size_t)rtotal : 1);
    MPI_Alltoallv(k.out, scount, sdispl, MPI_BYTE, recv, rcount, rdispl,
                  MPI_BYTE, MPI_COMM_WORLD);
    free(k.out);
    me.t[PH_SHUFFLE] = MPI_Wtime() - t;
    t = MPI_Wtime();

    /* reduce: partitions p = my_rank, my_rank + P, ...; the pairs from
     * rank 0, then rank 1, ...: a key's counts are added in rank order */
    unsigned R = o->R, mine = 0;
    for (unsigned p = 0; p < R; p++)
        mine += partition_owner(p) == my_rank;
    mr_groups **groups = xcalloc(mine ? mine : 1, sizeof *groups);
    buf_t *runs = xcalloc(mine ? mine : 1, sizeof *runs);
    for (unsigned i = 0; i < mine; i++)
        groups[i] = mr_groups_new(&count_app);
    for (int r = 0; r < nranks; r++)
        group_from_rank(recv + rdispl[r], (size_t)rcount[r], R, groups, runs,
                        mine);
    for (unsigned i = 0; i < mine; i++)
        buf_free(&runs[i]);
    free(runs);
    free(recv);
    buf_t reduced = {0}; /* one partition's sorted run (reused) */
    buf_t to_send = {0}; /* every partition's run, its length (8 bytes) first */
    for (unsigned i = 0; i < mine; i++) {
        mr_groups_reduce(groups[i], &reduced);
        me.keys += mr_groups_keys(groups[i]);
        me.partitions++;
        mr_groups_free(groups[i]);
        uint64_t n = reduced.len;
        buf_put(&to_send, &n, 8);
        buf_put(&to_send, reduced.p, reduced.len);
        if (o->outdir) {
            char name[32];
            snprintf(name, sizeof name, "part-r-%05u",
                     (unsigned)my_rank + i * (unsigned)nranks);
            mr_result part = {0}; /* mr_merge_runs sets recs and n only */
            mr_merge_runs(&reduced, 1, &part); /* one run: its records */
            write_part(o->outdir, name, part.recs, part.n);
            free(part.recs);
        }
    }
    buf_free(&reduced);
    free(groups);
    me.t[PH_REDUCE] = MPI_Wtime() - t;
    t = MPI_Wtime();

    /* merge: the runs to rank 0 */
    if (to_send.len > INT_MAX)
        die("more than 2 GiB of results on one rank: use more ranks");
    int mycount = (int)to_send.len;
    /* the counts and displacements matter on rank 0 only (MPI ignores them
     * elsewhere), but every rank has them: no NULL path to reason about */
    int *gcount = xcalloc((size_t)nranks, sizeof *gcount);
    int *gdispl = xcalloc((size_t)nranks, sizeof *gdispl);
    MPI_Gather(&mycount, 1, MPI_INT, gcount, 1, MPI_INT, 0, MPI_COMM_WORLD);
    int gtotal = my_rank == 0 ? displs_of(gcount, gdispl) : 0;
    char *all = xmalloc(gtotal ? (size_t)gtotal : 1);
    MPI_Gatherv(to_send.p, mycount, MPI_BYTE, all, gcount, gdispl, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    buf_free(&to_send);
    if (my_rank == 0) {
        /* rank r's buffer holds partitions r, r + P, ... in that order;
         * the runs are views into `all`, not copies */
        buf_t *sorted = xcalloc(R, sizeof *sorted);
        for (int r = 0; r < nranks; r++) {
            char *p = all + gdispl[r];
            size_t left = (size_t)gcount[r];
            for (unsigned part = (unsigned)r; part < R;
                 part += (unsigned)nranks) {
                uint64_t n = 0;
                if (left >= 8)
                    memcpy(&n, p, 8);
                if (left < 8 || n > left - 8)
                    die("rank %d sent a truncated result (a bug)", r);
                sorted[part] = (buf_t){p + 8, (size_t)n, (size_t)n};
                p += 8 + n;
                left -= 8 + n;
            }
            if (left != 0)
                die("rank %d sent %zu bytes too many (a bug)", r, left);
        }
        mr_result merged = {0}; /* mr_merge_runs sets recs and n only */
        mr_merge_runs(sorted, (int)R, &merged);
        if (o->outdir)
            write_part(o->outdir, "merged", merged.recs, merged.n);
        else
            mr_write_result(NULL, merged.recs, merged.n);
        free(merged.recs);
        free(sorted);
    }
    free(all);
    free(gcount);
    free(gdispl);
    me.t[PH_MERGE] = MPI_Wtime() - t;

    /* --plan: every rank's figures to rank 0 */
    if (o->plan) {
        rank_stats *st =
            my_rank == 0 ? xmalloc((size_t)nranks * sizeof *st) : NULL;
        MPI_Gather(&me, (int)sizeof me, MPI_BYTE, st, (int)sizeof me, MPI_BYTE,
                   0, MPI_COMM_WORLD);
        if (my_rank == 0) {
            print_plan(stderr, st, &in, nsplits, block, R);
            free(st);
        }
    }
    free(scount);
    free(sdispl);
    free(rcount);
    free(rdispl);
    free(at);
    free(splits);
    close_inputs(&in);
}

/* ---- usage and main --------------------------------------------------------- */

static const char usage[] =
    "Usage: mpirun -np P ./wordcount_mpi [OPTIONS] FILE...\n"
    "Count every word of the FILEs on P MPI ranks (processes, on one machine\n"
    "or many); print word<TAB>count sorted by word (bytewise), exactly as\n"
    "./wordcount does.  Every rank must be able to read every FILE at the\n"
    "same path.\n"
    "\n"
    "  -r, --reducers R      reduce partitions (default: P); partition p is\n"
    "                        reduced by rank p mod P\n"
    "      --block-size SIZE split size, K/M/G suffixes (default: as\n"
    "                        ./wordcount -j P; HDFS uses 128M)\n"
    "  -o, --output DIR      write DIR/part-r-00000... (one per partition,\n"
    "                        by the rank reducing it) and DIR/merged\n"
    "      --plan            ranks, hosts, splits, bytes shuffled and phase\n"
    "                        times, on stderr (rank 0)\n"
    "      --fail-rank N     rank N fails after its map phase: see what MPI\n"
    "                        does with a failed task (the job ends)\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  mpirun -q -np 4 ./wordcount_mpi --plan 05-mapreduce/README.md\n"
    "  mpirun -q -np 2 ./wordcount_mpi -o out FILE1 FILE2 && ls out\n"
    "  mpirun -q --hostfile hosts -np 8 ./wordcount_mpi /shared/text.txt\n";

/* Parse argv; on a usage error every rank exits 2 (they all parse the same
 * argv), but only rank 0 says so: the others parse with stdout and stderr
 * on /dev/null. */
static void parse(int argc, char *argv[], options *o)
{
    int saved_out = -1, saved_err = -1;
    if (my_rank != 0) {
        int null = open("/dev/null", O_WRONLY);
        saved_out = dup(STDOUT_FILENO);
        saved_err = dup(STDERR_FILENO);
        if (null < 0 || saved_out < 0 || saved_err < 0 ||
            dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
            die_errno("rank %d: /dev/null", my_rank);
        close(null);
    }
    static const struct option longopts[] = {
        {"reducers", required_argument, NULL, 'r'},
        {"block-size", required_argument, NULL, 'b'},
        {"output", required_argument, NULL, 'o'},
        {"plan", no_argument, NULL, 'P'},
        {"fail-rank", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.fail_rank = -1};
    int c;
    while ((c = getopt_long(argc, argv, ":r:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': o->R = (unsigned)opt_int("--reducers", optarg, 1, 256); break;
        case 'b':
            o->block = opt_size("--block-size", optarg, 1, 1ULL << 30);
            break;
        case 'o':
            if (!*optarg)
                usage_error("--output: expected a directory, got ''");
            o->outdir = optarg;
            break;
        case 'P': o->plan = true; break;
        case 'F':
            o->fail_rank = (int)opt_int("--fail-rank", optarg, 0, nranks - 1);
            break;
        case 'h': kit_help(usage);
        default: kit_opt_fail(c, argv, longopts);
        }
    }
    if (optind == argc)
        usage_error("expected at least one FILE (the ranks cannot share "
                    "standard input)");
    for (int i = optind; i < argc; i++)
        if (!*argv[i] || strcmp(argv[i], "-") == 0)
            usage_error("expected a file name, got '%s' (the ranks cannot "
                        "share standard input)",
                        argv[i]);
    o->files = (const char *const *)(argv + optind);
    o->nfiles = argc - optind;
    if (!o->R)
        o->R = (unsigned)nranks;
    if (my_rank != 0) {
        if (dup2(saved_out, STDOUT_FILENO) < 0 ||
            dup2(saved_err, STDERR_FILENO) < 0)
            die_errno("rank %d: restore stdout", my_rank);
        close(saved_out);
        close(saved_err);
    }
}

int main(int argc, char *argv[])
{
    kit_set_prog("wordcount_mpi");
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        die("MPI_Init failed");
    if (atexit(leave_mpi) != 0)
        die("atexit failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    options o;
    parse(argc, argv, &o);

    /* From here on a rank that dies alone takes the job down (MPI_Abort),
     * and says which rank it was. */
    static char prog[64];
    snprintf(prog, sizeof prog, "wordcount_mpi: rank %d", my_rank);
    kit_set_prog(prog);
    all_leave_together = false;
    static const int stops[] = {SIGINT, SIGTERM};
    kit_cleanup_on(stops, 2); /* -o's temp files */
    words_init();
    run_job(&o);
    all_leave_together = true;
    return 0;
}
