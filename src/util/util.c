/* util.c: error reporting, checked allocation, file helpers, clock. */
#define _POSIX_C_SOURCE 200809L
#include "util/util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int my_rank;   /* util_set_rank */

void util_set_rank(int rank) { my_rank = rank; }

/* One line "train: <message>" on stderr. */
static void say(const char *fmt, va_list ap) {
    fputs("train: ", stderr);
    if (my_rank > 0) fprintf(stderr, "rank %d: ", my_rank);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void fatal(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    /* a usage error is the same on every rank and rank 0 reports it (mpirun then ends this
     * rank); one that only this rank met is reported after a pause */
    if (my_rank > 0 && code == EXIT_USAGE) sleep(2);
    say(fmt, ap);
    va_end(ap);
    exit(code);
}

void warn(const char *fmt, ...) {
    if (my_rank > 0) return;
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

int errf(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) fatal(EXIT_FAIL, "out of memory: could not allocate %zu bytes", n);
    return p;
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) fatal(EXIT_FAIL, "out of memory: could not allocate %zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) fatal(EXIT_FAIL, "out of memory: could not allocate %zu bytes", n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

float *xalloc_floats(size_t n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        fatal(EXIT_FAIL, "out of memory: could not allocate %zu floats", n);
    memset(p, 0, bytes);
    return p;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int path_lookup_error(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 || errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG) return 0;
    return errno;
}

int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *read_file(const char *path, size_t *len, char *err) {
    if (is_dir(path)) { errf(err, "%s: is a directory, expected a file", path); return NULL; }
    if (access(path, F_OK) == 0 && !is_file(path)) {   /* a FIFO or device would never end */
        errf(err, "%s: not a regular file", path);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) { errf(err, "%s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        errf(err, "%s: read error: %s", path, strerror(errno));
        fclose(f); free(buf); return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

void join_names(const void *table, int count, size_t stride, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < count && used < len; i++) {
        const char *name = *(const char *const *)((const char *)table + (size_t)i * stride);
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", name);
    }
}

const void *find_by_name(const void *table, int count, size_t stride, const char *name) {
    for (int i = 0; i < count; i++) {
        const char *row = (const char *)table + (size_t)i * stride;
        if (strcmp(*(const char *const *)row, name) == 0) return row;
    }
    return NULL;
}

void catch_stop_signals(void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
