/* IDX parsing (raw and gzip, both spellings of the names), malformed files, dataset
 * directories, slices and the batch gather's normalisation. Fixtures are written here. */
#include "test.h"
#include "data/dataset.h"
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#define DIR "tests/tmp/data"

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* Builds an IDX file in memory: magic, dims, then payload bytes. Returns its length. */
static size_t build_idx(unsigned char *buf, uint32_t magic, int ndims, const uint32_t *dims,
                        const unsigned char *payload, size_t n) {
    put_be32(buf, magic);
    for (int d = 0; d < ndims; d++) put_be32(buf + 4 + 4 * d, dims[d]);
    memcpy(buf + 4 + 4 * ndims, payload, n);
    return 4 + 4 * (size_t)ndims + n;
}

static void write_raw(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n) fprintf(stderr, "  cannot write %s\n", path);
    if (f) fclose(f);
}

static void write_gz(const char *path, const void *buf, size_t n) {
    gzFile f = gzopen(path, "wb");
    if (!f || gzwrite(f, buf, (unsigned)n) != (int)n) fprintf(stderr, "  cannot write %s\n", path);
    if (f) gzclose(f);
}

/* Three 2x3 images with pixels 0..17 and labels 4, 0, 7. */
static unsigned char images_buf[64], labels_buf[16];
static size_t images_len, labels_len;

static void make_fixtures(void) {
    unsigned char px[18], lb[3] = {4, 0, 7};
    for (int i = 0; i < 18; i++) px[i] = (unsigned char)(i * 15);
    uint32_t idims[3] = {3, 2, 3}, ldims[1] = {3};
    images_len = build_idx(images_buf, 0x803, 3, idims, px, sizeof px);
    labels_len = build_idx(labels_buf, 0x801, 1, ldims, lb, sizeof lb);
    mkdir("tests/tmp", 0777);
    mkdir(DIR, 0777);
    mkdir(DIR "/plain", 0777);
    mkdir(DIR "/gz", 0777);
    write_raw(DIR "/plain/train-images-idx3-ubyte", images_buf, images_len);
    write_raw(DIR "/plain/train-labels-idx1-ubyte", labels_buf, labels_len);
    write_raw(DIR "/plain/t10k-images-idx3-ubyte", images_buf, images_len);
    write_raw(DIR "/plain/t10k-labels-idx1-ubyte", labels_buf, labels_len);
    /* the other spelling, compressed */
    write_gz(DIR "/gz/train-images.idx3-ubyte.gz", images_buf, images_len);
    write_gz(DIR "/gz/train-labels.idx1-ubyte.gz", labels_buf, labels_len);
    write_gz(DIR "/gz/t10k-images.idx3-ubyte.gz", images_buf, images_len);
    write_gz(DIR "/gz/t10k-labels.idx1-ubyte.gz", labels_buf, labels_len);
}

static void check_fixture_dataset(const Dataset *ds) {
    CHECK(ds->n == 3 && ds->rows == 2 && ds->cols == 3 && ds->dim == 6);
    CHECK(ds->n_classes == 8);
    CHECK(ds->images[0] == 0 && ds->images[17] == 255 && ds->images[7] == 105);
    CHECK(ds->labels[0] == 4 && ds->labels[1] == 0 && ds->labels[2] == 7);
}

static void test_idx_raw(void) {
    uint8_t *data;
    int dims[3], nd;
    char err[ERR_LEN];
    CHECK(idx_read(DIR "/plain/train-images-idx3-ubyte", 0x803, &data, dims, &nd, err) == 0);
    CHECK(nd == 3 && dims[0] == 3 && dims[1] == 2 && dims[2] == 3);
    CHECK(data && data[1] == 15 && data[16] == 240);
    free(data);
    CHECK(idx_read(DIR "/plain/train-labels-idx1-ubyte", 0x801, &data, dims, &nd, err) == 0);
    CHECK(nd == 1 && dims[0] == 3 && data[2] == 7);
    free(data);
}

