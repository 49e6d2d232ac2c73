/* Image-folder datasets: layout, class order and labels, grayscale conversion of every format,
 * deterministic order, the IDX/image-folder dispatch of dataset_open, every kind of bad input
 * (corrupt, text, empty and truncated files, mixed sizes, class mismatches, empty classes,
 * limits) and end to end through ./train. Fixtures are written here with stb_image_write. */
#include "test.h"
#include "data/dataset.h"
#include "data/imagefolder.h"
#include "util/util.h"

#define RUNS "tests/tmp/imagefolder/runs"
#include "e2e.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#define ROOT "tests/tmp/imagefolder"
#define W 4
#define H 3

/* ---- fixture helpers ---- */

/* mkdir -p */
static void mkdirs(const char *path) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0777); *s = '/'; }
    mkdir(p, 0777);
}

/* Creates the directory holding path, then returns path. */
static const char *in_dir(const char *path) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (slash) { *slash = 0; mkdirs(d); }
    return path;
}

static void write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(in_dir(path), "wb");
    if (!f || fwrite(buf, 1, n, f) != n) fprintf(stderr, "  cannot write %s\n", path);
    if (f) fclose(f);
}

static unsigned char *slurp(const char *path, size_t *n) {
    char err[ERR_LEN];
    unsigned char *b = (unsigned char *)read_file(path, n, err);
    if (!b) fprintf(stderr, "  %s\n", err);
    return b;
}

/* The grayscale test pattern `seed` (w*h bytes), distinct for every seed. */
static void pattern(uint8_t *px, int w, int h, int seed) {
    for (int i = 0; i < w * h; i++) px[i] = (uint8_t)(seed * 37 + i * 19 + (i * i) % 7);
}

static void gray_png(const char *path, int w, int h, int seed) {
    uint8_t *px = malloc((size_t)w * h);
    pattern(px, w, h, seed);
    if (!stbi_write_png(in_dir(path), w, h, 1, px, w)) fprintf(stderr, "  cannot write %s\n", path);
    free(px);
}

/* An RGB PNG and, in lum, the luminance stb_image computes: (77 r + 150 g + 29 b) >> 8. */
static void rgb_png(const char *path, uint8_t *lum) {
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        int r = (i * 40) & 255, g = (255 - i * 13) & 255, b = (i * 91) & 255;
        px[3 * i] = (uint8_t)r, px[3 * i + 1] = (uint8_t)g, px[3 * i + 2] = (uint8_t)b;
        lum[i] = (uint8_t)((77 * r + 150 * g + 29 * b) >> 8);
    }
    if (!stbi_write_png(in_dir(path), W, H, 3, px, W * 3)) fprintf(stderr, "  cannot write %s\n", path);
}

/* A binary PGM (P5) of pattern seed. */
static void pgm(const char *path, int seed) {
    unsigned char buf[64];
    int n = snprintf((char *)buf, sizeof buf, "P5\n%d %d\n255\n", W, H);
    pattern(buf + n, W, H, seed);
    write_bytes(path, buf, (size_t)n + W * H);
}

static void rm_rf(const char *path) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "  %s failed\n", cmd);
}

/* A minimal valid dataset: classes a and b, one gray 4x3 PNG each in both splits. */
static void minimal(const char *dir) {
    char p[PATH_MAX];
    rm_rf(dir);
    const char *split[2] = {"train", "test"}, *cls[2] = {"a", "b"};
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++) {
            snprintf(p, sizeof p, "%s/%s/%s/1.png", dir, split[s], cls[c]);
            gray_png(p, W, H, 10 * s + c);
        }
}

/* Loads split train of dir and expects failure; returns the message (static). */
static const char *load_error(const char *dir, int train) {
    static char err[ERR_LEN];
    Dataset ds;
    err[0] = 0;
    if (dataset_open(dir, train, &ds, err) == 0) {
        dataset_free(&ds);
        snprintf(err, sizeof err, "(loaded without error)");
    }
    return err;
}

/* ---- the basic dataset ---- */

/* pattern(seed 9) as a 4x3 grayscale JPEG, written by stbi_write_jpg at quality 100. Stored
 * rather than encoded here: stb_image_write's JPEG encoder left-shifts signed ints past their
 * range, which UBSan (make asan) rightly stops. */
