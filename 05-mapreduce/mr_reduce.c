/*
 * mr_reduce.c - SHUFFLING (the receiving side) and REDUCING, the slide's
 * fourth and fifth steps: reduce task r fetches partition r of every map
 * output, groups the values by key (in map-task order), calls the
 * application's reduce() once per distinct key, and sorts the keys.
 *
 * Before: mr_partition.c (how a key got here).  Next: mr_merge.c.
 *
 * The group table: one key group per distinct key, holding its list of
 * value nodes.  It is indexed by the hash's top bits, like the combiner,
 * because a map output lists its keys in its combiner's slot order, i.e.
 * sorted by those bits: so each map output sweeps this table from start to
 * end -- memory read in order, which the hardware prefetches -- instead of
 * jumping to a random slot (a cache miss) for every pair.  That needs the
 * table big enough from the start: grown from small, the first keys (the
 * smallest hashes) would all pile up at slot 0 and every later one probe
 * past the pile.  The value lists are built in the same order, so reducing
 * in slot order walks them in order too; only the final sort looks at the
 * keys in another order.
 */
#include "mr_internal.h"

#include "mr_key.h"
#include "timing.h"

/* What app->reduce() may attach to a key's result. */
void mr_text_add(mr_text *t, const char *s, size_t n) { buf_put(&t->b, s, n); }

typedef struct {
    uint64_t hash;
    const char *key; /* NULL: free slot */
    uint32_t klen;
    uint32_t head, tail; /* value list in the node array */
    uint32_t n;          /* values */
} key_group;

typedef struct {
    uint64_t val;
    uint32_t next; /* UINT32_MAX: end */
} value_node;

/* A reduced key, to sort: its first 8 bytes as a big-endian number
 * (zero-padded), so that most comparisons are one integer compare with no
 * trip to the key's bytes (scattered over the map outputs: a cache miss
 * each); then the result of reduce(). */
typedef struct {
    uint64_t prefix;
    const key_group *s;
    uint64_t res;  /* reduce()'s value */
    uint64_t toff; /* its text: tlen bytes at offset toff of the task's */
    uint32_t tlen; /* text buffer */
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
    uint32_t n = x->s->klen < y->s->klen ? x->s->klen : y->s->klen;
    int c = n ? memcmp(x->s->key, y->s->key, n) : 0;
    if (c)
        return c;
    return (x->s->klen > y->s->klen) - (x->s->klen < y->s->klen);
}

/* n free slots.  Not calloc: memset writes every page at once, which in a
 * threaded process costs less than calloc's pages faulting twice (README,
 * "How fast"). */
static key_group *group_table_new(size_t n)
{
    key_group *t = xmalloc(n * sizeof *t);
    memset(t, 0, n * sizeof *t);
    return t;
}

/* Double the grouping table (rare: it starts big enough for the largest
 * map output's keys). */
static key_group *group_table_grow(key_group *tab, unsigned *bits)
{
    size_t old = (size_t)1 << *bits, cap = old * 2;
    key_group *nt = group_table_new(cap);
    for (size_t k = 0; k < old; k++) {
        if (!tab[k].key)
            continue;
        size_t j = (size_t)(tab[k].hash >> (64 - (*bits + 1)));
        while (nt[j].key)
            j = (j + 1) & (cap - 1);
        nt[j] = tab[k];
    }
    free(tab);
    ++*bits;
    return nt;
}

/* Reduce every key of tab, in slot order, then sort them: out receives the
 * sorted records (u32 klen, u32 tlen, u64 value, key, text). */