/* gzip is detected by content: a gzip file without .gz in its name reads the same. */
static void test_idx_gzip_by_content(void) {
    write_gz(DIR "/gzip-named-raw", images_buf, images_len);
    uint8_t *data;
    int dims[3], nd;
    char err[ERR_LEN];
    CHECK(idx_read(DIR "/gzip-named-raw", 0x803, &data, dims, &nd, err) == 0);
    CHECK(dims[0] == 3 && memcmp(data, images_buf + 16, 18) == 0);
    free(data);
}

static void test_dataset_dirs(void) {
    Dataset a, b;
    char err[ERR_LEN];
    CHECK(dataset_open(DIR "/plain", 1, &a, err) == 0);
    check_fixture_dataset(&a);
    CHECK(dataset_open(DIR "/gz", 0, &b, err) == 0);
    check_fixture_dataset(&b);
    CHECK(memcmp(a.images, b.images, 18) == 0);
    dataset_free(&a);
    dataset_free(&b);
    CHECK(dataset_open(DIR "/nothing-here", 1, &a, err) == -1);
    CHECK_CONTAINS(err, "nothing-here: no such dataset directory");
    CHECK(dataset_open(DIR, 1, &a, err) == -1);
    CHECK_CONTAINS(err, "train-images-idx3-ubyte: missing");
}

/* Each malformed file gives "<path>: <why>" and no data. */
static void expect_bad(const char *name, const void *buf, size_t n, int gz, uint32_t magic,
                       const char *why) {
    char path[256], err[ERR_LEN] = "";
    snprintf(path, sizeof path, DIR "/%s", name);
    if (gz) write_gz(path, buf, n); else write_raw(path, buf, n);
    uint8_t *data = (uint8_t *)1;
    int dims[3], nd;
    CHECK(idx_read(path, magic, &data, dims, &nd, err) == -1);
    CHECK(data == NULL);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, why);
}

static void test_idx_malformed(void) {
    unsigned char buf[128] = {0};
    expect_bad("empty", buf, 0, 0, 0x803, "empty");
    expect_bad("short", images_buf, 3, 0, 0x803, "too short");
    expect_bad("labels-as-images", labels_buf, labels_len, 0, 0x803, "magic 0x00000801, expected 0x00000803");
    expect_bad("header-cut", images_buf, 10, 0, 0x803, "truncated header");
    expect_bad("data-cut", images_buf, images_len - 1, 0, 0x803, "truncated: 17 of the 18 data bytes");
    memcpy(buf, images_buf, images_len);
    buf[images_len] = 9;
    expect_bad("trailing", buf, images_len + 1, 0, 0x803, "longer than its header says");
    expect_bad("gz-data-cut", images_buf, images_len - 2, 1, 0x803, "truncated: 16 of the 18");
    uint32_t zero_rows[3] = {3, 0, 3};
    size_t n = build_idx(buf, 0x803, 3, zero_rows, images_buf + 16, 18);
    expect_bad("zero-rows", buf, n, 0, 0x803, "dimension 1 is 0");
    /* images above 2^20 pixels are refused before any allocation */
    uint32_t huge[3] = {10, 2048, 1024};
    n = build_idx(buf, 0x803, 3, huge, images_buf + 16, 18);
    expect_bad("huge-images", buf, n, 0, 0x803, "above the limit");
    /* a header claiming more images than the file holds: an error, not a huge allocation */
    uint32_t many[3] = {99999999, 28, 28};
    n = build_idx(buf, 0x803, 3, many, images_buf + 16, 18);
    expect_bad("lying-count", buf, n, 0, 0x803, "truncated: 18 of the");
    char err[ERR_LEN];
    uint8_t *data;
    int dims[3], nd;
    CHECK(idx_read(DIR, 0x803, &data, dims, &nd, err) == -1);
    CHECK_CONTAINS(err, "is a directory");
    CHECK(idx_read(DIR "/no-such-file", 0x803, &data, dims, &nd, err) == -1);
    CHECK_CONTAINS(err, "No such file");
}