static const unsigned char jpeg_4x3[] =
    "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x84"
    "\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xff\xc0\x00\x11\x08\x00\x03\x00\x04\x03\x01\x11\x00\x02"
    "\x11\x01\x03\x11\x01\xff\xc4\x01\xa2\x00\x00\x01\x05\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x10\x00\x02\x01\x03\x03\x02\x04\x03\x05"
    "\x05\x04\x04\x00\x00\x01\x7d\x01\x02\x03\x00\x04\x11\x05\x12\x21\x31\x41\x06\x13\x51\x61\x07\x22"
    "\x71\x14\x32\x81\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1\xf0\x24\x33\x62\x72\x82\x09\x0a\x16\x17"
    "\x18\x19\x1a\x25\x26\x27\x28\x29\x2a\x34\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a"
    "\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a"
    "\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8"
    "\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5"
    "\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9"
    "\xfa\x01\x00\x03\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05"
    "\x06\x07\x08\x09\x0a\x0b\x11\x00\x02\x01\x02\x04\x04\x03\x04\x07\x05\x04\x04\x00\x01\x02\x77\x00"
    "\x01\x02\x03\x11\x04\x05\x21\x31\x06\x12\x41\x51\x07\x61\x71\x13\x22\x32\x81\x08\x14\x42\x91\xa1"
    "\xb1\xc1\x09\x23\x33\x52\xf0\x15\x62\x72\xd1\x0a\x16\x24\x34\xe1\x25\xf1\x17\x18\x19\x1a\x26\x27"
    "\x28\x29\x2a\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59"
    "\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a\x82\x83\x84\x85\x86\x87\x88"
    "\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5"
    "\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe2"
    "\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xff\xda\x00\x0c\x03\x01\x00"
    "\x02\x11\x03\x11\x00\x3f\x00\xf8\xa3\xfe\x0a\xc7\xfb\x5f\x7c\x72\xfd\x8b\x7f\xe0\xa1\xdf\xb4\x6f"
    "\xec\xcf\xfb\x33\xdf\xfc\x34\xf8\x69\xf0\x47\xe1\xaa\x7c\x0b\xff\x00\x84\x27\xc1\x23\xf6\x7f\xfd"
    "\x9f\xfc\x60\x34\x5f\xf8\x4c\xbf\x66\x4f\x82\x9f\x10\x3c\x49\x8f\x11\x78\xf7\xe1\x87\x8a\x7c\x59"
    "\xa8\xff\x00\x69\x78\xbb\xc5\x7a\xfe\xae\x7f\xb5\xb5\xeb\xef\xb2\x1b\xf3\x63\x63\xf6\x5d\x36\xda"
    "\xce\xce\xdc\x03\xff\xd9";

#define BASIC ROOT "/basic"
static uint8_t rgb_lum[W * H];   /* luminance of train/dog/10.png */

static void make_basic(void) {
    rm_rf(BASIC);
    /* classes created out of order; files named so that byte order differs from numeric */
    gray_png(BASIC "/train/emu/x.png", W, H, 7);
    rgb_png(BASIC "/train/dog/10.png", rgb_lum);
    gray_png(BASIC "/train/dog/2.png", W, H, 6);
    gray_png(BASIC "/train/dog/01.png", W, H, 4);
    gray_png(BASIC "/train/cat/b.png", W, H, 2);
    gray_png(BASIC "/train/cat/a.png", W, H, 1);
    uint8_t px[W * H];
    pattern(px, W, H, 3);   /* gray BMP (stb writes it as 24-bit RGB, r = g = b) */
    if (!stbi_write_bmp(in_dir(BASIC "/train/cat/c.bmp"), W, H, 1, px)) fprintf(stderr, "  bmp\n");
    pgm(BASIC "/train/emu/y.pgm", 8);
    write_bytes(BASIC "/train/emu/z.jpg", jpeg_4x3, sizeof jpeg_4x3 - 1);
    /* ignored: hidden files and directories, plain files directly in the split */
    write_bytes(BASIC "/train/emu/.DS_Store", "junk", 4);
    write_bytes(BASIC "/train/.git/HEAD", "junk", 4);
    write_bytes(BASIC "/train/README.txt", "not a class", 11);
    /* test */
    gray_png(BASIC "/test/cat/t.png", W, H, 21);
    gray_png(BASIC "/test/dog/t.png", W, H, 22);
    gray_png(BASIC "/test/emu/u.png", W, H, 24);
    gray_png(BASIC "/test/emu/t.png", W, H, 23);
}

