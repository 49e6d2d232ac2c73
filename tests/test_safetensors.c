/* safetensors (byte layout, padding, CRC, validation of hostile files, atomic writes) and
 * base64. Temporary files go to tests/tmp/formats/. */
#include "test.h"
#include "formats/safetensors.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#define TMP "tests/tmp/formats"

static char err[ERR_LEN];


static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static unsigned char *slurp(const char *path, size_t *n) {
    char e[ERR_LEN];
    return (unsigned char *)read_file(path, n, e);
}

/* A safetensors file from a header string: 8-byte LE length, the header, then data. */
static int write_st(const char *path, const char *header, const void *data, size_t n) {
    size_t h = strlen(header);
    unsigned char *buf = xmalloc(8 + h + n);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    if (n) memcpy(buf + 8 + h, data, n);
    int rc = write_bytes(path, buf, 8 + h + n);
    free(buf);
    return rc;
}

/* st_read expecting failure; returns the error text. */
static const char *st_err(const char *path) {
    StFile f;
    strcpy(err, "(no error)");
    if (st_read(path, &f, err) == 0) {
        st_free(&f);
        strcpy(err, "(read without error)");
    }
    return err;
}

/* Number of entries in dir whose name contains ".tmp." */
static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static int same_file(const char *path, const unsigned char *want, size_t n) {
    size_t got_n;
    unsigned char *got = slurp(path, &got_n);
    int same = got && got_n == n && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

static uint32_t crc_of(const void *p, size_t n) {
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void setup_tmp(void) {
    mkdir("tests/tmp", 0755);
    mkdir(TMP, 0755);
    DIR *d = opendir(TMP);
    if (!d) { fprintf(stderr, "cannot create %s (run from the project root)\n", TMP); exit(1); }
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, TMP "/%s", e->d_name);
        if (is_dir(p)) {
            char q[1100];
            snprintf(q, sizeof q, "rm -rf '%s'", p);
            if (system(q) != 0) fprintf(stderr, "cannot remove %s\n", p);
        } else unlink(p);
    }
    closedir(d);
}


