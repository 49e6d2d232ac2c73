/* safetensors.h: the safetensors file format (as read by Python's safetensors and PyTorch):
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: {"__metadata__": {str: str, ...},
 *                           "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
 *             (padded with spaces to a multiple of 8 bytes)
 *   data      raw little-endian tensor bytes; offsets are relative to the start of this region
 * This module writes and reads F32 and I64 tensors (I64: integer counters such as BatchNorm's
 * num_batches_tracked). Writes are atomic (util/fsio.h): a temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory; a failure at any
 * point leaves the previous file untouched and no temporary file behind.
 * The writer stores a CRC32 (zlib) in the metadata key "crc32" (8 lowercase hex digits), as
 * the first member of __metadata__, which is the first key of the header: it covers the whole
 * file after the 8-byte length, that is the header with the `"crc32":"xxxxxxxx"` member (and
 * the comma after it) taken out, padding included, then the data region. So metadata, names,
 * shapes and offsets are covered as well as the tensors. Files of earlier writers carry the
 * CRC32 of the data region alone (the member last in __metadata__); the reader verifies
 * either and says which it found (StFile.checksum). */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 4

enum { ST_F32, ST_I64 };

typedef struct {
    char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    union {               /* reading: owned by the StFile; writing: borrowed from the caller */
        float *data;      /* ST_F32 */
        int64_t *i64;     /* ST_I64 */
    };
    int dtype;            /* ST_F32 (0) or ST_I64 */
} StTensor;

typedef struct {
    char *key, *value;
} StMeta;

/* What a file's crc32 covered (checked by st_read): nothing (no crc32), the data region, or
 * the whole file. */
enum { ST_CRC_NONE, ST_CRC_DATA, ST_CRC_FILE };

typedef struct {
    StTensor *tensors;
    int n_tensors;
    StMeta *meta;
    int n_meta;
    int checksum;         /* ST_CRC_NONE, ST_CRC_DATA or ST_CRC_FILE */
} StFile;

/* Writes tensors and metadata (keys must not be "crc32", which the writer adds) atomically
 * to path. Returns 0, or -1 with err = "<path>: <why>". */
int st_write(const char *path, const StTensor *tensors, int n_tensors,
             const StMeta *meta, int n_meta, char *err);

/* Reads a whole file, validating: header length within the file and below 100 MB, header is a
 * JSON object, every tensor F32 or I64 with a sane shape whose byte size equals its data_offsets span,
 * offsets inside the data region and not overlapping, metadata values strings, CRC32 when
 * present (either scope). Returns 0, or -1 with err = "<path>: <why>". */
int st_read(const char *path, StFile *f, char *err);
void st_free(StFile *f);

const StTensor *st_find(const StFile *f, const char *name);
/* The number of elements of t (the product of its shape). */
int64_t st_elements(const StTensor *t);
const char *st_meta_get(const StFile *f, const char *key);

/* Base64 (RFC 4648, with padding), for binary state kept in string metadata.
 * b64_decode returns the decoded length, or -1 on invalid input; out must hold
 * 3 * (strlen(in) / 4) bytes. */
char *b64_encode(const void *data, size_t n);
long b64_decode(const char *in, void *out, size_t out_cap);

#endif