/* Expected train order, the classes dealt out round-robin, each in name order:
 * cat/a.png dog/01.png emu/x.png cat/b.png dog/10.png emu/y.pgm cat/c.bmp dog/2.png emu/z.jpg */
static const int basic_seed[9] = {1, 4, 7, 2, -1, 8, 3, 6, 9};
static const int basic_label[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2};

static void test_basic_train(void) {
    make_basic();
    Dataset ds;
    char err[ERR_LEN] = "";
    CHECK(dataset_open(BASIC, 1, &ds, err) == 0);
    CHECK_STR(err, "");
    if (ds.n != 9) { CHECK(ds.n == 9); dataset_free(&ds); return; }
    CHECK(ds.rows == H && ds.cols == W && ds.dim == W * H);
    CHECK(ds.n_classes == 3);
    CHECK(ds.owns == 1);
    uint8_t px[W * H];
    for (int i = 0; i < 9; i++) {
        CHECK(ds.labels[i] == basic_label[i]);
        const uint8_t *got = ds.images + (size_t)i * ds.dim;
        if (basic_seed[i] < 0) {   /* the RGB PNG: luminance, exactly as stb defines it */
            if (memcmp(got, rgb_lum, W * H) != 0) { fprintf(stderr, "  image %d (rgb)\n", i); CHECK(0); }
            continue;
        }
        pattern(px, W, H, basic_seed[i]);
        if (i == 8) {   /* JPEG is lossy: close, not exact */
            int worst = 0;
            for (int j = 0; j < W * H; j++) {
                int d = abs((int)got[j] - (int)px[j]);
                if (d > worst) worst = d;
            }
            CHECK(worst <= 8);
        } else if (memcmp(got, px, W * H) != 0) {
            fprintf(stderr, "  image %d differs\n", i);
            CHECK(0);
        }
    }
    /* the RGB image really is colour, so the conversion was exercised */
    CHECK(rgb_lum[1] != 40 && rgb_lum[1] != 242);
    dataset_free(&ds);
}

static void test_basic_test_split(void) {
    Dataset ds;
    char err[ERR_LEN] = "";
    CHECK(dataset_open(BASIC, 0, &ds, err) == 0);
    CHECK_STR(err, "");
    if (ds.n != 4) { CHECK(ds.n == 4); dataset_free(&ds); return; }
    CHECK(ds.rows == H && ds.cols == W && ds.n_classes == 3);
    const int seeds[4] = {21, 22, 23, 24}, labels[4] = {0, 1, 2, 2};   /* emu: t before u */
    uint8_t px[W * H];
    for (int i = 0; i < 4; i++) {
        pattern(px, W, H, seeds[i]);
        CHECK(ds.labels[i] == labels[i]);
        CHECK(memcmp(ds.images + (size_t)i * ds.dim, px, W * H) == 0);
    }
    dataset_free(&ds);
}

/* Same bytes on every load, whatever order the filesystem lists entries in; a trailing slash
 * in the path changes nothing. */
static void test_deterministic(void) {
    Dataset a, b;
    char err[ERR_LEN];
    CHECK(imagefolder_load(BASIC, 1, &a, err) == 0);
    CHECK(imagefolder_load(BASIC "/", 1, &b, err) == 0);
    CHECK(a.n == b.n && a.dim == b.dim);
    if (a.n == b.n && a.dim == b.dim) {
        CHECK(memcmp(a.images, b.images, (size_t)a.n * a.dim) == 0);
        CHECK(memcmp(a.labels, b.labels, (size_t)a.n) == 0);
    }
    dataset_free(&a);
    dataset_free(&b);
}