static void test_st_roundtrip(void) {
    const char *path = TMP "/round.safetensors";
    float w[12], bias[4], scalar = -3.25f, x4[6];
    for (int i = 0; i < 12; i++) w[i] = (float)i * 0.5f - 1.0f;
    uint32_t specials[4] = {0x7fc01234u /* NaN with payload */, 0x80000000u /* -0 */,
                            0x7f800000u /* inf */, 0x00000001u /* smallest subnormal */};
    memcpy(bias, specials, sizeof bias);
    for (int i = 0; i < 6; i++) x4[i] = 1.0f / (float)(i + 1);
    StTensor t[5] = {
        {"layer.0.weight", 2, {3, 4, 0, 0}, {w}, ST_F32},
        {"layer.0.bias", 1, {4, 0, 0, 0}, {bias}, ST_F32},
        {"scalar", 0, {0, 0, 0, 0}, {&scalar}, ST_F32},
        {"empty", 2, {0, 5, 0, 0}, {NULL}, ST_F32},
        {"x4 \"odd\" name/\xc3\xa9", 4, {1, 2, 1, 3}, {x4}, ST_F32},
    };
    StMeta meta[3] = {{"format", "train-checkpoint/1"},
                      {"config", "{\n  \"lr\": 0.1,\n  \"run\": \"a\\tb\"\n}\n"},
                      {"unicode \xe2\x82\xac", "\xc3\xa9\x01"}};
    CHECK(st_write(path, t, 5, meta, 3, err) == 0);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.n_tensors == 5 && f.n_meta == 4);
    if (f.n_tensors == 5) {
        for (int i = 0; i < 5; i++) { /* header order is kept */
            CHECK_STR(f.tensors[i].name, t[i].name);
            CHECK(f.tensors[i].ndim == t[i].ndim);
            for (int d = 0; d < t[i].ndim; d++) CHECK(f.tensors[i].shape[d] == t[i].shape[d]);
            CHECK(f.tensors[i].data != NULL);
            CHECK(((uintptr_t)f.tensors[i].data & 15) == 0);
        }
        CHECK(memcmp(f.tensors[0].data, w, sizeof w) == 0);
        CHECK(memcmp(f.tensors[1].data, specials, sizeof specials) == 0); /* bit-exact */
        CHECK(f.tensors[2].data[0] == -3.25f);
        CHECK(memcmp(f.tensors[4].data, x4, sizeof x4) == 0);
    }
    CHECK_STR(st_meta_get(&f, "format"), "train-checkpoint/1");
    CHECK_STR(st_meta_get(&f, "config"), meta[1].value);
    CHECK_STR(st_meta_get(&f, "unicode \xe2\x82\xac"), "\xc3\xa9\x01");
    CHECK(st_meta_get(&f, "nope") == NULL);
    CHECK(st_find(&f, "layer.0.bias") == &f.tensors[1]);
    CHECK(st_find(&f, "layer.0") == NULL);
    CHECK(st_find(&f, "__metadata__") == NULL);
    /* the stored CRC, 8 lowercase hex digits, is the first member of __metadata__ and covers
     * the whole file after the length: the header without that member (and its comma), then
     * the data */
    const char *crc = st_meta_get(&f, "crc32");
    CHECK(crc && strlen(crc) == 8 && strspn(crc, "0123456789abcdef") == 8);
    CHECK(f.checksum == ST_CRC_FILE);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    CHECK(raw != NULL);
    if (raw && crc) {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | raw[i];
        CHECK((8 + h) % 8 == 0);
        CHECK(n == 8 + h + sizeof w + sizeof bias + 4 + sizeof x4);
        char member[32];
        snprintf(member, sizeof member, "\"crc32\":\"%s\",", crc);
        CHECK(memcmp(raw + 8, "{\"__metadata__\":{", 17) == 0 && memcmp(raw + 8 + 17, member, 19) == 0);
        unsigned char *rest = xmalloc(n);
        memcpy(rest, raw + 8, 17);
        memcpy(rest + 17, raw + 8 + 17 + 19, n - 8 - 17 - 19);
        char want[9];
        snprintf(want, sizeof want, "%08x", (unsigned)crc_of(rest, n - 8 - 19));
        CHECK_STR(crc, want);
        free(rest);
        CHECK(memcmp(raw + 8 + h, w, sizeof w) == 0); /* little-endian f32, in the given order */
        CHECK(raw[8] == '{');
    }
    free(raw);
    st_free(&f);
    CHECK(f.n_tensors == 0 && f.tensors == NULL);
    st_free(&f); /* twice is harmless */

    /* metadata that is not UTF-8 (say, a run name from the command line) still gives a
     * readable file: the bad bytes become U+FFFD */
    StMeta badutf = {"run", "x\xffy"};
    CHECK(st_write(path, NULL, 0, &badutf, 1, err) == 0);
    CHECK(st_read(path, &f, err) == 0);
    CHECK_STR(st_meta_get(&f, "run"), "x\xef\xbf\xbdy");
    st_free(&f);

    /* no tensors, no metadata: the header {"__metadata__":{"crc32":"aa16dd6a"}} is 37 bytes,
     * padded to 40; the CRC is zlib's crc32 of the 22 bytes {"__metadata__":{}} and 3 spaces */
    CHECK(st_write(path, NULL, 0, NULL, 0, err) == 0);
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.n_tensors == 0 && f.n_meta == 1);
    CHECK(crc_of("{\"__metadata__\":{}}   ", 22) == 0xaa16dd6au);
    CHECK_STR(st_meta_get(&f, "crc32"), "aa16dd6a");
    st_free(&f);
}

