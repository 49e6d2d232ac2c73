/* imagefolder.c: image-folder datasets, decoded with stb_image (see imagefolder.h).
 *
 * Loading is in two passes: the directory tree is listed first (class names, then every
 * class's file names, all sorted with strcmp so the order never depends on the filesystem or
 * the locale), then the images are decoded one at a time into one growing pixel buffer, so
 * memory follows the data actually decoded, never a count or size a file merely claims.
 *
 * stb_image is lenient where a dataset loader must not be: it checks neither PNG chunk CRCs
 * nor zlib's Adler-32 (a flipped byte in compressed data can decode to wrong pixels without
 * an error), and past the end of a file it reads zeros (a truncated BMP decodes "fine"). So a
 * PNG's chunks are checked against their CRCs before decoding, and stb reads the file through
 * callbacks that notice any attempt to read past its end. */
#include "data/imagefolder.h"
#include "data/classes.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* stb_image's implementation lives here, and only here: PNG, JPEG, BMP and binary PGM/PPM. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_NO_LINEAR
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

/* ---- sorted name lists ---- */

typedef struct {
    char **v;
    int n, cap;
} Names;

static void names_push(Names *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, sizeof(char *) * (size_t)l->cap);
    }
    l->v[l->n++] = xstrdup(s);
}

static void names_free(Names *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* out = a/b, or -1 with err when it does not fit. */
static int join(char *out, const char *a, const char *b, char *err) {
    int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= PATH_MAX) return errf(err, "%s/%s: path too long", a, b);
    return 0;
}

/* Lists the entries of dir, except those whose names start with '.', sorted with strcmp.
 * dirs = 1: the subdirectories, other entries ignored (*n_files counts the regular files);
 * dirs = 0: the regular files, any other entry (a subdirectory, a FIFO) is an error.
 * At most `limit` names; more is an error, the message `over`. */
static int list_dir(const char *dir, int dirs, long limit, const char *over, Names *out,
                    int *n_files, char *err) {
    memset(out, 0, sizeof *out);
    if (n_files) *n_files = 0;
    DIR *d = opendir(dir);
    if (!d) return errf(err, "%s: %s", dir, strerror(errno));
    char path[PATH_MAX];
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) rc = errf(err, "%s: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.') continue;
        if ((rc = join(path, dir, e->d_name, err)) != 0) break;
        struct stat st;
        if (stat(path, &st) != 0) { rc = errf(err, "%s: %s", path, strerror(errno)); break; }
        if (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
            if (dirs) { if (n_files && S_ISREG(st.st_mode)) ++*n_files; continue; }
            rc = errf(err, "%s: %s; a class directory holds image files only", path,
                      S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
            break;
        }
        if (out->n >= limit) { rc = errf(err, "%s", over); break; }
        names_push(out, e->d_name);
    }
    closedir(d);
    if (rc != 0) { names_free(out); return -1; }
    if (out->n > 1) qsort(out->v, (size_t)out->n, sizeof(char *), cmp_name);
    return 0;
}

/* The class directories of a split: at least one, at most IMAGEFOLDER_MAX_CLASSES. */
static int list_classes(const char *split, Names *classes, char *err) {
    int n_files;
    char over[ERR_LEN];
    snprintf(over, sizeof over, "%.400s: more than %d class directories (labels are one byte)",
             split, IMAGEFOLDER_MAX_CLASSES);
    if (!is_dir(split))
        return errf(err, "%s: no such directory (an image-folder dataset holds train/ and test/, "
                    "with one subdirectory of images per class in each)", split);
    if (list_dir(split, 1, IMAGEFOLDER_MAX_CLASSES, over, classes, &n_files, err) != 0)
        return -1;
    if (classes->n == 0)
        return errf(err, "%s: no class directories%s (expected one subdirectory of images per "
                    "class, e.g. %s/0/, %s/1/)", split,
                    n_files ? ", only plain files; put each class's images in its own subdirectory" : "",
                    split, split);
    return 0;
}

