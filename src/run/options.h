/* options.h: the option table's row type, shared by the table (options.c) and the machinery
 * that derives everything from it (config.c). */
#ifndef RUN_OPTIONS_H
#define RUN_OPTIONS_H

#include "run/config.h"

#include <stddef.h>

typedef enum { T_INT, T_FLOAT, T_STR, T_BOOL } OptType;

typedef struct {
    const char *name;      /* --name; JSON key with '-' as '_' */
    OptType type;
    size_t offset, size;   /* field in Config; size for strings */
    const char *def;       /* default, as it would be typed */
    const char *choices;   /* "a|b|c", "@optim" / "@sched" for the tables, or NULL */
    const char *keyword;   /* T_INT: a word accepted instead of a number ... */
    long keyword_value;    /* ... and the value it stands for */
    double lo, hi;         /* accepted range (numbers) */
    int open;              /* OPEN_LO / OPEN_HI: that end of the range is excluded */
    unsigned flags;
    const char *group, *help;
} OptDef;

#define OPEN_LO 1
#define OPEN_HI 2

extern const OptDef opts[];
extern const int n_opts;
#define N_OPTS n_opts
#define MAX_OPTS 256     /* the size of Config's given/set */

#endif
