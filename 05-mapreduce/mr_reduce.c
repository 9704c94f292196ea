/*
 * mr_reduce.c - SHUFFLING (the receiving side) and REDUCING, the slide's
 * fourth and fifth steps: reduce task r fetches partition r of every map
 * output, groups the values by key (in map-task order), calls the
 * application's reduce() once per distinct key, and sorts the keys.
 *
 * Before: mr_partition.c (how a key got here).  Next: mr_merge.c.
 *
 * The key groups (mr_groups): one group per distinct key of the
 * partition, holding the list of its values.  Map outputs are added one at
 * a time, in map-task order, so every list is in map-task order; the
 * groups copy each distinct key once, so an output can be freed as soon as
 * it is added.  Memory then grows with the partition's vocabulary plus 12
 * bytes per value, not with map tasks x vocabulary: worker threads add
 * each map output as its task finishes (mr_threads.c), a worker process
 * reads the files one at a time (mr_reduce_task, below).  An app whose
 * combine() may fold values of different map tasks (word count's sum:
 * mr_app.combine_across_tasks) keeps one value per key, folded as the
 * outputs come: then memory grows with the vocabulary alone.
 *
 * The index is the hash's top bits, like the combiner's, because a map
 * output lists its keys in its combiner's slot order, i.e. sorted by those
 * bits: so each map output sweeps the index from start to end -- memory
 * read in order, which the hardware prefetches -- instead of jumping to a
 * random slot (a cache miss) for every pair.  That needs the index big
 * enough before an output is added: grown from small, the first keys (the
 * smallest hashes) would all pile up at slot 0 and every later one probe
 * past the pile.  The groups are numbered in the order their keys first
 * came, which is that order too, so reducing group by group walks them in
 * order; only the final sort looks at the keys in another order.
 */
#include "mr_internal.h"

#include "mr_key.h"
#include "timing.h"

/* What app->reduce() may attach to a key's result. */
void mr_text_add(mr_text *t, const char *s, size_t n) { buf_put(&t->b, s, n); }

#define NO_VALUE UINT32_MAX /* the end of a value list */

typedef struct {
    uint32_t hash_top;   /* the top 32 bits of its hash: the index's */
    uint32_t koff, klen; /* the key: klen bytes at keys.p + koff */
    uint32_t head, tail; /* its values: a list through next[] */
    uint32_t n;          /* values */
} key_group;

struct mr_groups {
    uint32_t *index;  /* 1 << bits slots: a group's number + 1; 0: free */
    unsigned bits;    /* at most half the slots are used */
    key_group *group; /* ngroups groups, in the order their keys came */
    size_t ngroups, gcap;
    buf_t keys;     /* every distinct key, once */
    uint64_t *val;  /* nvals values, in the order they were added */
    uint32_t *next; /* next[i]: the key's value after val[i], or NO_VALUE
                       (always, with a fold: a key has one value) */
    size_t nvals, vcap;
    const mr_app *app; /* its combine() and reduce() */
    /* app->combine_across_tasks: a key keeps one value, each value added
     * folded into it with app->combine() */
    bool fold;
};

mr_groups *mr_groups_new(const mr_app *app)
{
    mr_groups *g = xcalloc(1, sizeof *g);
    g->app = app;
    g->fold = app->combine_across_tasks;
    return g;
}

size_t mr_groups_keys(const mr_groups *g) { return g->ngroups; }

void mr_groups_free(mr_groups *g)
{
    if (!g)
        return;
    free(g->index);
    free(g->group);
    buf_free(&g->keys);
    free(g->val);
    free(g->next);
    free(g);
}

/* An index of 1 << bits slots over the groups there are.  Not calloc:
 * memset writes every page at once, which in a threaded process costs
 * less than calloc's pages faulting twice (README, "How fast"). */
static void index_rebuild(mr_groups *g, unsigned bits)
{
    size_t cap = (size_t)1 << bits;
    uint32_t *ix = xmalloc(cap * sizeof *ix);
    memset(ix, 0, cap * sizeof *ix);
    for (size_t k = 0; k < g->ngroups; k++) {
        size_t j = (size_t)(g->group[k].hash_top >> (32 - bits));
        while (ix[j])
            j = (j + 1) & (cap - 1);
        ix[j] = (uint32_t)k + 1;
    }
    free(g->index);
    g->index = ix;
    g->bits = bits;
}