static void test_st_exact_bytes(void) {
    /* one tensor "a" of shape [2] holding 1, 2: every byte of the file, computed by hand.
     * The data is 00 00 80 3f 00 00 00 40 (1.0f, 2.0f little-endian). The header is 90 bytes,
     * padded with 6 spaces to 96, so the data starts at 8 + 96 = 104, a multiple of 8. The
     * CRC32 covers the header without its 18-byte crc32 member (78 bytes, spaces included)
     * followed by the data: zlib's crc32 of those 86 bytes is 6813c596 (the data's alone is
     * 2e3fa576, what earlier writers stored). */
    const char *path = TMP "/exact.safetensors";
    float v[2] = {1, 2};
    StTensor t = {"a", 1, {2, 0, 0, 0}, {v}, ST_F32};
    CHECK(st_write(path, &t, 1, NULL, 0, err) == 0);
    static const unsigned char data[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40};
    CHECK(crc_of(data, 8) == 0x2e3fa576u);
    const char *header = "{\"__metadata__\":{\"crc32\":\"6813c596\"},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}      ";
    CHECK(strlen(header) == 96);
    unsigned char covered[86];
    memcpy(covered, "{\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}      ", 78);
    memcpy(covered + 78, data, 8);
    CHECK(crc_of(covered, 86) == 0x6813c596u);
    unsigned char want[112];
    const unsigned char len8[8] = {96, 0, 0, 0, 0, 0, 0, 0};
    memcpy(want, len8, 8);
    memcpy(want + 8, header, 96);
    memcpy(want + 104, data, 8);
    size_t n;
    unsigned char *got = slurp(path, &n);
    CHECK(got && n == 112);
    if (got && n == 112) {
        CHECK(memcmp(got, len8, 8) == 0);
        CHECK(memcmp(got + 8, header, 96) == 0);
        if (memcmp(got + 8, header, 96) != 0) fprintf(stderr, "  header: %.96s\n", (char *)got + 8);
        CHECK(memcmp(got + 104, data, 8) == 0);
        CHECK(memcmp(got, want, 112) == 0);
    }
    free(got);

    /* a file as Python writes it (no crc32, header not padded, data unaligned) reads fine */
    const char *py = TMP "/python.safetensors";
    CHECK(write_st(py, "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                   (const unsigned char[]){0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40}, 12) == 0);
    StFile f;
    CHECK(st_read(py, &f, err) == 0);
    CHECK(f.n_tensors == 2 && f.n_meta == 1);
    if (f.n_tensors == 2) {
        CHECK_STR(f.tensors[0].name, "b"); /* header order, not offset order */
        CHECK(f.tensors[0].data[0] == 3.0f);
        CHECK(f.tensors[1].data[0] == 1.0f && f.tensors[1].data[1] == 2.0f);
    }
    CHECK_STR(st_meta_get(&f, "format"), "pt");
    CHECK(st_meta_get(&f, "crc32") == NULL);
    st_free(&f);
    /* the layout of the reference implementation's own serializer (no metadata, header padded
     * to 72 bytes with 7 spaces, data at 80) */
    float six[6] = {0, 1, 2, 3, 4, 5};
    CHECK(write_st(py, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                   six, 24) == 0);
    CHECK(st_read(py, &f, err) == 0);
    CHECK(f.n_tensors == 1 && f.n_meta == 0);
    if (f.n_tensors == 1) {
        CHECK(f.tensors[0].ndim == 4 && f.tensors[0].shape[3] == 3);
        CHECK(memcmp(f.tensors[0].data, six, 24) == 0);
    }
    st_free(&f);
    /* an empty file from it: "{}" and 6 spaces */
    CHECK(write_st(py, "{}      ", NULL, 0) == 0);
    CHECK(st_read(py, &f, err) == 0 && f.n_tensors == 0 && f.n_meta == 0);
    st_free(&f);
    /* no __metadata__ at all, whitespace around the JSON */
    CHECK(write_st(py, "  {\"s\":{\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"F32\"}}\n  ", data + 4, 4) == 0);
    CHECK(st_read(py, &f, err) == 0);
    CHECK(f.n_tensors == 1 && f.n_meta == 0 && f.tensors[0].ndim == 0 && f.tensors[0].data[0] == 2.0f);
    st_free(&f);
}

/* I64 tensors (BatchNorm's num_batches_tracked, a 0-dim tensor as PyTorch saves it): 8 bytes
 * little-endian each, read back exactly, mixed with F32 tensors; a span that does not match 8
 * bytes per element is refused. */
static void test_st_int64(void) {
    const char *path = TMP "/int64.safetensors";
    int64_t count = 3000000000LL, pair[2] = {-1, 7};
    float v[1] = {0.5f};
    StTensor t[3] = {{"n", 0, {0, 0, 0, 0}, {.i64 = &count}, ST_I64},
                     {"w", 1, {1, 0, 0, 0}, {v}, ST_F32},
                     {"p", 1, {2, 0, 0, 0}, {.i64 = pair}, ST_I64}};
    CHECK(st_write(path, t, 3, NULL, 0, err) == 0);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    CHECK(raw && strstr((char *)raw + 8, "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}"));
    CHECK(raw && strstr((char *)raw + 8, "\"p\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[12,28]}"));
    free(raw);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    if (f.n_tensors == 3) {
        CHECK(f.tensors[0].dtype == ST_I64 && f.tensors[0].ndim == 0 && f.tensors[0].i64[0] == count);
        CHECK(f.tensors[1].dtype == ST_F32 && f.tensors[1].data[0] == 0.5f);
        CHECK(f.tensors[2].i64[0] == -1 && f.tensors[2].i64[1] == 7);
    }
    st_free(&f);
    unsigned char d[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK(st_read(path, &f, err) == 0 && f.tensors[0].i64[0] == 1);
    st_free(&f);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,4]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "data_offsets span 4 bytes, shape needs 8");
}

static void test_st_padding(void) {
    /* whatever the names, the data starts at a multiple of 8 and the padding is spaces */
    const char *path = TMP "/pad.safetensors";
    float v[3] = {1, 2, 3};
    char name[32];
    int ok = 1;
    for (int len = 1; len <= 16; len++) {
        memset(name, 'n', (size_t)len);
        name[len] = 0;
        StTensor t = {name, 1, {3, 0, 0, 0}, {v}, ST_F32};
        if (st_write(path, &t, 1, NULL, 0, err) != 0) { ok = 0; break; }
        size_t n;
        unsigned char *raw = slurp(path, &n);
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | raw[i];
        if (h % 8 != 0 || n != 8 + h + 12 || memcmp(raw + 8 + h, v, 12) != 0) ok = 0;
        size_t end = h; /* position of the closing brace */
        while (end > 0 && raw[8 + end - 1] == ' ') end--;
        if (raw[8 + end - 1] != '}' || h - end >= 8) ok = 0;
        free(raw);
        StFile f;
        if (st_read(path, &f, err) != 0 || f.n_tensors != 1 || strcmp(f.tensors[0].name, name) != 0) ok = 0;
        st_free(&f);
    }
    CHECK(ok);
}

static void make_good_file(const char *path) {
    float v[4] = {1, 2, 3, 4};
    StTensor t[2] = {{"a", 1, {2, 0, 0, 0}, {v}, ST_F32}, {"b", 2, {1, 2, 0, 0}, {v + 2}, ST_F32}};
    StMeta m = {"k", "v"};
    if (st_write(path, t, 2, &m, 1, err) != 0) fprintf(stderr, "  setup failed: %s\n", err);
}

static void test_st_corruption(void) {
    const char *path = TMP "/corrupt.safetensors";
    char want[ERR_LEN];
    make_good_file(path);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    CHECK(raw && n > 16);
    if (!raw) return;
    /* flipping any single data byte is caught by the CRC */
    for (size_t k = n - 16; k < n; k++) {
        raw[k] ^= 0x01;
        CHECK(write_bytes(path, raw, n) == 0);
        snprintf(want, sizeof want, "%s: CRC32 mismatch (file corrupt)", path);
        CHECK_STR(st_err(path), want);
        raw[k] ^= 0x01;
    }
    CHECK(write_bytes(path, raw, n) == 0);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    st_free(&f);
    /* truncated data: the last tensor's offsets leave the data region */
    CHECK(write_bytes(path, raw, n - 1) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'b': data_offsets [8, 16] outside the data region (15 bytes");
    CHECK_CONTAINS(err, path);
    /* truncated inside the header */
    CHECK(write_bytes(path, raw, 40) == 0);
    CHECK_CONTAINS(st_err(path), "exceeds the file size (40 bytes");
    /* truncated inside the length */
    CHECK(write_bytes(path, raw, 5) == 0);
    snprintf(want, sizeof want, "%s: not a safetensors file (5 bytes, too short for the header length)", path);
    CHECK_STR(st_err(path), want);
    /* empty file */
    CHECK(write_bytes(path, raw, 0) == 0);
    snprintf(want, sizeof want, "%s: not a safetensors file (0 bytes, too short for the header length)", path);
    CHECK_STR(st_err(path), want);
    /* an extra byte after the data changes the CRC region */
    unsigned char *longer = xmalloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = 0;
    CHECK(write_bytes(path, longer, n + 1) == 0);
    CHECK_CONTAINS(st_err(path), "CRC32 mismatch");
    free(longer);
    /* metadata, names and shapes are covered too: a flipped letter of the metadata value or
     * of a tensor's name is caught (still valid JSON, still a valid file otherwise) */
    static const char *covered[] = {"\"v\"", "\"a\":{"};
    for (int k = 0; k < 2; k++) {
        unsigned char *at = memmem(raw, n, covered[k], strlen(covered[k]));
        CHECK(at != NULL);
        if (!at) continue;
        at[1] ^= 0x02;   /* v -> t, a -> c */
        CHECK(write_bytes(path, raw, n) == 0);
        snprintf(want, sizeof want, "%s: CRC32 mismatch (file corrupt)", path);
        CHECK_STR(st_err(path), want);
        at[1] ^= 0x02;
    }
    /* the writer's checksum removed (as if by hand): the file reads, and says it has none */
    unsigned char *bare = xmalloc(n);
    memcpy(bare, raw, n);
    unsigned char *member = memmem(bare, n, "\"crc32\":\"", 9);
    CHECK(member != NULL);
    if (member) {
        memset(member, ' ', 19);   /* "crc32":"xxxxxxxx", -> spaces: the JSON stays valid */
        member[0] = '"'; member[1] = 'x'; member[2] = '"'; member[3] = ':'; member[4] = '"'; member[5] = '"';
        member[6] = ',';
        CHECK(write_bytes(path, bare, n) == 0);
        CHECK(st_read(path, &f, err) == 0);
        CHECK(f.checksum == ST_CRC_NONE && st_meta_get(&f, "crc32") == NULL);
        st_free(&f);
    }
    free(bare);
    /* a file of an earlier writer: the CRC32 of the data alone, last in __metadata__ */
    const char *old_layout = "{\"__metadata__\":{\"k\":\"v\",\"crc32\":\"2e3fa576\"},"
                             "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    static const unsigned char one_two[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40};
    CHECK(write_st(path, old_layout, one_two, 8) == 0);
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.checksum == ST_CRC_DATA);
    st_free(&f);
    /* a corrupted crc32 value */
    char *c = memmem(raw, n, "\"crc32\":\"", 9);
    CHECK(c != NULL);
    if (c) {
        c[9] = 'z';
        CHECK(write_bytes(path, raw, n) == 0);
        CHECK_CONTAINS(st_err(path), "crc32 'z");
        CHECK_CONTAINS(err, "is not 8 hex digits");
    }
    free(raw);
}

static void test_st_bad_headers(void) {
    const char *path = TMP "/bad.safetensors";
    unsigned char d[16] = {0};
    char want[ERR_LEN];
    /* header length larger than the file */
    unsigned char buf[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK(write_bytes(path, buf, 10) == 0);
    snprintf(want, sizeof want, "%s: header length 100 exceeds the file size (10 bytes; truncated?)", path);
    CHECK_STR(st_err(path), want);
    /* 2^63, and just above the 100 MB limit */
    unsigned char huge[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
    CHECK(write_bytes(path, huge, 8) == 0);
    CHECK_CONTAINS(st_err(path), "header length 9223372036854775808 is over the 100 MB limit");
    unsigned char all1[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    CHECK(write_bytes(path, all1, 10) == 0);
    CHECK_CONTAINS(st_err(path), "header length 18446744073709551615 is over the 100 MB limit");
    unsigned char mb[8] = {0x00, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000000 */
    CHECK(write_bytes(path, mb, 8) == 0);
    CHECK_CONTAINS(st_err(path), "header length 100000000 is over the 100 MB limit");
    /* zero-length header */
    unsigned char zero[8] = {0};
    CHECK(write_bytes(path, zero, 8) == 0);
    CHECK_CONTAINS(st_err(path), "header is not valid JSON: unexpected end of input");
    /* not JSON, not an object */
    CHECK(write_st(path, "<html>not json</html>", NULL, 0) == 0);
    snprintf(want, sizeof want, "%s: header is not valid JSON: unexpected character '<', expected a value at byte 0", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "[1,2]   ", NULL, 0) == 0);
    snprintf(want, sizeof want, "%s: header is not a JSON object", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "trailing characters");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "duplicate key 'a'");
    /* overlapping tensors, including one inside another */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", d, 12) == 0);
    snprintf(want, sizeof want, "%s: tensors 'a' and 'b' overlap", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"big\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]},"
                         "\"in\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", d, 16) == 0);
    snprintf(want, sizeof want, "%s: tensors 'big' and 'in' overlap", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensors 'a' and 'b' overlap");
    /* adjacent tensors and empty tensors do not overlap */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", d, 16) == 0);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.n_tensors == 3);
    st_free(&f);
    /* offsets out of range or reversed */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d, 8) == 0);
    snprintf(want, sizeof want, "%s: tensor 'a': data_offsets [0, 16] outside the data region (8 bytes; file truncated?)", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets [8, 4] outside the data region");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,18446744073709551616]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets must be two non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets must be two non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets must be two non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets must be two non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': data_offsets must be two non-negative integers");
    /* byte size does not match the shape */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", d, 8) == 0);
    snprintf(want, sizeof want, "%s: tensor 'a': data_offsets span 8 bytes, shape needs 12", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "data_offsets span 8 bytes, shape needs 4");
    /* dtype */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", d, 8) == 0);
    snprintf(want, sizeof want, "%s: tensor 'a': dtype BF16 not supported (F32 or I64 only)", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': dtype F64 not supported (F32 or I64 only)");
    CHECK(write_st(path, "{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': missing or invalid dtype");
    CHECK(write_st(path, "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': missing or invalid dtype");
    /* shapes */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape entries must be non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape entries must be non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape entries must be non-negative integers");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': missing or invalid shape");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape has 5 dims (at most 4 supported)");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape too large");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992],\"data_offsets\":[0,0]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape too large");
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a': shape entries must be non-negative integers");
    /* a 0 dimension makes an empty tensor regardless of the others */
    CHECK(write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,0],\"data_offsets\":[0,0]}}", d, 8) == 0);
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.n_tensors == 1 && f.tensors[0].shape[0] == 1000000 && f.tensors[0].shape[1] == 0);
    st_free(&f);
    /* entries that are not objects */
    CHECK(write_st(path, "{\"a\":[1,2]}", d, 8) == 0);
    CHECK_CONTAINS(st_err(path), "tensor 'a' is not an object");
    /* metadata */
    CHECK(write_st(path, "{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", d, 0) == 0);
    snprintf(want, sizeof want, "%s: metadata 'a' is not a string", path);
    CHECK_STR(st_err(path), want);
    CHECK(write_st(path, "{\"__metadata__\":{\"ok\":\"1\",\"n\":1}}", d, 0) == 0);
    CHECK_CONTAINS(st_err(path), "metadata 'n' is not a string");
    CHECK(write_st(path, "{\"__metadata__\":\"x\"}", d, 0) == 0);
    CHECK_CONTAINS(st_err(path), "__metadata__ is not an object of strings");
    CHECK(write_st(path, "{\"__metadata__\":{}}", d, 0) == 0);
    CHECK(st_read(path, &f, err) == 0 && f.n_tensors == 0 && f.n_meta == 0);
    st_free(&f);
    /* st_read leaves an empty StFile on failure */
    CHECK(write_st(path, "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[4,5]}}", d, 8) == 0);
    memset(&f, 0x55, sizeof f);
    CHECK(st_read(path, &f, err) != 0);
    CHECK(f.n_tensors == 0 && f.tensors == NULL && f.n_meta == 0 && f.meta == NULL);
    st_free(&f);
}