/* Both splits must name the same classes, or labels would mean different things. */
static int same_classes(const char *train, const Names *a, const char *test, const Names *b, char *err) {
    int i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i], b->v[j]);
        if (c < 0)
            return errf(err, "%s: no class directory \"%s\", which %s has (train and test must "
                        "have the same class directories)", test, a->v[i], train);
        if (c > 0)
            return errf(err, "%s/%s: class directory not in %s (train and test must have the "
                        "same class directories)", test, b->v[j], train);
        i++, j++;
    }
    return 0;
}

/* ---- reading one image ---- */

/* stb reads the file through these; hit_end records a read that found no data left, i.e. the
 * decoder wanted bytes the file does not have. */
typedef struct {
    FILE *f;
    int hit_end;
} Reader;

static int reader_read(void *user, char *data, int size) {
    Reader *r = user;
    size_t got = size > 0 ? fread(data, 1, (size_t)size, r->f) : 0;
    if (got == 0 && size > 0) r->hit_end = 1;
    return (int)got;
}

static void reader_skip(void *user, int n) {
    Reader *r = user;
    if (fseek(r->f, n, SEEK_CUR) != 0) r->hit_end = 1;
}

static int reader_eof(void *user) {
    Reader *r = user;
    return feof(r->f) || ferror(r->f);
}

static const stbi_io_callbacks reader_io = {reader_read, reader_skip, reader_eof};

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Copies s into out with anything unprintable replaced (stb quotes chunk types verbatim). */
static void printable(char *out, size_t len, const char *s) {
    size_t i = 0;
    for (; s && s[i] && i + 1 < len; i++)
        out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ? '?' : s[i];
    out[i] = 0;
}

/* For a PNG (by signature; anything else passes), checks that the chunks are whole, that each
 * matches its CRC and that IEND is reached. 0, or -1 with why. */
static int png_check(FILE *f, char *why, size_t len) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8], buf[1 << 14];
    if (fread(head, 1, 8, f) != 8 || memcmp(head, sig, 8) != 0) return 0;
    for (;;) {
        size_t got = fread(head, 1, 8, f);
        if (got == 0) { snprintf(why, len, "truncated PNG: no IEND chunk"); return -1; }
        if (got < 8) { snprintf(why, len, "truncated PNG chunk header"); return -1; }
        char raw[5] = {0}, type[5];
        memcpy(raw, head + 4, 4);
        printable(type, sizeof type, raw);
        uint32_t n = be32(head);
        if (n > 0x7fffffffu) { snprintf(why, len, "PNG chunk %s: bad length %u", type, n); return -1; }
        uLong crc = crc32(0L, head + 4, 4);
        while (n > 0) {
            size_t want = n < sizeof buf ? n : sizeof buf;
            if (fread(buf, 1, want, f) != want) {
                snprintf(why, len, "truncated PNG: chunk %s ends early", type);
                return -1;
            }
            crc = crc32(crc, buf, (uInt)want);
            n -= (uint32_t)want;
        }
        if (fread(buf, 1, 4, f) != 4) { snprintf(why, len, "truncated PNG: chunk %s has no CRC", type); return -1; }
        if (be32(buf) != (uint32_t)crc) { snprintf(why, len, "PNG chunk %s fails its CRC check", type); return -1; }
        if (!memcmp(head + 4, "IEND", 4)) return 0;
    }
}

/* For a JPEG (a file starting with 0xFF: no other format stb knows does), walks the segments
 * as stb_image will read them and refuses what stb 2.27 would mishandle (on hostile input, a
 * heap overflow and wild reads): a Huffman table whose 16 counts add up to more than 256 codes
 * makes stb write past its tables, and a scan that uses a table no DHT segment defined makes it
 * index with uninitialised memory. So every DHT segment is checked, wherever it occurs
 * (progressive files have them between scans), and every scan's tables must be defined before
 * it. The walk is strict: segments must follow each other exactly and the file must reach EOI,
 * so stb never meets a marker this walk did not. 0, or -1 with why. */