static void reduce_keys(const mr_app *app, const key_group *tab, unsigned bits,
                        size_t used, const value_node *nodes, buf_t *out)
{
    reduced_key *keys = xmalloc((used ? used : 1) * sizeof *keys);
    size_t vcap = 16, k = 0, need = 0;
    uint64_t *vals = xmalloc(vcap * sizeof *vals);
    mr_text text = {{0}};
    for (size_t i = 0; i < (size_t)1 << bits; i++) {
        const key_group *s = &tab[i];
        if (!s->key)
            continue;
        if (s->n > vcap) {
            vcap = s->n * 2;
            vals = xrealloc(vals, vcap * sizeof *vals);
        }
        size_t n = 0;
        for (uint32_t x = s->head; x != UINT32_MAX; x = nodes[x].next)
            vals[n++] = nodes[x].val;
        size_t before = text.b.len;
        uint64_t res = app->reduce(s->key, s->klen, vals, n, &text, app->arg);
        if (text.b.len - before >= UINT32_MAX)
            die("reduce: a result text is too long");
        uint32_t tl = (uint32_t)(text.b.len - before);
        keys[k++] =
            (reduced_key){key_prefix(s->key, s->klen), s, res, before, tl};
        need += 16 + (size_t)s->klen + tl;
    }
    qsort(keys, used, sizeof *keys, reduced_key_cmp); /* distinct keys only */
    out->len = 0;
    buf_reserve(out, need);
    for (size_t i = 0; i < used; i++) {
        const reduced_key *x = &keys[i];
        char *p = out->p + out->len;
        memcpy(p, &x->s->klen, 4);
        memcpy(p + 4, &x->tlen, 4);
        memcpy(p + 8, &x->res, 8);
        memcpy(p + 16, x->s->key, x->s->klen);
        if (x->tlen)
            memcpy(p + 16 + x->s->klen, text.b.p + x->toff, x->tlen);
        out->len += 16 + (size_t)x->s->klen + x->tlen;
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
    buf_t *files = procs ? xcalloc((size_t)job->M, sizeof *files) : NULL;
    const buf_t **ins = xcalloc((size_t)job->M, sizeof *ins);
    /* Fetch every map output first: their sizes bound the work.  A record
     * is at least 12 bytes, so total / 12 bounds the values (the node
     * array never has to grow) and largest / 12 the keys of the largest
     * map output, which are all distinct (the table starts at twice
     * that). */
    size_t total = 0, largest = 0;
    for (int m = 0; m < job->M; m++) {
        if (procs) {
            char path[PATHLEN];
            mr_inter_name(path, m, r, "");
            mr_slurp(path, &files[m]);
            ins[m] = &files[m];
        } else {
            ins[m] = &job->mapout[(size_t)m * (size_t)job->R + (size_t)r];
        }
        total += ins[m]->len;
        largest = ins[m]->len > largest ? ins[m]->len : largest;
    }
    unsigned bits = 10;
    while (((size_t)1 << bits) < largest / 12 * 2)
        bits++;
    key_group *tab = group_table_new((size_t)1 << bits);
    size_t used = 0, nn = 0, ncap = total / 12 + 1;
    value_node *nodes = xmalloc(ncap * sizeof *nodes);
    bool alive = true;
    for (int m = 0; m < job->M && alive; m++) {
        if (m == crash_after) {
            alive = mr_crash_now(job, &c);
            break;
        }
        size_t off = 0;
        const char *key;
        uint32_t klen;
        uint64_t v;
        while (pair_next(ins[m], &off, &key, &klen, &v)) {
            uint64_t h = hash_key(key, klen);
            size_t mask = ((size_t)1 << bits) - 1;
            size_t i = (size_t)(h >> (64 - bits)); /* see above */
            while (tab[i].key && !(tab[i].hash == h && tab[i].klen == klen &&
                                   same_key(tab[i].key, key, klen)))
                i = (i + 1) & mask;
            if (nn >= UINT32_MAX)
                die("reduce partition %d: too many values", r);
            nodes[nn] = (value_node){v, UINT32_MAX}; /* nn < ncap: total / 12 */
            key_group *s = &tab[i];
            if (!s->key) {
                *s = (key_group){h, key, klen, (uint32_t)nn, (uint32_t)nn, 1};
                if (++used * 2 > mask + 1)
                    tab = group_table_grow(tab, &bits);
            } else {
                nodes[s->tail].next = (uint32_t)nn;
                s->tail = (uint32_t)nn;
                s->n++;
            }
            nn++;
        }
    }
    double t1 = kit_thread_cpu_seconds();
    if (alive)
        reduce_keys(job->cfg->app, tab, bits, used, nodes, out);
    free(tab);
    free(nodes);
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
    if (files) {
        for (int m = 0; m < job->M; m++)
            buf_free(&files[m]);
        free(files);
    }
    free(ins);
    *shuffle_s = t1 - t0;
    *reduce_s = kit_thread_cpu_seconds() - t1;
    return alive;
}
