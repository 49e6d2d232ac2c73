/* logcsv.h: reading a run's log.csv back (for its plots, and for comparing runs): a header
 * row of column names, then rows of numbers; an empty cell reads as NAN. */
#ifndef LOGCSV_H
#define LOGCSV_H

typedef struct {
    int n_rows, n_cols;
    char **names;      /* n_cols column names */
    double *cells;     /* n_rows x n_cols, row-major */
} LogCsv;

/* Returns 0, or -1 with err = "<path>: <why>" (missing, no header, a cell that is not a
 * number, a row with the wrong number of cells). */
int logcsv_read(const char *path, LogCsv *t, char *err);
void logcsv_free(LogCsv *t);
/* Index of a column, or -1. */
int logcsv_find(const LogCsv *t, const char *name);
/* A malloc'd copy of column `name` (n_rows values), or NULL when there is no such column. */
double *logcsv_column(const LogCsv *t, const char *name);

#endif
