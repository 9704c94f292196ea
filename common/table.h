/*
 * table.h - aligned result tables, the kit's way of grading output:
 *
 *     mode     expected       got      lost   time  verdict
 *     unsafe    2000000   1234567    765433  0.04s  DATA RACE: updates lost
 *     mutex     2000000   2000000         0  0.21s  OK
 *
 * Cells are formatted with printf; numeric columns align right.  Up to
 * TBL_MAX_COLS columns and TBL_MAX_ROWS rows; cells are truncated at
 * TBL_CELL bytes.
 */
#ifndef KIT_TABLE_H
#define KIT_TABLE_H

#include <stdio.h>

#include "err.h"

#define TBL_MAX_COLS 12
#define TBL_MAX_ROWS 64
#define TBL_CELL 96

enum tbl_align { TBL_LEFT, TBL_RIGHT };

typedef struct {
    int ncols; /* columns declared with tbl_col() */
    int nrows; /* complete rows; row nrows is being filled */
    int cur;   /* next cell of the current row */
    enum tbl_align align[TBL_MAX_COLS];
    char head[TBL_MAX_COLS][TBL_CELL];
    char cell[TBL_MAX_ROWS][TBL_MAX_COLS][TBL_CELL];
} kit_table;

void tbl_init(kit_table *t);
void tbl_col(kit_table *t, const char *header, enum tbl_align align);
/* Append one cell to the current row; the row ends after ncols cells. */
void tbl_cell(kit_table *t, const char *fmt, ...) KIT_PRINTF(2, 3);
/* Print the header, a rule and every row. */
void tbl_print(const kit_table *t, FILE *out);

#endif