static int jpeg_check(FILE *f, char *why, size_t len) {
    int c = getc(f);
    if (c != 0xFF) return 0;
    ungetc(c, f);
    int m = -1, seen_soi = 0;   /* m: a marker code already read (after a scan), else -1 */
    int progressive = 0, dc_defined[4] = {0}, ac_defined[4] = {0};
    for (;;) {
        if (m < 0) {   /* a marker: 0xFF, fill bytes (more 0xFF), the code */
            if ((c = getc(f)) == EOF) goto eof;
            if (c != 0xFF) { snprintf(why, len, "JPEG: data where a marker should be"); return -1; }
            while ((m = getc(f)) == 0xFF) {}
            if (m == EOF) goto eof;
        }
        int code = m;
        m = -1;
        if (code == 0xD8) {
            if (seen_soi) { snprintf(why, len, "JPEG: a second SOI marker"); return -1; }
            seen_soi = 1;
            continue;
        }
        if (!seen_soi) return 0;   /* not a JPEG after all; stb says what it is not */
        if (code == 0xD9) return 0;   /* EOI */
        if (code == 0x00 || code == 0x01 || (code >= 0xD0 && code <= 0xD7)) {
            snprintf(why, len, "JPEG: unexpected marker 0x%02X", code);
            return -1;
        }
        int hi = getc(f), lo = getc(f);
        if (hi == EOF || lo == EOF) goto eof;
        long L = (long)(hi << 8 | lo) - 2;
        if (L < 0) { snprintf(why, len, "JPEG: segment 0x%02X with bad length", code); return -1; }
        if (code == 0xC4) {   /* DHT: tables of (class/id, 16 counts, values), read as stb does */
            while (L > 0) {
                int q = getc(f), n = 0;
                if (q == EOF) goto eof;
                if (q >> 4 > 1 || (q & 15) > 3) { snprintf(why, len, "JPEG: bad DHT header"); return -1; }
                for (int i = 0; i < 16; i++) {
                    int k = getc(f);
                    if (k == EOF) goto eof;
                    n += k;
                }
                if (n > 256) { snprintf(why, len, "JPEG: Huffman table of %d codes, more than 256", n); return -1; }
                (q >> 4 ? ac_defined : dc_defined)[q & 15] = 1;
                for (int i = 0; i < n; i++)
                    if (getc(f) == EOF) goto eof;
                L -= 17 + n;
            }
            if (L != 0) { snprintf(why, len, "JPEG: bad DHT length"); return -1; }
        } else if (code == 0xDA) {   /* SOS: components and their tables, then Ss, Se, Ah/Al */
            int ns = getc(f), tables[4], ss, err_tables = 0;
            if (ns == EOF) goto eof;
            if (ns < 1 || ns > 4 || L != 1 + 2 * ns + 3) { snprintf(why, len, "JPEG: bad SOS header"); return -1; }
            for (int i = 0; i < ns; i++) {
                if (getc(f) == EOF || (tables[i] = getc(f)) == EOF) goto eof;
            }
            if ((ss = getc(f)) == EOF || getc(f) == EOF || getc(f) == EOF) goto eof;
            for (int i = 0; i < ns; i++) {
                int td = tables[i] >> 4, ta = tables[i] & 15;
                if (td > 3 || ta > 3) err_tables = 1;
                else if ((!progressive || ss == 0) && !dc_defined[td]) err_tables = 1;
                else if ((!progressive || ss > 0) && !ac_defined[ta]) err_tables = 1;
            }
            if (err_tables) { snprintf(why, len, "JPEG: a scan uses an undefined Huffman table"); return -1; }
        } else {
            if (code == 0xC2) progressive = 1;
            for (long i = 0; i < L; i++)
                if (getc(f) == EOF) goto eof;
        }
        if (code == 0xDA) {   /* SOS: entropy-coded data, up to the next marker other than RSTn */
            for (;;) {
                int b = getc(f);
                if (b == EOF) goto eof;
                if (b != 0xFF) continue;
                while ((b = getc(f)) == 0xFF) {}
                if (b == EOF) goto eof;
                if (b == 0x00 || (b >= 0xD0 && b <= 0xD7)) continue;   /* stuffing, restart */
                m = b;
                break;
            }
        }
    }
eof:
    snprintf(why, len, "truncated JPEG: no EOI marker");
    return -1;
}

