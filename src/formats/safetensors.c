/* safetensors.c: F32/I64 safetensors files (atomic writer, validating reader) and base64. */
#include "formats/safetensors.h"
#include "formats/json.h"
#include "util/fsio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Tensor bytes are written and read as they lie in memory (write, memcpy), which is only right
 * on a little-endian machine (every platform this program targets). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors.c assumes a little-endian host");
_Static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

#define ST_MAX_HEADER 100000000ull /* bytes; the limit Python's safetensors applies too */
#define ST_MAX_INT 9007199254740992.0 /* 2^53: larger JSON numbers are not exact integers */
/* The writer puts the checksum first: the header starts with CRC_AT CRC_MEMBER "xxxxxxxx" */
#define CRC_AT "{\"__metadata__\":{"
#define CRC_MEMBER "\"crc32\":\""

static uint32_t crc_bytes(const unsigned char *p, uint64_t n, uint32_t crc) {
    uLong c = crc;
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* Element count of a shape, or -1 when a dimension is negative or the byte size overflows. */
static int64_t shape_count(const int64_t *shape, int ndim) {
    int64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] && count > INT64_MAX / 4 / shape[d]) return -1;
        count *= shape[d];
    }
    return count;
}

int64_t st_elements(const StTensor *t) {
    return shape_count(t->shape, t->ndim);
}

static uint64_t elem_size(int dtype) {
    return dtype == ST_I64 ? 8 : 4;
}

static uint64_t tensor_bytes(const StTensor *t) {
    return (uint64_t)shape_count(t->shape, t->ndim) * elem_size(t->dtype);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns the first name that occurs twice among n strings, or NULL. */
static const char *duplicate_name(const char **names, int n) {
    if (n < 2) return NULL;
    const char **s = xmalloc(sizeof(char *) * (size_t)n);
    memcpy(s, names, sizeof(char *) * (size_t)n);
    qsort(s, (size_t)n, sizeof *s, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(s[i - 1], s[i]) == 0) dup = s[i];
    free(s);
    return dup;
}

/* ---------------------------------------------------------------- writer */

int st_write(const char *path, const StTensor *tensors, int n_tensors,
             const StMeta *meta, int n_meta, char *err) {
    if (n_tensors < 0 || n_meta < 0 || (n_tensors && !tensors) || (n_meta && !meta))
        return errf(err, "%s: invalid tensor or metadata count", path);

    /* validate everything before touching the file system */
    uint64_t total = 0;
    for (int i = 0; i < n_tensors; i++) {
        const StTensor *t = &tensors[i];
        if (!t->name || !*t->name) return errf(err, "%s: tensor %d has no name", path, i);
        if (strcmp(t->name, "__metadata__") == 0)
            return errf(err, "%s: '__metadata__' is reserved and cannot name a tensor", path);
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
            return errf(err, "%s: tensor '%s' has %d dims (0..%d supported)", path, t->name,
                        t->ndim, ST_MAX_DIMS);
        int64_t count = shape_count(t->shape, t->ndim);
        if (count < 0) return errf(err, "%s: tensor '%s' has an invalid shape", path, t->name);
        if (count && !t->data) return errf(err, "%s: tensor '%s' has no data", path, t->name);
        if (t->dtype != ST_F32 && t->dtype != ST_I64)
            return errf(err, "%s: tensor '%s' has an unknown dtype", path, t->name);
        if ((uint64_t)count * 8 > UINT64_MAX / 2 - total)
            return errf(err, "%s: tensors too large", path);
        total += (uint64_t)count * elem_size(t->dtype);
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return errf(err, "%s: metadata entry %d has no key or value", path, i);
        if (strcmp(meta[i].key, "crc32") == 0)
            return errf(err, "%s: metadata key 'crc32' is reserved for the writer", path);
    }
    const char **names = xmalloc(sizeof(char *) * ((size_t)(n_tensors > n_meta ? n_tensors : n_meta) + 1));
    for (int i = 0; i < n_tensors; i++) names[i] = tensors[i].name;
    const char *dup = duplicate_name(names, n_tensors);
    if (dup) {
        int rc = errf(err, "%s: two tensors are named '%s'", path, dup);
        free(names);
        return rc;
    }
    for (int i = 0; i < n_meta; i++) names[i] = meta[i].key;
    dup = duplicate_name(names, n_meta);
    if (dup) {
        int rc = errf(err, "%s: metadata key '%s' appears twice", path, dup);
        free(names);
        return rc;
    }
    free(names);

    /* header: {"__metadata__":{"crc32":"...",...},"name":{"dtype":"F32","shape":[..],"data_offsets":[b,e]},...}
     * built first without its crc32 member, which is then put first in __metadata__ */
    StrBuf h;
    sb_init(&h);
    sb_append(&h, "{\"__metadata__\":{");
    for (int i = 0; i < n_meta; i++) {
        sb_append(&h, i ? "," : "");
        sb_json_string(&h, meta[i].key);
        sb_append(&h, ":");
        sb_json_string(&h, meta[i].value);
    }
    sb_append(&h, "}");
    uint64_t off = 0;
    for (int i = 0; i < n_tensors; i++) {
        const StTensor *t = &tensors[i];
        uint64_t bytes = tensor_bytes(t);
        sb_append(&h, ",");
        sb_json_string(&h, t->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", t->dtype == ST_I64 ? "I64" : "F32");
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%" PRId64, d ? "," : "", t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
        off += bytes;
    }
    sb_append(&h, "}");
    size_t member_len = strlen(CRC_MEMBER "00000000\"") + (n_meta ? 1 : 0), at = strlen(CRC_AT);
    while ((h.len + member_len) % 8) sb_append(&h, " "); /* the data then starts at a multiple of 8 */
    uint32_t crc = crc_bytes((const unsigned char *)h.s, h.len, (uint32_t)crc32(0L, Z_NULL, 0));
    for (int i = 0; i < n_tensors; i++) {
        uint64_t bytes = tensor_bytes(&tensors[i]);
        if (bytes) crc = crc_bytes((const unsigned char *)tensors[i].data, bytes, crc);
    }
    char member[32];
    snprintf(member, sizeof member, CRC_MEMBER "%08" PRIx32 "\"%s", crc, n_meta ? "," : "");
    size_t header_len = h.len + member_len;
    char *header = xmalloc(header_len + 1);
    memcpy(header, h.s, at);
    memcpy(header + at, member, member_len);
    memcpy(header + at + member_len, h.s + at, h.len - at + 1);
    sb_free(&h);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)header_len >> (8 * i));

    FsAtomic file;
    int rc = -1;
    if (fsio_begin(&file, path, err) != 0) goto out;
    if (fsio_write(&file, len8, 8, err) != 0 || fsio_write(&file, header, header_len, err) != 0) goto fail;
    for (int i = 0; i < n_tensors; i++) {
        uint64_t bytes = tensor_bytes(&tensors[i]);
        if (bytes > SIZE_MAX) { errf(err, "%s: tensor '%s' too large", path, tensors[i].name); goto fail; }
        if (fsio_write(&file, tensors[i].data, (size_t)bytes, err) != 0) goto fail;
    }
    rc = fsio_commit(&file, err);
    goto out;
fail:
    fsio_abort(&file);
out:
    free(header);
    return rc;
}

