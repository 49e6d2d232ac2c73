/* util.h: the few helpers every module shares: error reporting, checked allocation,
 * checked file I/O and a wall clock. Errors follow one convention: a module that can fail on
 * user input returns -1 and writes "<what>: <why>" into a caller-supplied buffer of ERR_LEN
 * bytes; only the command-line layer turns that into "train: <what>: <why>" and an exit code. */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>

#define ERR_LEN 512

/* exit codes */
#define EXIT_FAIL 1   /* runtime failure: bad file, numerical fault, I/O error */
#define EXIT_USAGE 2  /* bad flag or value, detected before any work */

/* The process's rank in an MPI job (run/dist.c sets it; 0 otherwise). Above rank 0, errors
 * read "train: rank N: ...", warnings are left to rank 0, and a usage error (the same on
 * every rank) waits 2 s for rank 0 to report it and end the job before saying it. */
void util_set_rank(int rank);
/* Prints "train: <formatted>\n" to stderr and exits with code. */
void fatal(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Prints "train: <formatted>\n" to stderr (a warning; the run goes on). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats into err (ERR_LEN bytes) and returns -1, so `return errf(err, ...)` reads naturally. */
int errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that cannot return NULL: out of memory is fatal (exit 1, message). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* 64-byte aligned allocation for SIMD buffers, zero-filled; free with free(). */
float *xalloc_floats(size_t n);

/* Writes "a|b|c" from the names of a table of structs whose first member is `const char *name`
 * (the optimizer and schedule tables), for --help and error messages. */
void join_names(const void *table, int count, size_t stride, char *buf, size_t len);

/* The row of such a table whose name equals name, or NULL. */
const void *find_by_name(const void *table, int count, size_t stride, const char *name);

/* Seconds on a monotonic clock. */
double now_seconds(void);
/* SIGINT and SIGTERM call handler (no SA_RESTART: a blocking call they interrupt returns EINTR). */
void catch_stop_signals(void (*handler)(int));

/* Reads a whole file into a malloc'd buffer (NUL-terminated, *len excludes the NUL).
 * Returns NULL and fills err on failure (missing, directory, unreadable). */
char *read_file(const char *path, size_t *len, char *err);
/* Why looking path up fails, when it is not simply missing: the errno of stat(2) (ELOOP for a
 * symlink loop, EACCES, ...), or 0 when path exists or cannot (ENOENT, ENOTDIR, ENAMETOOLONG).
 * Lets a "no such file" message be said only when it is true. */
int path_lookup_error(const char *path);
/* 1 if path exists and is a directory / a regular file. */
int is_dir(const char *path);
int is_file(const char *path);

#endif
