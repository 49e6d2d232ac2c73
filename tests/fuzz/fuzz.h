/* fuzz.h: shared by the libFuzzer harnesses tests/fuzz/fuzz_*.c (`make fuzz`).
 * Each harness defines LLVMFuzzerTestOneInput; a property that fails calls FUZZ_ASSERT, which
 * aborts, so libFuzzer reports it (and saves the input) like any sanitizer finding. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz: %s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

static char fuzz_path[256];
static void fuzz_remove_file(void) { if (fuzz_path[0]) unlink(fuzz_path); }

/* Writes data to this process's temporary file /tmp/train-fuzz-TAG-PID (the same path on
 * every call, removed at exit) and returns its path: for readers that take a file name. */
static inline const char *fuzz_file(const char *tag, const uint8_t *data, size_t size) {
    if (!fuzz_path[0]) {
        snprintf(fuzz_path, sizeof fuzz_path, "/tmp/train-fuzz-%s-%ld", tag, (long)getpid());
        atexit(fuzz_remove_file);
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (!f) { perror(fuzz_path); abort(); }
    if (size && fwrite(data, 1, size, f) != size) { perror(fuzz_path); abort(); }
    if (fclose(f) != 0) { perror(fuzz_path); abort(); }
    return fuzz_path;
}

/* The input as a NUL-terminated string (malloc'd; ends at the first NUL byte, if any). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