/* ---------------------------------------------------------------- reader */

void st_free(StFile *f) {
    if (!f) return;
    for (int i = 0; i < f->n_tensors; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].data);
    }
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *st_meta_get(const StFile *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

/* A JSON number that is an exact non-negative integer no larger than 2^53. */
static int json_uint(const Json *j, uint64_t *out) {
    if (!j || j->type != JSON_NUMBER) return -1;
    double v = j->number;
    if (!(v >= 0 && v <= ST_MAX_INT) || v != (double)(uint64_t)v) return -1;
    *out = (uint64_t)v;
    return 0;
}

typedef struct {
    uint64_t begin, end;
    int index;
} Span;

static int span_cmp(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The CRC32 a file claims (metadata "crc32", 8 hex digits) and what it covers: the whole file
 * when the member opens the header (this writer), else the data region (earlier writers).
 * Returns the scope (ST_CRC_NONE when there is no crc32), or -1 with err when it fails. */
static int check_crc(const char *path, const StFile *f, const char *header, uint64_t header_len,
                     const unsigned char *data, uint64_t data_len, char *err) {
    const char *crc_s = st_meta_get(f, "crc32");
    if (!crc_s) return ST_CRC_NONE;
    uint32_t want = 0;
    int ok = strlen(crc_s) == 8;
    for (int i = 0; ok && i < 8; i++) {
        int v = hexval(crc_s[i]);
        if (v < 0) ok = 0;
        else want = want << 4 | (uint32_t)v;
    }
    if (!ok) return errf(err, "%s: metadata crc32 '%.16s' is not 8 hex digits", path, crc_s);
    size_t at = strlen(CRC_AT), member = strlen(CRC_MEMBER "00000000\"");
    uint32_t got = (uint32_t)crc32(0L, Z_NULL, 0);
    int scope = ST_CRC_DATA;
    if (header_len > at + member && !memcmp(header, CRC_AT, at) &&
        !memcmp(header + at, CRC_MEMBER, strlen(CRC_MEMBER)) &&
        !memcmp(header + at + strlen(CRC_MEMBER), crc_s, 8) && header[at + member - 1] == '"' &&
        (header[at + member] == ',' || header[at + member] == '}')) {
        /* the header without its crc32 member (and the comma after it), then the data */
        size_t cut = member + (header[at + member] == ',');
        got = crc_bytes((const unsigned char *)header, at, got);
        got = crc_bytes((const unsigned char *)header + at + cut, header_len - at - cut, got);
        scope = ST_CRC_FILE;
    }
    got = crc_bytes(data, data_len, got);
    if (got != want) return errf(err, "%s: CRC32 mismatch (file corrupt)", path);
    return scope;
}

/* Validates the parsed header and fills f; data is the data region of data_len bytes. */
static int st_load(const char *path, const Json *h, const unsigned char *data, uint64_t data_len,
                   StFile *f, char *err) {
    if (h->type != JSON_OBJECT) return errf(err, "%s: header is not a JSON object", path);
    const Json *md = json_get(h, "__metadata__");
    if (md) {
        if (md->type != JSON_OBJECT)
            return errf(err, "%s: __metadata__ is not an object of strings", path);
        for (int i = 0; i < md->n; i++)
            if (md->items[i].type != JSON_STRING)
                return errf(err, "%s: metadata '%.64s' is not a string", path, md->keys[i]);
        f->meta = xcalloc((size_t)md->n, sizeof(StMeta));
        for (int i = 0; i < md->n; i++) {
            f->meta[i].key = xstrdup(md->keys[i]);
            f->meta[i].value = xstrdup(md->items[i].string);
            f->n_meta++;
        }
    }
    int nt = h->n - (md ? 1 : 0);
    f->tensors = xcalloc((size_t)nt, sizeof(StTensor));
    Span *spans = xcalloc((size_t)nt, sizeof(Span));
    int k = 0, rc = -1;
    for (int i = 0; i < h->n; i++) {
        const Json *e = &h->items[i];
        const char *name = h->keys[i];
        if (e == md) continue;
        if (e->type != JSON_OBJECT) { errf(err, "%s: tensor '%.64s' is not an object", path, name); goto out; }
        const Json *dt = json_get(e, "dtype"), *sh = json_get(e, "shape"), *of = json_get(e, "data_offsets");
        if (!dt || dt->type != JSON_STRING) {
            errf(err, "%s: tensor '%.64s': missing or invalid dtype", path, name);
            goto out;
        }
        int dtype = !strcmp(dt->string, "F32") ? ST_F32 : !strcmp(dt->string, "I64") ? ST_I64 : -1;
        if (dtype < 0) {
            errf(err, "%s: tensor '%.64s': dtype %.32s not supported (F32 or I64 only)", path, name, dt->string);
            goto out;
        }
        if (!sh || sh->type != JSON_ARRAY) {
            errf(err, "%s: tensor '%.64s': missing or invalid shape", path, name);
            goto out;
        }
        if (sh->n > ST_MAX_DIMS) {
            errf(err, "%s: tensor '%.64s': shape has %d dims (at most %d supported)", path, name,
                 sh->n, ST_MAX_DIMS);
            goto out;
        }
        StTensor *t = &f->tensors[k];
        for (int d = 0; d < sh->n; d++) {
            uint64_t v;
            if (json_uint(&sh->items[d], &v) != 0) {
                errf(err, "%s: tensor '%.64s': shape entries must be non-negative integers", path, name);
                goto out;
            }
            t->shape[d] = (int64_t)v;
        }
        t->ndim = sh->n;
        int64_t count = shape_count(t->shape, t->ndim);
        if (count < 0) { errf(err, "%s: tensor '%.64s': shape too large", path, name); goto out; }
        uint64_t b, en;
        if (!of || of->type != JSON_ARRAY || of->n != 2 || json_uint(&of->items[0], &b) != 0 ||
            json_uint(&of->items[1], &en) != 0) {
            errf(err, "%s: tensor '%.64s': data_offsets must be two non-negative integers", path, name);
            goto out;
        }
        if (b > en || en > data_len) {
            errf(err, "%s: tensor '%.64s': data_offsets [%" PRIu64 ", %" PRIu64 "] outside the data region "
                 "(%" PRIu64 " bytes; file truncated?)", path, name, b, en, data_len);
            goto out;
        }
        t->dtype = dtype;
        if (en - b != (uint64_t)count * elem_size(dtype)) {
            errf(err, "%s: tensor '%.64s': data_offsets span %" PRIu64 " bytes, shape needs %" PRIu64,
                 path, name, en - b, (uint64_t)count * elem_size(dtype));
            goto out;
        }
        t->name = xstrdup(name);
        spans[k] = (Span){b, en, k};
        k++;
        f->n_tensors = k; /* from here on st_free releases it */
        t->data = xalloc_floats((size_t)count * elem_size(dtype) / 4);
        if (count) memcpy(t->data, data + b, (size_t)count * elem_size(dtype));
    }
    qsort(spans, (size_t)nt, sizeof *spans, span_cmp);
    uint64_t reach = 0; /* furthest end so far, and the tensor that reaches it */
    int reach_i = -1;
    for (int i = 0; i < nt; i++) {
        /* sorted by begin, so a non-empty span overlaps an earlier one iff it starts before reach
         * (empty tensors overlap nothing) */
        if (reach_i >= 0 && spans[i].begin < reach && spans[i].end > spans[i].begin) {
            errf(err, "%s: tensors '%.64s' and '%.64s' overlap", path, f->tensors[reach_i].name,
                 f->tensors[spans[i].index].name);
            goto out;
        }
        if (reach_i < 0 || spans[i].end > reach) { reach = spans[i].end; reach_i = spans[i].index; }
    }
    rc = 0;
out:
    free(spans);
    return rc;
}

int st_read(const char *path, StFile *f, char *err) {
    memset(f, 0, sizeof *f);
    size_t size;
    char *buf = read_file(path, &size, err);
    if (!buf) return -1;
    const unsigned char *u = (const unsigned char *)buf;
    int rc = -1;
    if (size < 8) {
        errf(err, "%s: not a safetensors file (%zu bytes, too short for the header length)", path, size);
        goto out;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | u[i];
    if (n >= ST_MAX_HEADER) {
        errf(err, "%s: header length %" PRIu64 " is over the 100 MB limit (not a safetensors file?)", path, n);
        goto out;
    }
    if (n > (uint64_t)size - 8) {
        errf(err, "%s: header length %" PRIu64 " exceeds the file size (%zu bytes; truncated?)", path, n, size);
        goto out;
    }
    Json h;
    char why[ERR_LEN];
    if (json_parse(buf + 8, (size_t)n, &h, why) != 0) {
        errf(err, "%s: header is not valid JSON: %s", path, why);
        goto out;
    }
    rc = st_load(path, &h, u + 8 + n, (uint64_t)size - 8 - n, f, err);
    json_free(&h);
    if (rc == 0) {
        f->checksum = check_crc(path, f, buf + 8, n, u + 8 + n, (uint64_t)size - 8 - n, err);
        if (f->checksum < 0) rc = -1;
    }
    if (rc != 0) st_free(f);
out:
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- base64 */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t n) {
    const unsigned char *p = data;
    if (n / 3 >= (SIZE_MAX - 1) / 4 - 1) fatal(EXIT_FAIL, "out of memory: base64 of %zu bytes", n);
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = '=';
    }
    *o = 0;
    return out;
}

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long b64_decode(const char *in, void *out, size_t out_cap) {
    if (!in) return -1;
    size_t len = strlen(in);
    if (len % 4) return -1;
    size_t pad = 0;
    if (len && in[len - 1] == '=') pad = in[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > out_cap || n > (size_t)LONG_MAX) return -1;
    unsigned char *o = out;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && last && k >= 4 - pad) v[k] = 0;
            else if ((v[k] = b64_val(c)) < 0) return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* canonical encoding only: the bits below the last decoded byte must be zero */
        if (last && pad == 2 && (w & 0xffff)) return -1;
        if (last && pad == 1 && (w & 0xff)) return -1;
        *o++ = (unsigned char)(w >> 16);
        if (!last || pad < 2) *o++ = (unsigned char)(w >> 8);
        if (!last || pad < 1) *o++ = (unsigned char)w;
    }
    return (long)n;
}