/* A gzip file with a damaged deflate stream, a cut-off stream and a wrong CRC trailer. */
static void test_idx_corrupt_gzip(void) {
    unsigned char big[4096 + 16];
    uint32_t dims[3] = {16, 16, 16};
    unsigned char px[4096];
    for (int i = 0; i < 4096; i++) px[i] = (unsigned char)((i * 7919) >> 3);
    size_t n = build_idx(big, 0x803, 3, dims, px, sizeof px);
    write_gz(DIR "/good.gz", big, n);
    char err[ERR_LEN];
    size_t len;
    char *gz = read_file(DIR "/good.gz", &len, err);
    CHECK(gz != NULL && len > 40);
    if (!gz) return;
    uint8_t *data;
    int d[3], nd;
    CHECK(idx_read(DIR "/good.gz", 0x803, &data, d, &nd, err) == 0);
    free(data);
    write_raw(DIR "/cut.gz", gz, len - 12);
    CHECK(idx_read(DIR "/cut.gz", 0x803, &data, d, &nd, err) == -1);
    CHECK_CONTAINS(err, "cut.gz: ");
    char *bad = xmalloc(len);
    memcpy(bad, gz, len);
    bad[len - 6] ^= 0x55;   /* the CRC32 in the trailer */
    write_raw(DIR "/crc.gz", bad, len);
    CHECK(idx_read(DIR "/crc.gz", 0x803, &data, d, &nd, err) == -1);
    CHECK_CONTAINS(err, "crc.gz: corrupt or truncated gzip data");
    memcpy(bad, gz, len);
    for (size_t i = 20; i < 40; i++) bad[i] = (char)0xff;   /* inside the deflate stream */
    write_raw(DIR "/deflate.gz", bad, len);
    CHECK(idx_read(DIR "/deflate.gz", 0x803, &data, d, &nd, err) == -1);
    CHECK_CONTAINS(err, "deflate.gz: ");
    free(bad);
    free(gz);
}

static void test_count_mismatch(void) {
    uint32_t ldims[1] = {2};
    unsigned char buf[32], lb[2] = {1, 2};
    size_t n = build_idx(buf, 0x801, 1, ldims, lb, 2);
    write_raw(DIR "/two-labels", buf, n);
    Dataset ds;
    char err[ERR_LEN];
    CHECK(dataset_load_files(DIR "/plain/train-images-idx3-ubyte", DIR "/two-labels", &ds, err) == -1);
    CHECK_CONTAINS(err, "two-labels: 2 labels, but");
    CHECK_CONTAINS(err, "holds 3 images");
}

/* Gather scales by 1/255 exactly as a float division would, and follows the indices. */
static void test_gather_and_slice(void) {
    Dataset ds;
    char err[ERR_LEN];
    CHECK(dataset_open(DIR "/plain", 1, &ds, err) == 0);
    int idx[2] = {2, 0}, y[2];
    float x[12];
    dataset_gather(&ds, idx, 2, x, y);
    CHECK(y[0] == 7 && y[1] == 4);
    CHECK(x[0] == 180.0f / 255.0f && x[5] == 1.0f && x[6] == 0.0f && x[7] == 15.0f / 255.0f);
    Dataset s = dataset_slice(&ds, 1, 2);
    CHECK(s.n == 2 && s.labels[0] == 0 && s.images[0] == 90 && !s.owns);
    dataset_gather(&s, idx + 1, 1, x, y);
    CHECK(y[0] == 0 && x[0] == 90.0f / 255.0f);
    dataset_free(&ds);
}

int main(void) {
    make_fixtures();
    RUN(test_idx_raw);
    RUN(test_idx_gzip_by_content);
    RUN(test_dataset_dirs);
    RUN(test_idx_malformed);
    RUN(test_idx_corrupt_gzip);
    RUN(test_count_mismatch);
    RUN(test_gather_and_slice);
    return test_summary();
}
