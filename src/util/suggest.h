/* suggest.h: "did you mean ...?" for a mistyped name: the closest entry of a table by edit
 * distance (optimal string alignment: insertions, deletions, substitutions and swaps of two
 * adjacent characters each cost 1). */
#ifndef UTIL_SUGGEST_H
#define UTIL_SUGGEST_H

#include <stddef.h>

/* The edit distance between a and b (case-sensitive). */
int edit_distance(const char *a, const char *b);

/* The name of the table row (structs whose first member is `const char *name`, as for
 * find_by_name) closest to word, or NULL when even the closest needs more than
 * max(1, strlen(word) / 3) edits, which would be a guess rather than a correction. Ties go
 * to the earlier row. */
const char *closest_name(const char *word, const void *table, int count, size_t stride);

#endif
