/*
 * mr_merge.c - FINAL RESULT, the slide's last step: the R reducers' sorted
 * runs merged into one sorted result (bytewise, as LC_ALL=C sort), and
 * written as "key<TAB>value" lines.
 *
 * Before: mr_reduce.c (the sorted runs).  That is the whole job: back to
 * mr_job.c, or on to the workers that ran it (mr_threads.c, mr_procs.c).
 */
#include "mr_internal.h"

#include "files.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The records of reduce output b, into recs[] (malloc'd, *n of them):
 * counted first, so the array is allocated once. */
static void parse_out(const buf_t *b, mr_rec **recs, size_t *n)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            *recs = xmalloc((count ? count : 1) * sizeof **recs);
        size_t off = 0, i = 0;
        while (off < b->len) {
            if (b->len - off < 16)
                die("corrupt reduce output");
            mr_rec r;
            memcpy(&r.klen, b->p + off, 4);
            memcpy(&r.tlen, b->p + off + 4, 4);
            memcpy(&r.value, b->p + off + 8, 8);
            if (b->len - off - 16 < (size_t)r.klen + r.tlen)
                die("corrupt reduce output");
            r.key = b->p + off + 16;
            r.text = r.key + r.klen;
            off += 16 + (size_t)r.klen + r.tlen;
            if (pass == 1)
                (*recs)[i] = r;
            i++;
        }
        count = i;
    }
    *n = count;
}

static int rec_cmp(const mr_rec *x, const mr_rec *y)
{
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Merge the R sorted runs (a k-way merge: R is small). */
void mr_merge_runs(const buf_t *redout, int R, mr_result *res)
{
    mr_rec **runs = xcalloc((size_t)R, sizeof *runs);
    size_t *len = xcalloc((size_t)R, sizeof *len),
           *pos = xcalloc((size_t)R, sizeof *pos);
    size_t total = 0;
    for (int r = 0; r < R; r++) {
        parse_out(&redout[r], &runs[r], &len[r]);
        total += len[r];
    }
    res->recs = xmalloc((total ? total : 1) * sizeof *res->recs);
    res->n = 0;
    for (;;) {
        int best = -1;
        for (int r = 0; r < R; r++)
            if (pos[r] < len[r] &&
                (best < 0 ||
                 rec_cmp(&runs[r][pos[r]], &runs[best][pos[best]]) < 0))
                best = r;
        if (best < 0)
            break;
        res->recs[res->n++] = runs[best][pos[best]++];
    }
    for (int r = 0; r < R; r++)
        free(runs[r]);
    free(runs);
    free(len);
    free(pos);
}

/* "\t<v>\n" into buf (at least 22 bytes); returns its length. */
static size_t tab_number_nl(char *buf, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf[0] = '\t';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = digits[n - 1 - i];
    buf[n + 1] = '\n';
    return n + 2;
}

/* The lines are assembled in a local buffer and written 64 KiB at a time:
 * two stdio calls and a printf per line were most of the time of writing
 * 100,000 short lines. */
bool mr_write_recs(FILE *out, const mr_rec *recs, size_t n)
{
    enum { CAP = 1 << 16 };
    char *buf = xmalloc(CAP);
    size_t len = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        const mr_rec *r = &recs[i];
        size_t need = (size_t)r->klen + (r->tlen ? 2 + (size_t)r->tlen : 22);
        if (len + need > CAP) { /* flush; a huge line goes out by itself */
            ok = fwrite(buf, 1, len, out) == len;
            len = 0;
            if (need > CAP) {
                ok = ok && fwrite(r->key, 1, r->klen, out) == r->klen;
                if (r->tlen)
                    ok = ok && putc('\t', out) != EOF &&
                         fwrite(r->text, 1, r->tlen, out) == r->tlen &&
                         putc('\n', out) != EOF;
                else {
                    size_t nl = tab_number_nl(buf, r->value);
                    ok = ok && fwrite(buf, 1, nl, out) == nl;
                }
                continue;
            }
        }
        memcpy(buf + len, r->key, r->klen);
        len += r->klen;
        if (r->tlen) {
            buf[len++] = '\t';
            memcpy(buf + len, r->text, r->tlen);
            len += r->tlen;
            buf[len++] = '\n';
        } else {
            len += tab_number_nl(buf + len, r->value);
        }
    }
    ok = ok && fwrite(buf, 1, len, out) == len;
    free(buf);
    return ok && !ferror(out);
}

void mr_write_result(const char *path, const mr_rec *recs, size_t n)
{
    FILE *f = kit_out_open(path ? path : "-"); /* see common/files.h */
    if (!mr_write_recs(f, recs, n))
        die_errno("writing %s", path ? path : "standard output");
    kit_out_commit();
}
