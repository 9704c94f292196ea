/*
 * mr_explain.c - the phases, printed: --explain shows what every phase of
 * the slide produced on a small input (the splits, each map task's pairs,
 * the combined pairs, each reducer's groups, the reduced keys, the
 * result); --plan prints the plan and the time each phase took.
 *
 * Read it next to mr_job.c: each numbered heading is one call there.
 */
#include "mr_internal.h"

#include "table.h"

#include <stdio.h>

static void show_bytes(FILE *f, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
}

static int pair_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    uint32_t lx, ly;
    memcpy(&lx, *x, 4);
    memcpy(&ly, *y, 4);
    uint32_t n = lx < ly ? lx : ly;
    int c = n ? memcmp(*x + 12, *y + 12, n) : 0;
    return c ? c : (lx > ly) - (lx < ly);
}

/* Print the pairs of buffers bufs[0..nb) sorted by key ("(bear, 1) ..."). */
static void show_pairs(FILE *f, const buf_t *bufs, int nb, bool sort)
{
    size_t n = 0, cap = 16;
    const char **recs = xmalloc(cap * sizeof *recs);
    for (int k = 0; k < nb; k++) {
        size_t off = 0, at;
        const char *key;
        uint32_t klen;
        uint64_t v;
        while (at = off, pair_next(&bufs[k], &off, &key, &klen, &v)) {
            if (n == cap)
                recs = xrealloc(recs, (cap *= 2) * sizeof *recs);
            recs[n++] = bufs[k].p + at;
        }
    }
    if (sort)
        qsort(recs, n, sizeof *recs, pair_cmp);
    for (size_t i = 0; i < n; i++) {
        uint32_t klen;
        uint64_t v;
        memcpy(&klen, recs[i], 4);
        memcpy(&v, recs[i] + 4, 8);
        fputs(" (", f);
        show_bytes(f, recs[i] + 12, klen);
        fprintf(f, ", %llu)", (unsigned long long)v);
    }
    if (n == 0)
        fputs(" (nothing)", f);
    fputc('\n', f);
    free(recs);
}

void mr_explain_map(const mr_job *job)
{
    FILE *f = stdout;
    printf("1. SPLITTING: %llu bytes cut every %llu bytes into %d split%s "
           "(HDFS: 128 MiB blocks);\n   each boundary moved to just after a "
           "separator, so no word is cut in two\n",
           (unsigned long long)job->total, (unsigned long long)job->block,
           job->M, job->M == 1 ? "" : "s");
    for (int m = 0; m < job->M; m++) {
        const mr_split *s = &job->splits[m];
        size_t len = (size_t)(s->end - s->begin);
        char *p = xmalloc(len ? len : 1);
        mr_read_at(job->fds[s->file], job->names[s->file], job->sizes[s->file],
                   p, len, s->begin);
        printf("   split %d  %s bytes [%llu, %llu)  \"", m, job->names[s->file],
               (unsigned long long)s->begin, (unsigned long long)s->end);
        show_bytes(f, p, len);
        printf("\"\n");
        free(p);
    }
    printf(
        "\n2. MAPPING: each map task emits a pair (key, value) per record\n");
    for (int m = 0; m < job->M; m++) {
        printf("   map %d:", m);
        show_pairs(f, &job->trace[m], 1, false);
    }
    printf("\n3. COMBINING (in the mapper): equal keys of one task folded "
           "together\n");
    for (int m = 0; m < job->M; m++) {
        printf("   map %d:", m);
        show_pairs(f, &job->mapout[(size_t)m * (size_t)job->R], job->R, true);
    }
}

