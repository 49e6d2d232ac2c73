/* imagewrite.c: PNG files through stb_image_write (see imagewrite.h). stb encodes into memory
 * and hands the bytes to a callback; writing them here lets a full disk or an I/O error be
 * noticed (stbi_write_png itself does not check its fwrite). */
#include "data/imagewrite.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* (the ignores hold for the whole file: gcc reports a static function declared and never
 * defined at the end of the file) */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_STATIC   /* private: a test may link its own copy */
#include <stb/stb_image_write.h>

typedef struct {
    FILE *f;
    int failed;
} Sink;

static void sink_write(void *context, void *data, int size) {
    Sink *s = context;
    if (size > 0 && fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->failed = 1;
}

int png_write_gray(const char *path, int w, int h, const uint8_t *pixels, char *err) {
    Sink s = {fopen(path, "wb"), 0};
    if (!s.f) return errf(err, "%s: %s", path, strerror(errno));
    int ok = stbi_write_png_to_func(sink_write, &s, w, h, 1, pixels, w);
    int saved = errno;
    if (fclose(s.f) != 0 && !s.failed) { s.failed = 1; saved = errno; }
    if (ok && !s.failed) return 0;
    unlink(path);
    return errf(err, "%s: %s", path, s.failed ? strerror(saved) : "PNG encoding failed");
}