static void test_st_paths(void) {
    char want[ERR_LEN];
    StFile f;
    /* a directory */
    snprintf(want, sizeof want, "%s: is a directory, expected a file", TMP);
    CHECK(st_read(TMP, &f, err) != 0);
    CHECK_STR(err, want);
    /* a missing file */
    CHECK(st_read(TMP "/missing.safetensors", &f, err) != 0);
    CHECK_STR(err, TMP "/missing.safetensors: No such file or directory");
}

static void test_st_write_rejects(void) {
    const char *path = TMP "/rejects.safetensors";
    float v[2] = {1, 2};
    make_good_file(path);
    size_t n;
    unsigned char *before = slurp(path, &n);
    StTensor t5 = {"a", 5, {1, 1, 1, 1}, {v}, ST_F32};
    CHECK(st_write(path, &t5, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "tensor 'a' has 5 dims (0..4 supported)");
    StTensor neg = {"a", 1, {-1, 0, 0, 0}, {v}, ST_F32};
    CHECK(st_write(path, &neg, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, "tensor 'a' has an invalid shape");
    StTensor nodata = {"a", 1, {2, 0, 0, 0}, {NULL}, ST_F32};
    CHECK(st_write(path, &nodata, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, "tensor 'a' has no data");
    StTensor two[2] = {{"a", 1, {1, 0, 0, 0}, {v}, ST_F32}, {"a", 1, {1, 0, 0, 0}, {v + 1}, ST_F32}};
    CHECK(st_write(path, two, 2, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, "two tensors are named 'a'");
    StTensor md = {"__metadata__", 1, {1, 0, 0, 0}, {v}, ST_F32};
    CHECK(st_write(path, &md, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, "'__metadata__' is reserved");
    StTensor ok = {"a", 1, {2, 0, 0, 0}, {v}, ST_F32};
    StMeta crc = {"crc32", "00000000"};
    CHECK(st_write(path, &ok, 1, &crc, 1, err) != 0);
    CHECK_CONTAINS(err, "metadata key 'crc32' is reserved");
    StMeta dup[2] = {{"k", "1"}, {"k", "2"}};
    CHECK(st_write(path, &ok, 1, dup, 2, err) != 0);
    CHECK_CONTAINS(err, "metadata key 'k' appears twice");
    CHECK(before && same_file(path, before, n)); /* the old file is untouched */
    CHECK(count_temp_files(TMP) == 0);
    free(before);
}

static void test_st_atomic(void) {
    char want[ERR_LEN];
    float v[4] = {1, 2, 3, 4}, w[4] = {5, 6, 7, 8};
    StTensor a = {"a", 1, {4, 0, 0, 0}, {v}, ST_F32};
    StTensor b = {"b", 2, {2, 2, 0, 0}, {w}, ST_F32};
    /* a missing directory: the error names the path, nothing is created */
    const char *missing = TMP "/no/such/dir/x.safetensors";
    CHECK(st_write(missing, &a, 1, NULL, 0, err) != 0);
    snprintf(want, sizeof want, "%s: cannot create temporary file: No such file or directory", missing);
    CHECK_STR(err, want);
    CHECK(!is_dir(TMP "/no"));
    /* writing over an existing file replaces it */
    const char *path = TMP "/atomic.safetensors";
    CHECK(st_write(path, &a, 1, NULL, 0, err) == 0);
    CHECK(st_write(path, &b, 1, NULL, 0, err) == 0);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    CHECK(f.n_tensors == 1 && st_find(&f, "b") && !st_find(&f, "a"));
    if (f.n_tensors == 1) CHECK(f.tensors[0].data[3] == 8);
    st_free(&f);
    CHECK(count_temp_files(TMP) == 0);

    size_t n;
    unsigned char *before = slurp(path, &n);
    CHECK(before != NULL);
    /* the temporary file cannot be created (its name is taken by a directory): the old file
     * stays, and the directory in the way is not removed */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(mkdir(tmp, 0755) == 0);
    CHECK(st_write(path, &a, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "cannot create temporary file");
    CHECK(is_dir(tmp));
    rmdir(tmp);
    CHECK(before && same_file(path, before, n));
    /* the rename fails (the target is a directory): the temporary file is removed */
    const char *dir = TMP "/target_is_dir";
    CHECK(mkdir(dir, 0755) == 0);
    char inside[512];
    snprintf(inside, sizeof inside, "%s/keep", dir);
    CHECK(write_bytes(inside, "x", 1) == 0);
    CHECK(st_write(dir, &a, 1, NULL, 0, err) != 0);
    CHECK_CONTAINS(err, dir);
    CHECK_CONTAINS(err, "cannot rename the temporary file over it");
    CHECK(is_dir(dir) && is_file(inside));
    CHECK(count_temp_files(TMP) == 0);
    /* a write that fails half way (file size limit, in a child process): the old file is
     * intact and the temporary file is gone */
    float *big = xcalloc(1 << 16, sizeof(float));
    StTensor bt = {"big", 1, {1 << 16, 0, 0, 0}, {big}, ST_F32};
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl;
        getrlimit(RLIMIT_FSIZE, &rl);
        rl.rlim_cur = 4096;
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        char e[ERR_LEN];
        int rc = st_write(path, &bt, 1, NULL, 0, e);
        _exit(rc != 0 && strstr(e, path) && strstr(e, "File too large") ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(before && same_file(path, before, n));
    CHECK(count_temp_files(TMP) == 0);
    free(big);
    free(before);
    /* a bare file name (temp file and directory fsync in the current directory) */
    CHECK(chdir(TMP) == 0);
    CHECK(st_write("bare.safetensors", &a, 1, NULL, 0, err) == 0);
    CHECK(st_read("bare.safetensors", &f, err) == 0 && f.n_tensors == 1);
    st_free(&f);
    CHECK(chdir("../../..") == 0);
    CHECK(is_file(TMP "/bare.safetensors"));
}

static void test_st_big_metadata(void) {
    /* the checkpoint keeps optimizer state as base64 metadata: a 1 MB value round-trips */
    const char *path = TMP "/bigmeta.safetensors";
    size_t nb = 1 << 20;
    unsigned char *blob = xmalloc(nb);
    for (size_t i = 0; i < nb; i++) blob[i] = (unsigned char)(i * 2654435761u >> 13);
    char *enc = b64_encode(blob, nb);
    float v = 1;
    StTensor t = {"t", 1, {1, 0, 0, 0}, {&v}, ST_F32};
    StMeta m = {"optimizer_state", enc};
    CHECK(st_write(path, &t, 1, &m, 1, err) == 0);
    StFile f;
    CHECK(st_read(path, &f, err) == 0);
    const char *got = st_meta_get(&f, "optimizer_state");
    CHECK(got && strlen(got) == strlen(enc));
    if (got) {
        size_t cap = strlen(got) / 4 * 3;
        unsigned char *dec = xmalloc(cap);
        CHECK(b64_decode(got, dec, cap) == (long)nb);
        CHECK(memcmp(dec, blob, nb) == 0);
        free(dec);
    }
    st_free(&f);
    free(enc);
    free(blob);
}

/* ---------------------------------------------------------------- base64 */

static void test_base64_rfc4648(void) {
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *e = b64_encode(plain[i], strlen(plain[i]));
        CHECK_STR(e, coded[i]);
        free(e);
        char out[16];
        memset(out, '#', sizeof out);
        long n = b64_decode(coded[i], out, strlen(plain[i]));
        CHECK(n == (long)strlen(plain[i]));
        CHECK(memcmp(out, plain[i], strlen(plain[i])) == 0);
        CHECK(out[strlen(plain[i])] == '#'); /* nothing past the decoded bytes */
    }
    /* all byte values and lengths round-trip */
    unsigned char data[300], back[300];
    for (int i = 0; i < 300; i++) data[i] = (unsigned char)(255 - i);
    int ok = 1;
    for (size_t n = 0; n <= 300; n++) {
        char *e = b64_encode(data, n);
        if (strlen(e) != (n + 2) / 3 * 4 || b64_decode(e, back, n) != (long)n || memcmp(back, data, n) != 0) ok = 0;
        free(e);
    }
    CHECK(ok);
    char *e = b64_encode("\xfb\xff\xbf", 3);
    CHECK_STR(e, "+/+/");
    free(e);
}

static void test_base64_invalid(void) {
    char out[64];
    static const char *bad[] = {
        "Zg=", "Zm9", "Z", "=", "==", "===", "====", "Zg==Zg==", "Z===", "Zm=v", "=Zm9",
        "Zm9v!A==", "Zm9v YQ==", "Zm9v\nYQ==", "Zm9-", "Zm9_", "Zh==", "Zm9=", "Zm8==",
        "Zm\xc3\xa9", "Zg==\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long n = b64_decode(bad[i], out, sizeof out);
        CHECK(n == -1);
        if (n != -1) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    }
    /* out_cap is respected: too small a buffer is an error, and nothing is written */
    memset(out, '#', sizeof out);
    CHECK(b64_decode("Zm9vYmFy", out, 5) == -1);
    CHECK(out[0] == '#' && out[5] == '#');
    CHECK(b64_decode("Zm9vYg==", out, 3) == -1);
    CHECK(b64_decode("Zm9vYg==", out, 4) == 4);
    CHECK(out[4] == '#');
    CHECK(b64_decode("", out, 0) == 0);
    CHECK(b64_decode(NULL, out, 8) == -1);
}


int main(void) {
    setup_tmp();
    RUN(test_st_roundtrip);
    RUN(test_st_exact_bytes);
    RUN(test_st_int64);
    RUN(test_st_padding);
    RUN(test_st_corruption);
    RUN(test_st_bad_headers);
    RUN(test_st_paths);
    RUN(test_st_write_rejects);
    RUN(test_st_atomic);
    RUN(test_st_big_metadata);
    RUN(test_base64_rfc4648);
    RUN(test_base64_invalid);
    return test_summary();
}
