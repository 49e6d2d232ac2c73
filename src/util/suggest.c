/* suggest.c: the closest name to a mistyped one, see suggest.h. */
#include "util/suggest.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

int edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    /* three rows of the (n+1) x (m+1) table: two back for the swap, one back, this one */
    int *rows = xmalloc(sizeof(int) * 3 * (m + 1)), *r2 = rows, *r1 = rows + m + 1, *r0 = rows + 2 * (m + 1);
    for (size_t j = 0; j <= m; j++) r1[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        r0[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = r1[j - 1] + cost;                    /* substitute (or keep) */
            if (r1[j] + 1 < best) best = r1[j] + 1;         /* delete a[i-1] */
            if (r0[j - 1] + 1 < best) best = r0[j - 1] + 1; /* insert b[j-1] */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && r2[j - 2] + 1 < best)
                best = r2[j - 2] + 1;                       /* swap two neighbours */
            r0[j] = best;
        }
        int *t = r2; r2 = r1; r1 = r0; r0 = t;
    }
    int d = r1[m];
    free(rows);
    return d;
}

const char *closest_name(const char *word, const void *table, int count, size_t stride) {
    const char *best = NULL;
    int best_d = 0, limit = (int)strlen(word) / 3;
    if (limit < 1) limit = 1;
    for (int i = 0; i < count; i++) {
        const char *name = *(const char *const *)((const char *)table + (size_t)i * stride);
        int d = edit_distance(word, name);
        if (d <= limit && (!best || d < best_d)) { best = name; best_d = d; }
    }
    return best;
}
