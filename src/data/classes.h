/* classes.h: class names. Datasets carry them where they have them (an image folder's class
 * directories, Fashion-MNIST's ten names, MNIST's digits); runs record them as one string, the
 * names joined with ',' (a ',' or '\' inside a name escaped with '\'), so that predict and
 * export can name a checkpoint's outputs without the dataset. */
#ifndef DATA_CLASSES_H
#define DATA_CLASSES_H

#include <stddef.h>

/* The names of a built-in dataset ("mnist", "fashion"), or NULL; *n gets their number. */
const char *const *classes_builtin(const char *spec, int *n);
/* A malloc'd copy of n names (each malloc'd too); classes_free frees it. */
char **classes_copy(const char *const *names, int n);
void classes_free(char **names, int n);
/* Joins n names into out (len bytes). Returns 0, or -1 when they do not fit (out is then ""). */
int classes_join(char *const *names, int n, char *out, size_t len);
/* Splits a joined list into *names (malloc'd, as classes_copy). Returns their number (0 for ""). */
int classes_split(const char *list, char ***names);

#endif