void mr_explain_reduce(const mr_job *job)
{
    printf("\n4. SHUFFLING: pair (k, v) goes to reducer mr_partition(hash(k), "
           "%d);\n"
           "   each reducer groups its values by key, in map-task order\n",
           job->R);
    for (int r = 0; r < job->R; r++) {
        printf("   reducer %d:", r);
        /* Re-group from the map outputs, exactly as mr_reduce_task did. */
        size_t off = 0;
        const buf_t *out = &job->redout[r];
        bool any = false;
        while (off < out->len) {
            uint32_t klen, tl;
            memcpy(&klen, out->p + off, 4);
            memcpy(&tl, out->p + off + 4, 4);
            const char *key = out->p + off + 16;
            printf(" ");
            show_bytes(stdout, key, klen);
            printf(" [");
            int nv = 0;
            for (int m = 0; m < job->M; m++) {
                size_t o2 = 0;
                const char *k2;
                uint32_t l2;
                uint64_t v;
                const buf_t *in =
                    &job->mapout[(size_t)m * (size_t)job->R + (size_t)r];
                while (pair_next(in, &o2, &k2, &l2, &v))
                    if (l2 == klen && memcmp(k2, key, klen) == 0)
                        printf("%s%llu", nv++ ? ", " : "",
                               (unsigned long long)v);
            }
            printf("]");
            off += 16 + (size_t)klen + tl;
            any = true;
        }
        printf("%s\n", any ? "" : " (nothing: no key hashed here)");
    }
    printf(
        "\n5. REDUCING: each reducer folds every key's values into one result, "
        "sorted by key\n");
    for (int r = 0; r < job->R; r++) {
        printf("   reducer %d:", r);
        size_t off = 0;
        const buf_t *out = &job->redout[r];
        if (out->len == 0)
            printf(" (nothing)");
        while (off < out->len) {
            uint32_t klen, tl;
            uint64_t v;
            memcpy(&klen, out->p + off, 4);
            memcpy(&tl, out->p + off + 4, 4);
            memcpy(&v, out->p + off + 8, 8);
            printf(" (");
            show_bytes(stdout, out->p + off + 16, klen);
            if (tl) {
                printf(", ");
                show_bytes(stdout, out->p + off + 16 + klen, tl);
                printf(")");
            } else {
                printf(", %llu)", (unsigned long long)v);
            }
            off += 16 + (size_t)klen + tl;
        }
        printf("\n");
    }
    printf("\n6. FINAL RESULT: the %d sorted reducer outputs merged into one\n",
           job->R);
}

void mr_print_plan(FILE *f, const mr_result *res)
{
    double mb = (double)res->bytes / 1e6;
    fprintf(
        f,
        "plan: %llu bytes (%.2f MB) in %d split%s of at most %llu bytes (HDFS "
        "uses 128 MiB blocks),\n      boundaries moved to just after a "
        "separator; "
        "%d map task%s -> %d reduce partition%s,\n      %d worker %s, "
        "%ld failed attempt%s\n",
        (unsigned long long)res->bytes, mb, res->map_tasks,
        res->map_tasks == 1 ? "" : "s", (unsigned long long)res->block_size,
        res->map_tasks, res->map_tasks == 1 ? "" : "s", res->reduce_tasks,
        res->reduce_tasks == 1 ? "" : "s", res->jobs,
        res->workers == MR_PROCESSES ? "processes" : "threads",
        res->failed_attempts, res->failed_attempts == 1 ? "" : "s");
    kit_table t;
    tbl_init(&t);
    tbl_col(&t, "phase", TBL_LEFT);
    tbl_col(&t, "seconds", TBL_RIGHT);
    tbl_col(&t, "share", TBL_RIGHT);
    tbl_col(&t, "what happened", TBL_LEFT);
    const struct {
        const char *name;
        double s;
        const char *what;
    } ph[] = {
        {"split", res->t_split, "open the inputs, cut them into blocks"},
        {"map", res->t_map, "map + combine every split, partition"},
        {"shuffle", res->t_shuffle,
         "each reducer fetches + groups its partition"},
        {"reduce", res->t_reduce, "reduce every distinct key, sort the keys"},
        {"merge", res->t_merge, "merge the sorted runs, write the result"},
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        tbl_cell(&t, "%s", ph[i].name);
        tbl_cell(&t, "%.3f", ph[i].s);
        tbl_cell(&t, "%.0f%%",
                 res->t_total > 0 ? 100 * ph[i].s / res->t_total : 0);
        tbl_cell(&t, "%s", ph[i].what);
    }
    tbl_cell(&t, "total");
    tbl_cell(&t, "%.3f", res->t_total);
    tbl_cell(&t, "100%%");
    tbl_cell(&t, "%.1f MB/s", res->t_total > 0 ? mb / res->t_total : 0);
    tbl_print(&t, f);
}