/* An index of at least 2 x keys slots: at most half full. */
static void index_fit(mr_groups *g, size_t keys)
{
    unsigned bits = g->bits ? g->bits : 10;
    while (((size_t)1 << bits) < keys * 2)
        bits++;
    if (bits > 32) /* hash_top has 32 bits */
        die("a reduce partition has too many keys (%zu)", keys);
    if (bits != g->bits)
        index_rebuild(g, bits);
}

/* Before a run of `pairs` pairs: an index big enough for the run's keys
 * and for those already held; if the run brings so many new keys that it
 * fills past half, mr_groups_add doubles it then (by then the index is
 * big enough that the keys do not pile up: see above).  The first run also
 * sizes the groups and values exactly (every key of it is new); later ones
 * grow them as keys and values come (grown()), not for the worst case: a
 * run of old keys adds no group, and with a fold no value either. */
void mr_groups_reserve(mr_groups *g, size_t pairs)
{
    if (g->nvals + pairs >= NO_VALUE)
        die("a reduce partition has too many values (%zu)", g->nvals + pairs);
    index_fit(g, g->ngroups > pairs ? g->ngroups : pairs);
    if (g->gcap == 0 && pairs > 0) {
        g->gcap = g->vcap = pairs;
        g->group = xmalloc(pairs * sizeof *g->group);
        g->val = xmalloc(pairs * sizeof *g->val);
        g->next = xmalloc(pairs * sizeof *g->next);
    }
}

/* The capacity of an array grown for one more element: a quarter more, so
 * that a big array is never more than a fifth unused (the copies still
 * cost O(1) per element). */
static size_t grown(size_t cap) { return cap < 1024 ? 1024 : cap + cap / 4; }

void mr_groups_add(mr_groups *g, uint64_t h, const char *key, uint32_t klen,
                   uint64_t v)
{
    size_t mask = ((size_t)1 << g->bits) - 1;
    size_t i = (size_t)(h >> (64 - g->bits)); /* see above */
    key_group *s = NULL;
    for (; g->index[i]; i = (i + 1) & mask) {
        s = &g->group[g->index[i] - 1];
        if (s->hash_top == h >> 32 && s->klen == klen &&
            same_key(g->keys.p + s->koff, key, klen))
            break;
        s = NULL;
    }
    if (s && g->fold) { /* fold into the key's one value */
        g->val[s->head] = g->app->combine(g->val[s->head], v, g->app->arg);
        return;
    }
    if (g->nvals == g->vcap) {
        g->vcap = grown(g->vcap);
        g->val = xrealloc(g->val, g->vcap * sizeof *g->val);
        g->next = xrealloc(g->next, g->vcap * sizeof *g->next);
    }
    uint32_t x = (uint32_t)g->nvals++;
    g->val[x] = v;
    g->next[x] = NO_VALUE;
    if (s) { /* a key already held: its list grows */
        g->next[s->tail] = x;
        s->tail = x;
        s->n++;
        return;
    }
    /* a new key: copy it (the run it came in will be freed) */
    if (g->keys.len + klen >= UINT32_MAX)
        die("a reduce partition's keys pass 4 GiB");
    if (g->ngroups == g->gcap) {
        g->gcap = grown(g->gcap);
        g->group = xrealloc(g->group, g->gcap * sizeof *g->group);
    }
    g->group[g->ngroups++] =
        (key_group){(uint32_t)(h >> 32), (uint32_t)g->keys.len, klen, x, x, 1};
    buf_put(&g->keys, key, klen);
    g->index[i] = (uint32_t)g->ngroups;
    if (g->ngroups * 2 > mask + 1) /* past half full: double */
        index_fit(g, g->ngroups);
}

void mr_groups_add_run(mr_groups *g, const buf_t *run)
{
    size_t off = 0, pairs = 0;
    const char *key;
    uint32_t klen;
    uint64_t v;
    while (pair_next(run, &off, &key, &klen, &v)) /* count, to reserve */
        pairs++;
    mr_groups_reserve(g, pairs);
    off = 0;
    while (pair_next(run, &off, &key, &klen, &v))
        mr_groups_add(g, hash_key(key, klen), key, klen, v);
}

/* A reduced key, to sort: its first 8 bytes as a big-endian number
 * (zero-padded), so that most comparisons are one integer compare with no
 * trip to the key's bytes (a cache miss each); then the result of
 * reduce(). */