/* For a binary PGM/PPM ("P5"/"P6"), reads the header's three numbers as stb_image will and
 * refuses what stb 2.27 mishandles: absurdly long numbers, which it accumulates into an int
 * without an overflow check (undefined behaviour), and 16 bits per sample (maxval > 255),
 * whose big-endian samples it reads in host order (keeping the low byte: wrong pixels) and,
 * for colour, converts with its 8-bit routine and then reads past (a heap over-read).
 * 0, or -1 with why. */
static int pnm_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

static int pnm_check(FILE *f, char *why, size_t len) {
    int p = getc(f), t = getc(f);
    if (p != 'P' || (t != '5' && t != '6')) return 0;
    int c = getc(f);
    for (int k = 0; k < 3; k++) {   /* width, height, maxval */
        for (;;) {   /* whitespace and # comments */
            while (c != EOF && pnm_space(c)) c = getc(f);
            if (c != '#') break;
            while (c != EOF && c != '\n' && c != '\r') c = getc(f);
        }
        long v = 0;
        for (; c >= '0' && c <= '9'; c = getc(f))
            if ((v = 10 * v + (c - '0')) > 1000000) {
                snprintf(why, len, "PNM header: number too large");
                return -1;
            }
        if (k == 2 && v > 255) {
            snprintf(why, len, "16-bit PGM/PPM is not supported; save it with maxval 255");
            return -1;
        }
    }
    return 0;
}

static int unreadable(const char *path, const char *why, char *err) {
    char clean[160];
    printable(clean, sizeof clean, why);
    return errf(err, "%s: not a readable image (%s)", path, clean[0] ? clean : "corrupt data");
}

/* Reads the header of path, checks the size limit and (want_w > 0) the expected size, then,
 * with out != NULL, decodes it to 8-bit grayscale (*out is stbi_image_free'd by the caller). */
static int read_image(const char *path, int want_w, int want_h, int *w, int *h, uint8_t **out,
                      char *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return errf(err, "%s: %s", path, strerror(errno));
    Reader r = {f, 0};
    char why[128];
    int comp, rc = -1;
    if (png_check(f, why, sizeof why) != 0) { unreadable(path, why, err); goto done; }
    rewind(f);
    if (jpeg_check(f, why, sizeof why) != 0) { unreadable(path, why, err); goto done; }
    rewind(f);
    if (pnm_check(f, why, sizeof why) != 0) { unreadable(path, why, err); goto done; }
    if (ferror(f)) { errf(err, "%s: read error", path); goto done; }
    rewind(f);
    if (!stbi_info_from_callbacks(&reader_io, &r, w, h, &comp)) {
        unreadable(path, stbi_failure_reason(), err);
        goto done;
    }
    /* stb's header reader gives a top-down BMP's height as stored, negative; its decoder takes
     * the absolute value (of an int: INT_MIN stays out, as does any size <= 0) */
    if (*h < 0 && *h != INT_MIN) *h = -*h;
    if (*w <= 0 || *h <= 0) {
        unreadable(path, "bad image size in its header", err);
        goto done;
    }
    if (*w > IMAGEFOLDER_MAX_SIDE || *h > IMAGEFOLDER_MAX_SIDE) {
        errf(err, "%s: image is %dx%d, above the limit of %dx%d", path, *w, *h,
             IMAGEFOLDER_MAX_SIDE, IMAGEFOLDER_MAX_SIDE);
        goto done;
    }
    if (want_w > 0 && (*w != want_w || *h != want_h)) {
        errf(err, "%s: image is %dx%d, expected %dx%d (all images must share one size)", path,
             *w, *h, want_w, want_h);
        goto done;
    }
    if (out) {
        rewind(f);
        r.hit_end = 0;
        int lw, lh;
        uint8_t *px = stbi_load_from_callbacks(&reader_io, &r, &lw, &lh, &comp, 1);
        if (!px) { unreadable(path, stbi_failure_reason(), err); goto done; }
        if (ferror(f)) { stbi_image_free(px); errf(err, "%s: read error", path); goto done; }
        if (r.hit_end) {
            stbi_image_free(px);
            unreadable(path, "truncated: the file ends inside the image data", err);
            goto done;
        }
        if (lw != *w || lh != *h) {   /* the header said otherwise; stb never does this */
            stbi_image_free(px);
            unreadable(path, "inconsistent size", err);
            goto done;
        }
        *out = px;
    }
    rc = 0;
done:
    fclose(f);
    return rc;
}

