/*
 * mr_map.c - MAPPING, the slide's second step: one map task reads its
 * split chunk by chunk, hands each chunk to the application's map(), which
 * calls mr_emit() for every (key, value) pair; the pairs are folded into
 * the task's combiner, then partitioned for the reducers (the sending side
 * of the shuffle).
 *
 * Before: mr_split.c (the splits).  Next: mr_partition.c (where a key
 * goes), then mr_reduce.c.  The combiner: mr_combiner.h.
 */
#include "mr_internal.h"

#include "mr_combiner.h"
#include "mr_key.h"
#include "words.h"

/* Emitting: app->map() calls mr_emit(), which hands the pair to the
 * task's combiner (struct mr_emitter and emit_record() are in
 * mr_internal.h; mr_emit() is defined next to each combiner). */

/* ---------------------------------------------------------------------
 * A map task: read the split chunk by chunk, map, combine, partition.
 * ------------------------------------------------------------------- */
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

/* The partitioning, as two passes over the combiner: count each
 * partition's bytes, then write them into buffers allocated once, big
 * enough (growing them while filling would copy every byte again). */
typedef struct {
    unsigned R;
    size_t *need; /* pass 1: bytes per partition */
    buf_t *out;   /* pass 2: the partitions */
} partitioner;

static unsigned partition_of_hash(uint64_t h, unsigned R)
{
    unsigned r = mr_partition(h, R); /* h = mr_hash(key) */
    if (r >= R)
        die("mr_partition returned %u, but there are only %u partitions", r, R);
    return r;
}

static unsigned partition_of(const char *key, size_t klen, unsigned R)
{
    return partition_of_hash(hash_key(key, klen), R);
}

static void count_pair(const char *key, size_t klen, uint64_t value, void *ctx)
{
    (void)value;
    partitioner *p = ctx;
    p->need[partition_of(key, klen, p->R)] += 12 + klen;
}

static void put_pair(const char *key, size_t klen, uint64_t value, void *ctx)
{
    partitioner *p = ctx;
    pair_put(&p->out[partition_of(key, klen, p->R)], key, (uint32_t)klen,
             value);
}

void mr_map_partition(const mr_combiner *c, unsigned R, buf_t *out)
{
    partitioner p = {R, xcalloc(R, sizeof *p.need), out};
    mr_combiner_foreach(c, count_pair, &p);
    for (unsigned r = 0; r < R; r++)
        buf_reserve_exact(&out[r], p.need[r]);
    mr_combiner_foreach(c, put_pair, &p);
    free(p.need);
}

/* The same partitioning, straight into the reducers' key groups: two
 * passes again, pairs per partition (to reserve), then the pairs. */
typedef struct {
    unsigned R;
    size_t *pairs;
    mr_groups **groups;
} grouper;

static void count_for_group(const char *key, size_t klen, uint64_t value,
                            void *ctx)
{
    (void)value;
    grouper *g = ctx;
    g->pairs[partition_of(key, klen, g->R)]++;
}

static void add_to_group(const char *key, size_t klen, uint64_t value,
                         void *ctx)
{
    grouper *g = ctx;
    uint64_t h = hash_key(key, klen);
    mr_groups_add(g->groups[partition_of_hash(h, g->R)], h, key, (uint32_t)klen,
                  value);
}

void mr_map_group(const mr_combiner *c, unsigned R, mr_groups **groups)
{
    grouper g = {R, xcalloc(R, sizeof *g.pairs), groups};
    mr_combiner_foreach(c, count_for_group, &g);
    for (unsigned r = 0; r < R; r++)
        mr_groups_reserve(groups[r], g.pairs[r]);
    mr_combiner_foreach(c, add_to_group, &g);
    free(g.pairs);
}

/* Run attempt `attempt` of map task m; out[0..R) receive its partitions,
 * or, if out is NULL (worker threads), its pairs stay in w->combiner for
 * the caller (mr_map_partition or mr_map_group).  Returns false if the
 * attempt was abandoned (threads mode crash). */
bool mr_map_task(mr_job *job, mr_map_worker *w, int m, int attempt, buf_t *out)
{
    const mr_split *s = &job->splits[m];
    const mr_app *app = job->cfg->app;
    crash_t c = mr_crash_plan(job, MR_MAP_PHASE, m, attempt);
    /* 80% of crash points fall while reading and mapping, 20% while
     * publishing the R outputs (some may already be renamed into place). */
    double crash_byte = c.where / 0.8 * (double)(s->end - s->begin);
    if (!w->combiner) /* one per worker, reused by its tasks */
        w->combiner = mr_combiner_new(app->combine, app->arg);
    mr_combiner_clear(w->combiner);
    mr_emitter em = {w->combiner, 0, job->trace ? &job->trace[m] : NULL, false};
    em.padded = app->key_padding >= MR_KEY_PAD && !em.trace;
    if (em.trace)
        em.trace->len = 0;
    buf_t *b = &w->chunk;
    uint64_t pos = s->begin, end = s->end, done = 0;
    size_t have = 0;
    while (pos < end || have > 0) {
        if (b->cap - have < 4096 || b->cap < CHUNK)
            buf_reserve(b, b->cap < CHUNK ? CHUNK : b->cap); /* doubles */
        size_t want = b->cap - have;
        if (want > end - pos)
            want = (size_t)(end - pos);
        mr_read_at(job->fds[s->file], job->names[s->file], job->sizes[s->file],
                   b->p + have, want, pos);
        pos += want;
        have += want;
        size_t cut = pos == end ? have : chunk_cut(b->p, have);
        if (cut == 0) { /* one record longer than the buffer: grow */
            b->len = have;
            buf_reserve(b, b->cap);
            continue;
        }
        app->map(s, b->p, cut, &em, app->arg);
        done += cut;
        memmove(b->p, b->p + cut, have - cut);
        have -= cut;
        if (c.dies && c.where < 0.8 && (double)done >= crash_byte)
            return mr_crash_now(job, &c);
    }
    w->emitted = em.emitted;
    if (out) /* the shuffle's send */
        mr_map_partition(w->combiner, (unsigned)job->R, out);
    if (job->cfg->workers == MR_PROCESSES) {
        int crash_after = c.dies && c.where >= 0.8
                              ? (int)((c.where - 0.8) / 0.2 * (job->R + 1))
                              : -1;
        char tmp[PATHLEN], fin[PATHLEN];
        for (int r = 0; r < job->R; r++) {
            if (r == crash_after)
                mr_crash_now(job, &c);
            mr_inter_name(tmp, m, r, ".tmp");
            mr_inter_name(fin, m, r, "");
            mr_publish(&out[r], tmp, fin);
        }
        if (crash_after >= job->R) /* all renamed, never reported */
            mr_crash_now(job, &c);
    } else if (c.dies) {
        return mr_crash_now(job, &c);
    }
    return true;
}

void mr_map_worker_free(mr_map_worker *w)
{
    mr_combiner_free(w->combiner);
    buf_free(&w->chunk);
}