typedef struct {
    uint64_t prefix;
    const char *key;
    uint32_t klen;
    uint32_t tlen; /* its text: tlen bytes at offset toff of the task's */
    uint64_t toff; /* text buffer */
    uint64_t res;  /* reduce()'s value */
} reduced_key;

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
static int reduced_key_cmp(const void *a, const void *b)
{
    const reduced_key *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    return (x->klen > y->klen) - (x->klen < y->klen);
}

/* Reduce every key of g, group by group, then sort them: out receives the
 * sorted records (u32 klen, u32 tlen, u64 value, key, text).  g is only
 * read: an attempt that dies leaves it as it was, for the next one. */
void mr_groups_reduce(const mr_groups *g, buf_t *out)
{
    const mr_app *app = g->app;
    size_t used = g->ngroups;
    reduced_key *keys = xmalloc((used ? used : 1) * sizeof *keys);
    size_t vcap = 16, need = 0;
    uint64_t *vals = xmalloc(vcap * sizeof *vals);
    mr_text text = {{0}};
    for (size_t k = 0; k < used; k++) {
        const key_group *s = &g->group[k];
        const char *key = g->keys.p + s->koff;
        if (s->n > vcap) {
            vcap = s->n * 2;
            vals = xrealloc(vals, vcap * sizeof *vals);
        }
        size_t n = 0;
        for (uint32_t x = s->head; x != NO_VALUE; x = g->next[x])
            vals[n++] = g->val[x];
        size_t before = text.b.len;
        uint64_t res = app->reduce(key, s->klen, vals, n, &text, app->arg);
        if (text.b.len - before >= UINT32_MAX)
            die("reduce: a result text is too long");
        uint32_t tl = (uint32_t)(text.b.len - before);
        keys[k] = (reduced_key){
            key_prefix(key, s->klen), key, s->klen, tl, before, res};
        need += 16 + (size_t)s->klen + tl;
    }
    qsort(keys, used, sizeof *keys, reduced_key_cmp); /* distinct keys only */
    out->len = 0;
    buf_reserve_exact(out, need);
    for (size_t i = 0; i < used; i++) {
        const reduced_key *x = &keys[i];
        char *p = out->p + out->len;
        memcpy(p, &x->klen, 4);
        memcpy(p + 4, &x->tlen, 4);
        memcpy(p + 8, &x->res, 8);
        memcpy(p + 16, x->key, x->klen);
        if (x->tlen)
            memcpy(p + 16 + x->klen, text.b.p + x->toff, x->tlen);
        out->len += 16 + (size_t)x->klen + x->tlen;
    }
    free(vals);
    buf_free(&text.b);
    free(keys);
}

bool mr_reduce_task(mr_job *job, int r, int attempt, buf_t *out,
                    double *shuffle_s, double *reduce_s)
{
    crash_t c = mr_crash_plan(job, MR_REDUCE_PHASE, r, attempt);
    int crash_after = c.dies ? (int)(c.where * (job->M + 1)) : -1;
    double t0 = kit_thread_cpu_seconds();
    bool procs = job->cfg->workers == MR_PROCESSES;
    bool alive = true;
    mr_groups *g;
    if (procs) { /* fetch the map outputs one at a time, in map-task order */
        g = mr_groups_new(job->cfg->app);
        buf_t file = {0};
        for (int m = 0; m < job->M; m++) {
            if (m == crash_after) {
                alive = mr_crash_now(job, &c);
                break;
            }
            char path[PATHLEN];
            mr_inter_name(path, m, r, "");
            mr_slurp(path, &file);
            mr_groups_add_run(g, &file);
        }
        buf_free(&file);
    } else { /* threads: grouped as the map tasks finished (mr_threads.c) */
        g = job->groups[r];
        if (crash_after >= 0 && crash_after < job->M)
            alive = mr_crash_now(job, &c);
    }
    double t1 = kit_thread_cpu_seconds();
    if (alive)
        mr_groups_reduce(g, out);
    if (procs)
        mr_groups_free(g);
    if (alive && procs) {
        char tmp[PATHLEN], fin[PATHLEN];
        mr_inter_name(tmp, -1, r, ".tmp");
        mr_inter_name(fin, -1, r, "");
        mr_publish(out, tmp, fin);
        if (crash_after == job->M) /* published, never reported */
            mr_crash_now(job, &c);
    } else if (alive && crash_after == job->M) {
        alive = mr_crash_now(job, &c);
    }
    *shuffle_s = t1 - t0;
    *reduce_s = kit_thread_cpu_seconds() - t1;
    return alive;
}
