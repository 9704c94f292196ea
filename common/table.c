/* table.c - see table.h. */
#include "table.h"

#include <stdarg.h>
#include <string.h>

void tbl_init(kit_table *t) { memset(t, 0, sizeof *t); }

void tbl_col(kit_table *t, const char *header, enum tbl_align align)
{
    if (t->ncols >= TBL_MAX_COLS)
        die("table: more than %d columns", TBL_MAX_COLS);
    snprintf(t->head[t->ncols], TBL_CELL, "%s", header);
    t->align[t->ncols++] = align;
}

void tbl_cell(kit_table *t, const char *fmt, ...)
{
    if (t->nrows >= TBL_MAX_ROWS)
        die("table: more than %d rows", TBL_MAX_ROWS);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->cell[t->nrows][t->cur], TBL_CELL, fmt, ap);
    va_end(ap);
    if (++t->cur == t->ncols) {
        t->cur = 0;
        t->nrows++;
    }
}

/* Display width of UTF-8 text: count bytes that start a character. */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void put_cell(FILE *out, const char *s, int w, enum tbl_align a,
                     int last)
{
    int pad = w - width(s);
    if (a == TBL_RIGHT)
        fprintf(out, "%*s%s", pad, "", s);
    else if (last)
        fputs(s, out); /* no trailing blanks */
    else
        fprintf(out, "%s%*s", s, pad, "");
}

void tbl_print(const kit_table *t, FILE *out)
{
    int w[TBL_MAX_COLS] = {0};
    for (int c = 0; c < t->ncols; c++) {
        w[c] = width(t->head[c]);
        for (int r = 0; r < t->nrows; r++)
            if (width(t->cell[r][c]) > w[c])
                w[c] = width(t->cell[r][c]);
    }
    for (int c = 0; c < t->ncols; c++) {
        put_cell(out, t->head[c], w[c], t->align[c], c == t->ncols - 1);
        fputs(c == t->ncols - 1 ? "\n" : "  ", out);
    }
    for (int c = 0; c < t->ncols; c++) {
        for (int i = 0; i < w[c]; i++)
            fputc('-', out);
        fputs(c == t->ncols - 1 ? "\n" : "  ", out);
    }
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            put_cell(out, t->cell[r][c], w[c], t->align[c], c == t->ncols - 1);
            fputs(c == t->ncols - 1 ? "\n" : "  ", out);
        }
}
