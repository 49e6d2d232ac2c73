/* alloc_count.c: an LD_PRELOAD shim that counts the heap allocations of a process and prints
 * the count to the file named by $ALLOC_COUNT_FILE at exit. Used to show that the training
 * loop allocates nothing per step (tests/cli_alloc.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_long count;
static void *(*real_malloc)(size_t), *(*real_calloc)(size_t, size_t), *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);

/* dlsym itself may calloc before real_calloc is known: serve that from a static pool. */
static char pool[4096];
static size_t pool_used;

static void *from_pool(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (pool_used + n > sizeof pool) return NULL;
    void *p = pool + pool_used;
    pool_used += n;
    return p;
}

static void init(void) {
    static int busy;
    if (real_malloc || busy) return;
    busy = 1;
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    busy = 0;
}

void *malloc(size_t n) {
    init();
    if (!real_malloc) return from_pool(n);
    count++;
    return real_malloc(n);
}

void *calloc(size_t n, size_t size) {
    init();
    if (!real_calloc) return from_pool(n * size);   /* the pool is zero-initialised */
    count++;
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    init();
    count++;
    return real_realloc(p, n);
}

int posix_memalign(void **p, size_t align, size_t n) {
    init();
    count++;
    return real_posix_memalign(p, align, n);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= pool && (char *)p < pool + sizeof pool) return;
    if (!real_free) real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("ALLOC_COUNT_FILE");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%ld\n", (long)count); fclose(f); }
}
