/* logcsv.c: log.csv reader, see logcsv.h. */
#include "formats/logcsv.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int logcsv_read(const char *path, LogCsv *t, char *err) {
    memset(t, 0, sizeof *t);
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return -1;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line) { free(text); return errf(err, "%s: empty, expected a header row", path); }
    for (char *p = line; p; p = strchr(p, ',')) { p += *p == ','; t->n_cols++; }
    t->names = xcalloc((size_t)t->n_cols, sizeof(char *));
    char *col_save = NULL;
    int k = 0;
    for (char *name = strtok_r(line, ",", &col_save); name && k < t->n_cols; name = strtok_r(NULL, ",", &col_save))
        t->names[k++] = xstrdup(name);
    t->n_cols = k;
    int cap = 256;
    t->cells = xmalloc(sizeof(double) * (size_t)cap * (size_t)t->n_cols);
    for (int row = 1; (line = strtok_r(NULL, "\n", &save)); row++) {
        if (t->n_rows == cap) {
            cap *= 2;
            t->cells = xrealloc(t->cells, sizeof(double) * (size_t)cap * (size_t)t->n_cols);
        }
        double *cells = t->cells + (size_t)t->n_rows * t->n_cols;
        char *p = line;
        for (int c = 0; c < t->n_cols; c++) {
            char *end = p;
            int empty = *p == ',' || *p == 0 || *p == '\r';
            cells[c] = empty ? NAN : strtod(p, &end);
            int last = c == t->n_cols - 1;
            if ((!empty && end == p) || (last && *end != 0 && *end != '\r') || (!last && *end != ',')) {
                free(text);
                logcsv_free(t);
                return errf(err, "%s: row %d, column %d: expected a number or an empty cell", path, row + 1, c + 1);
            }
            p = end + !last;
        }
        t->n_rows++;
    }
    free(text);
    return 0;
}

void logcsv_free(LogCsv *t) {
    for (int c = 0; t->names && c < t->n_cols; c++) free(t->names[c]);
    free(t->names);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

int logcsv_find(const LogCsv *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (strcmp(t->names[c], name) == 0) return c;
    return -1;
}

double *logcsv_column(const LogCsv *t, const char *name) {
    int c = logcsv_find(t, name);
    if (c < 0) return NULL;
    double *out = xmalloc(sizeof(double) * (size_t)(t->n_rows ? t->n_rows : 1));
    for (int r = 0; r < t->n_rows; r++) out[r] = t->cells[(size_t)r * t->n_cols + c];
    return out;
}