int image_read_gray(const char *path, int *w, int *h, uint8_t **pixels, char *err) {
    if (is_dir(path)) return errf(err, "%s: is a directory, not an image", path);
    uint8_t *px = NULL;
    if (read_image(path, 0, 0, w, h, &px, err) != 0) return -1;
    *pixels = xmalloc((size_t)*w * (size_t)*h);
    memcpy(*pixels, px, (size_t)*w * (size_t)*h);
    stbi_image_free(px);
    return 0;
}

/* ---- the dataset ---- */

int imagefolder_is(const char *dir) {
    char path[PATH_MAX], err[ERR_LEN];
    return join(path, dir, "train", err) == 0 && is_dir(path);
}

typedef struct {
    Names classes;      /* of the split being loaded */
    Names *files;       /* per class */
    long n;             /* files in all */
    uint8_t *pixels, *labels;
} Load;

static void load_free(Load *L) {
    if (L->files)
        for (int c = 0; c < L->classes.n; c++) names_free(&L->files[c]);
    free(L->files);
    names_free(&L->classes);
    free(L->pixels);
    free(L->labels);
}

/* The split's files, class by class; every class needs at least one. */
static int list_files(const char *split, Load *L, char *err) {
    char path[PATH_MAX], over[ERR_LEN];
    snprintf(over, sizeof over, "%.400s: more than %d images (the limit)", split, IMAGEFOLDER_MAX_IMAGES);
    L->files = xcalloc((size_t)L->classes.n, sizeof(Names));
    for (int c = 0; c < L->classes.n; c++) {
        if (join(path, split, L->classes.v[c], err) != 0) return -1;
        if (list_dir(path, 0, IMAGEFOLDER_MAX_IMAGES - L->n, over, &L->files[c], NULL, err) != 0)
            return -1;
        if (L->files[c].n == 0)
            return errf(err, "%s: no images (every class directory needs at least one)", path);
        L->n += L->files[c].n;
    }
    return 0;
}

/* The size every image must have: the first training image's (the first file of the first
 * class), read from its header only. */
static int reference_size(const char *train, const Names *classes, int *w, int *h, char *err) {
    char cls[PATH_MAX], path[PATH_MAX];
    Names files;
    if (join(cls, train, classes->v[0], err) != 0) return -1;
    char over[ERR_LEN];
    snprintf(over, sizeof over, "%.400s: more than %d images (the limit)", train, IMAGEFOLDER_MAX_IMAGES);
    if (list_dir(cls, 0, IMAGEFOLDER_MAX_IMAGES, over, &files, NULL, err) != 0) return -1;
    int rc = files.n == 0 ? errf(err, "%s: no images (every class directory needs at least one)", cls)
           : join(path, cls, files.v[0], err) != 0 ? -1
           : read_image(path, 0, 0, w, h, NULL, err);
    names_free(&files);
    return rc;
}

/* Deals the images out round-robin over the classes (the first image of every class, then
 * the second of every class, ...), so that the first N (--subset) and the last N (--val)
 * hold every class in proportion, as a stratified split would, while the order stays a pure
 * function of the folder's contents. */