/* IDX files win over a train/ directory; only without them is the folder read. */
static void test_dispatch(void) {
    const char *dir = ROOT "/both";
    minimal(dir);
    Dataset ds;
    char err[ERR_LEN];
    CHECK(imagefolder_is(dir));
    CHECK(!imagefolder_is(ROOT "/nowhere"));
    CHECK(dataset_open(dir, 1, &ds, err) == 0);
    CHECK(ds.n == 2 && ds.rows == H && ds.cols == W);
    dataset_free(&ds);
    /* one 2x2 image with label 5, as IDX, next to train/ */
    unsigned char img[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    unsigned char lab[] = {0, 0, 8, 1, 0, 0, 0, 1, 5};
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    write_bytes(p, img, sizeof img);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    write_bytes(p, lab, sizeof lab);
    CHECK(dataset_open(dir, 1, &ds, err) == 0);
    CHECK(ds.n == 1 && ds.rows == 2 && ds.cols == 2 && ds.n_classes == 6 && ds.labels[0] == 5);
    dataset_free(&ds);
    /* the IDX error stays the IDX error when one of the pair is missing */
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    remove(p);
    CHECK_CONTAINS(load_error(dir, 1), "train-labels-idx1-ubyte: missing");
    /* no train/ at all: the IDX message, unchanged */
    mkdirs(ROOT "/neither");
    CHECK_STR(load_error(ROOT "/neither", 1),
              ROOT "/neither/train-images-idx3-ubyte: missing (also looked for .gz and the images.idx3 spelling)");
}

/* ---- bad files ---- */

/* A dataset whose train/b/ holds the given bytes as NAME; the error names that file. */
static const char *bad_file(const char *name, const void *bytes, size_t n, char *path) {
    const char *dir = ROOT "/bad";
    minimal(dir);
    sprintf(path, "%s/train/b/%s", dir, name);
    write_bytes(path, bytes, n);
    return load_error(dir, 1);
}

static void expect_unreadable(const char *err, const char *path) {
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: not a readable image (", path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(err[strlen(err) - 1] == ')');
    if (strncmp(err, want, strlen(want)) != 0) fprintf(stderr, "  got: %s\n", err);
}

/* A gray W x H PNG's bytes, checked to load as the second image of a minimal dataset. */
static unsigned char *sample_png(size_t *n) {
    gray_png(ROOT "/sample.png", W, H, 5);
    unsigned char *png = slurp(ROOT "/sample.png", n);
    char path[PATH_MAX], err[ERR_LEN];
    CHECK_STR(bad_file("x.png", png, png ? *n : 0, path), "(loaded without error)");
    Dataset ds;
    uint8_t px[W * H];
    pattern(px, W, H, 5);
    CHECK(imagefolder_load(ROOT "/bad", 1, &ds, err) == 0);
    CHECK(ds.n == 3 && memcmp(ds.images + 2 * W * H, px, W * H) == 0);   /* a/1 b/1 b/x */
    dataset_free(&ds);
    return png;
}

static void test_corrupt_png(void) {
    size_t n;
    unsigned char *png = sample_png(&n);
    if (!png) { CHECK(png); return; }
    char path[PATH_MAX];
    png[n / 2] ^= 0x5a;
    const char *err = bad_file("x.png", png, n, path);
    expect_unreadable(err, path);
    CHECK_CONTAINS(err, "CRC");
    png[n / 2] ^= 0x5a;
    /* every single flipped byte is caught, even where stb alone would decode wrong pixels */
    int missed = 0;
    for (size_t i = 0; i < n; i++) {
        png[i] ^= 0x01;
        write_bytes(path, png, n);
        Dataset ds;
        char e[ERR_LEN];
        if (imagefolder_load(ROOT "/bad", 1, &ds, e) == 0) { missed++; dataset_free(&ds); }
        else if (!strstr(e, "not a readable image")) { missed++; fprintf(stderr, "  byte %zu: %s\n", i, e); }
        png[i] ^= 0x01;
    }
    CHECK(missed == 0);
    free(png);
}

static void test_text_named_png(void) {
    char path[PATH_MAX];
    const char *err = bad_file("x.png", "hello, I am text\n", 17, path);
    expect_unreadable(err, path);
    CHECK_CONTAINS(err, "(unknown image type)");
}

static void test_empty_file(void) {
    char path[PATH_MAX];
    const char *err = bad_file("x.png", "", 0, path);
    expect_unreadable(err, path);
}

static void test_truncated(void) {
    size_t n;
    unsigned char *png = sample_png(&n);
    if (!png) { CHECK(png); return; }
    char path[PATH_MAX];
    expect_unreadable(bad_file("x.png", png, n / 2, path), path);
    /* every cut, including inside the final CRC that stb never reads */
    int missed = 0;
    for (size_t cut = 0; cut < n; cut++) {
        write_bytes(path, png, cut);
        Dataset ds;
        char e[ERR_LEN];
        if (imagefolder_load(ROOT "/bad", 1, &ds, e) == 0) { missed++; dataset_free(&ds); }
        else if (!strstr(e, "not a readable image")) { missed++; fprintf(stderr, "  cut %zu: %s\n", cut, e); }
    }
    CHECK(missed == 0);
    free(png);

    /* uncompressed formats, where stb fills missing bytes with zeros unless told */
    uint8_t px[W * H];
    pattern(px, W, H, 3);
    stbi_write_bmp(ROOT "/sample.bmp", W, H, 1, px);
    pgm(ROOT "/sample.pgm", 3);
    const char *names[2] = {"x.bmp", "x.pgm"}, *src[2] = {ROOT "/sample.bmp", ROOT "/sample.pgm"};
    for (int k = 0; k < 2; k++) {
        unsigned char *b = slurp(src[k], &n);
        if (!b) { CHECK(b); continue; }
        const char *err = bad_file(names[k], b, n - 1, path);
        expect_unreadable(err, path);
        missed = 0;
        for (size_t cut = 0; cut < n; cut++) {
            write_bytes(path, b, cut);
            Dataset ds;
            char e[ERR_LEN];
            if (imagefolder_load(ROOT "/bad", 1, &ds, e) == 0) { missed++; dataset_free(&ds); }
        }
        CHECK(missed == 0);
        write_bytes(path, b, n);   /* and whole, it loads */
        Dataset ds;
        char e[ERR_LEN];
        CHECK(imagefolder_load(ROOT "/bad", 1, &ds, e) == 0);
        CHECK(ds.n == 3 && memcmp(ds.images + 2 * W * H, px, W * H) == 0);   /* a/1 b/1 b/x */
        dataset_free(&ds);
        free(b);
    }
}

/* Inputs that stb_image 2.27 mishandles (a heap overflow, a heap over-read, wrong pixels, an
 * int overflow, a negative height) are refused or handled before it decodes them; the
 * well-formed neighbours still load. */
static void test_stb_hazards(void) {
    char path[PATH_MAX];
    /* a JPEG Huffman table claiming more than 256 codes */
    unsigned char jpg[sizeof jpeg_4x3];
    memcpy(jpg, jpeg_4x3, sizeof jpg);
    unsigned char *dht = memmem(jpg, sizeof jpg - 1, "\xff\xc4", 2);
    CHECK(dht != NULL);
    if (dht) {
        dht[5 + 14] = 0xff, dht[5 + 15] = 0xff;   /* after FF C4, length, class/id: 16 counts */
        const char *err = bad_file("x.jpg", jpg, sizeof jpg - 1, path);
        expect_unreadable(err, path);
        CHECK_CONTAINS(err, "Huffman table of");
    }
    /* a scan using Huffman tables no DHT segment defined (stb would read uninitialised ones) */
    memcpy(jpg, jpeg_4x3, sizeof jpg);
    unsigned char *sos = memmem(jpg, sizeof jpg - 1, "\xff\xda", 2);
    CHECK(sos != NULL);
    if (sos) {
        sos[6] = 0x22;   /* FF DA, length, Ns, then (component id, DC/AC table ids) */
        CHECK_CONTAINS(bad_file("x.jpg", jpg, sizeof jpg - 1, path), "undefined Huffman table");
    }
    /* a JPEG cut short, and the whole one */
    expect_unreadable(bad_file("x.jpg", jpeg_4x3, sizeof jpeg_4x3 - 1 - 40, path), path);
    CHECK_CONTAINS(bad_file("x.jpg", jpeg_4x3, sizeof jpeg_4x3 - 3, path), "truncated JPEG");
    CHECK_STR(bad_file("x.jpg", jpeg_4x3, sizeof jpeg_4x3 - 1, path), "(loaded without error)");
    /* 16 bits per sample, grey or colour */
    unsigned char ppm[128];
    for (int k = 0; k < 2; k++) {
        int n = snprintf((char *)ppm, sizeof ppm, "P%c\n%d %d\n65535\n", k ? '6' : '5', W, H);
        memset(ppm + n, 0x7f, (k ? 6 : 2) * W * H);
        const char *err = bad_file(k ? "x.ppm" : "x.pgm", ppm, (size_t)n + (k ? 6 : 2) * W * H, path);
        expect_unreadable(err, path);
        CHECK_CONTAINS(err, "16-bit PGM/PPM is not supported");
    }
    /* a top-down BMP (negative height): stb's header reader reports the height negative */
    uint8_t px[W * H];
    pattern(px, W, H, 5);
    stbi_write_bmp(ROOT "/sample.bmp", W, H, 1, px);
    size_t len;
    unsigned char *bmp = slurp(ROOT "/sample.bmp", &len);
    if (bmp) {
        uint32_t off = bmp[10] | bmp[11] << 8 | (uint32_t)bmp[12] << 16 | (uint32_t)bmp[13] << 24;
        int32_t h = -H;
        memcpy(bmp + 22, &h, 4);   /* little-endian host */
        unsigned char rows[H][W * 3];   /* 12-byte rows: no padding */
        memcpy(rows, bmp + off, sizeof rows);
        for (int r = 0; r < H; r++) memcpy(bmp + off + (size_t)r * W * 3, rows[H - 1 - r], W * 3);
        CHECK_STR(bad_file("x.bmp", bmp, len, path), "(loaded without error)");
        Dataset ds;
        char e[ERR_LEN];
        CHECK(imagefolder_load(ROOT "/bad", 1, &ds, e) == 0);
        CHECK(ds.n == 3 && ds.rows == H && memcmp(ds.images + 2 * W * H, px, W * H) == 0);
        dataset_free(&ds);
        /* and a height no int can negate */
        h = INT32_MIN;
        memcpy(bmp + 22, &h, 4);
        expect_unreadable(bad_file("x.bmp", bmp, len, path), path);
        free(bmp);
    }
    /* a PGM header number past int */
    int n = snprintf((char *)ppm, sizeof ppm, "P5\n4 99999999999999999999\n255\n");
    const char *err = bad_file("x.pgm", ppm, (size_t)n + W * H, path);
    expect_unreadable(err, path);
    CHECK_CONTAINS(err, "number too large");
}

static void test_size_mismatch(void) {
#define dir ROOT "/sizes"
    minimal(dir);
    gray_png(dir "/train/b/2.png", 5, 3, 1);
    CHECK_STR(load_error(dir, 1), ROOT "/sizes/train/b/2.png: image is 5x3, expected 4x3 (all images must share one size)");
    /* the test split is held to the training images' size */
    minimal(dir);
    gray_png(dir "/test/a/1.png", 4, 4, 1);
    CHECK_STR(load_error(dir, 0), ROOT "/sizes/test/a/1.png: image is 4x4, expected 4x3 (all images must share one size)");
    /* too big */
    minimal(dir);
    gray_png(dir "/train/a/0.png", 4097, 1, 1);
    CHECK_STR(load_error(dir, 1), ROOT "/sizes/train/a/0.png: image is 4097x1, above the limit of 4096x4096");
}
#undef dir

static void test_class_mismatch(void) {
#define dir ROOT "/classes"
    minimal(dir);
    rm_rf(dir "/test/b");
    gray_png(dir "/test/c/1.png", W, H, 1);
    const char *missing = ROOT "/classes/test: no class directory \"b\", which " ROOT
                          "/classes/train has (train and test must have the same class directories)";
    CHECK_STR(load_error(dir, 0), missing);
    CHECK_STR(load_error(dir, 1), missing);   /* caught before decoding anything */
    /* an extra class in test */
    minimal(dir);
    gray_png(dir "/test/c/1.png", W, H, 1);
    CHECK_STR(load_error(dir, 0), ROOT "/classes/test/c: class directory not in " ROOT
              "/classes/train (train and test must have the same class directories)");
    /* no test/ */
    minimal(dir);
    rm_rf(dir "/test");
    CHECK_CONTAINS(load_error(dir, 0), ROOT "/classes/test: no such directory");
    Dataset ds;
    char err[ERR_LEN];
    CHECK(dataset_open(dir, 1, &ds, err) == 0);   /* the training split alone is fine */
    dataset_free(&ds);
}
#undef dir

static void test_empty_class(void) {
#define dir ROOT "/empty"
    minimal(dir);
    mkdirs(dir "/train/c");
    write_bytes(dir "/train/c/.hidden", "x", 1);   /* hidden files do not count */
    mkdirs(dir "/test/c");
    gray_png(dir "/test/c/1.png", W, H, 1);
    CHECK_STR(load_error(dir, 1), ROOT "/empty/train/c: no images (every class directory needs at least one)");
    /* a split with no class directories */
    rm_rf(dir);
    gray_png(dir "/train/1.png", W, H, 1);
    mkdirs(dir "/test");
    CHECK_CONTAINS(load_error(dir, 1), ROOT "/empty/train: no class directories, only plain files");
    rm_rf(dir "/train/1.png");
    CHECK_STR(load_error(dir, 1), ROOT "/empty/train: no class directories (expected one "
              "subdirectory of images per class, e.g. " ROOT "/empty/train/0/, " ROOT "/empty/train/1/)");
    /* a directory inside a class */
    minimal(dir);
    mkdirs(dir "/train/a/nested");
    CHECK_STR(load_error(dir, 1), ROOT "/empty/train/a/nested: is a directory; a class directory holds image files only");
}
#undef dir

static void test_too_many_classes(void) {
#define dir ROOT "/many"
    minimal(dir);
    char p[PATH_MAX];
    for (int c = 0; c < 256; c++) {
        snprintf(p, sizeof p, "%s/train/c%03d", dir, c);
        mkdir(p, 0777);
    }
    CHECK_STR(load_error(dir, 1), ROOT "/many/train: more than 256 class directories (labels are one byte)");
}
#undef dir

/* ---- end to end ---- */

#define E2E ROOT "/e2e"

/* Two classes of 8x8 images, 20 + 20 training and 5 + 5 test: a bright left half or a bright
 * right half, with noise. */
static void make_e2e(void) {
    rm_rf(E2E);
    uint32_t s = 12345;
    char p[PATH_MAX];
    for (int split = 0; split < 2; split++)
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < (split ? 5 : 20); k++) {
                uint8_t px[64];
                for (int i = 0; i < 64; i++) {
                    s = s * 1664525u + 1013904223u;
                    int bright = (i % 8 < 4) == (c == 0);
                    px[i] = (uint8_t)((bright ? 160 : 20) + (s >> 26));
                }
                snprintf(p, sizeof p, E2E "/%s/%s/img%02d.png", split ? "test" : "train",
                         c ? "right" : "left", k);
                stbi_write_png(in_dir(p), 8, 8, 1, px, 8);
            }
}

static void test_e2e_train(void) {
    make_e2e();
    rm_rf(RUNS);
    mkdirs(RUNS);
    CHECK(sh(TRAIN " --quiet --data " E2E " --val 0 --model 64-16-2 --steps 30 --runs-dir " RUNS
             " --force --run f > " RUNS "/f.out 2> " RUNS "/f.err") == 0);
    CHECK(is_file(RUNS "/f/summary.json"));
    CHECK(summary_value("f", "test_acc") >= 0);   /* a number, whatever the value */
    /* train eval reads the checkpoint's --data: the folder's test split */
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/f/last.safetensors > " RUNS "/eval.out") == 0);
    size_t n;
    char err[ERR_LEN], *out = read_file(RUNS "/eval.out", &n, err);
    CHECK_CONTAINS(out, "examples 10");
    free(out);
}

static void test_e2e_corrupt(void) {
    size_t n;
    unsigned char *png = slurp(E2E "/train/left/img03.png", &n);
    if (!png) { CHECK(png); return; }
    rm_rf(ROOT "/e2e-bad");
    CHECK(sh("cp -r " E2E " " ROOT "/e2e-bad") == 0);
    png[n / 2] ^= 0xff;
    write_bytes(ROOT "/e2e-bad/train/left/img03.png", png, n);
    free(png);
    CHECK(sh_status(TRAIN " --quiet --data " ROOT "/e2e-bad --val 0 --model 64-16-2 --steps 30 --runs-dir "
                    RUNS " --force --run bad > " RUNS "/bad.out 2> " RUNS "/bad.err") == 1);
    char err[ERR_LEN], *text = read_file(RUNS "/bad.err", &n, err);
    CHECK_CONTAINS(text, "train: " ROOT "/e2e-bad/train/left/img03.png: not a readable image (");
    free(text);
    CHECK(!is_file(RUNS "/bad/summary.json"));
}

int main(void) {
    mkdirs(ROOT);
    RUN(test_basic_train);
    RUN(test_basic_test_split);
    RUN(test_deterministic);
    RUN(test_dispatch);
    RUN(test_corrupt_png);
    RUN(test_text_named_png);
    RUN(test_empty_file);
    RUN(test_truncated);
    RUN(test_stb_hazards);
    RUN(test_size_mismatch);
    RUN(test_class_mismatch);
    RUN(test_empty_class);
    RUN(test_too_many_classes);
    RUN(test_e2e_train);
    RUN(test_e2e_corrupt);
    return test_summary();
}