static int interleave_classes(Load *L, size_t dim, const char *split, char *err) {
    uint8_t *pixels = malloc(dim * (size_t)L->n), *labels = malloc((size_t)L->n);
    long *first = xmalloc(sizeof(long) * (size_t)(L->classes.n + 1)), out = 0;
    if (!pixels || !labels) {
        free(pixels); free(labels); free(first);
        return errf(err, "%s: out of memory for %ld images", split, L->n);
    }
    first[0] = 0;
    for (int c = 0; c < L->classes.n; c++) first[c + 1] = first[c] + L->files[c].n;
    for (long k = 0; out < L->n; k++)
        for (int c = 0; c < L->classes.n; c++)
            if (k < L->files[c].n) {
                memcpy(pixels + (size_t)out * dim, L->pixels + (size_t)(first[c] + k) * dim, dim);
                labels[out++] = (uint8_t)c;
            }
    free(L->pixels); free(L->labels); free(first);
    L->pixels = pixels;
    L->labels = labels;
    return 0;
}

int imagefolder_load(const char *dir_in, int train, Dataset *ds, char *err) {
    memset(ds, 0, sizeof *ds);
    char dir[PATH_MAX], tr[PATH_MAX], te[PATH_MAX], path[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", dir_in);
    for (size_t k = strlen(dir); k > 1 && dir[k - 1] == '/'; k--) dir[k - 1] = 0;
    if (join(tr, dir, "train", err) != 0 || join(te, dir, "test", err) != 0) return -1;
    const char *split = train ? tr : te, *other = train ? te : tr;

    Load L = {0};
    Names other_classes = {0};
    int ref_w = 0, ref_h = 0, rc = -1;
    if (list_classes(split, &L.classes, err) != 0) goto done;
    /* Loading train checks test's class names too when test/ exists (test alone is loaded by
     * `train eval`; train alone by lr-find), so a mismatch is reported before any decoding. */
    if (!train || is_dir(other)) {
        if (list_classes(other, &other_classes, err) != 0) goto done;
        if (same_classes(tr, train ? &L.classes : &other_classes, te,
                         train ? &other_classes : &L.classes, err) != 0)
            goto done;
    }
    if (!train && reference_size(tr, &other_classes, &ref_w, &ref_h, err) != 0) goto done;
    if (list_files(split, &L, err) != 0) goto done;

    L.labels = malloc((size_t)L.n);
    if (!L.labels) { errf(err, "%s: out of memory for %ld labels", split, L.n); goto done; }
    size_t dim = 0, cap = 0, used = 0, total = 0;
    long i = 0;
    for (int c = 0; c < L.classes.n; c++) {
        for (int k = 0; k < L.files[c].n; k++, i++) {
            char cls[PATH_MAX];
            if (join(cls, split, L.classes.v[c], err) != 0 || join(path, cls, L.files[c].v[k], err) != 0)
                goto done;
            int w, h;
            uint8_t *px = NULL;
            if (read_image(path, ref_w, ref_h, &w, &h, &px, err) != 0) goto done;
            if (!dim) {   /* the first image fixes the size and the buffer's bounds */
                ref_w = w, ref_h = h;
                dim = (size_t)w * (size_t)h;
                total = dim * (size_t)L.n;
                cap = total < ((size_t)64 << 20) ? total : (size_t)64 << 20;
                cap = cap < dim ? dim : cap;
                L.pixels = malloc(cap);
            } else if (used + dim > cap) {
                cap = total - cap < cap ? total : 2 * cap;
                uint8_t *bigger = realloc(L.pixels, cap);
                if (!bigger) { free(L.pixels); L.pixels = NULL; }
                else L.pixels = bigger;
            }
            if (!L.pixels) {
                stbi_image_free(px);
                errf(err, "%s: out of memory for %zu bytes of pixels", split, cap);
                goto done;
            }
            memcpy(L.pixels + used, px, dim);
            stbi_image_free(px);
            used += dim;
            L.labels[i] = (uint8_t)c;
        }
    }
    if (interleave_classes(&L, dim, split, err) != 0) goto done;
    ds->n = (int)L.n;
    ds->rows = ref_h;
    ds->cols = ref_w;
    ds->dim = (int)dim;
    ds->images = L.pixels;
    ds->labels = L.labels;
    ds->n_classes = L.classes.n;
    ds->class_names = classes_copy((const char *const *)L.classes.v, L.classes.n);
    ds->owns = 1;
    L.pixels = L.labels = NULL;
    rc = 0;
done:
    load_free(&L);
    names_free(&other_classes);
    return rc;
}
