/* safetensors.h: the safetensors file format (as read by Python's safetensors and PyTorch):
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: {"__metadata__": {str: str, ...},
 *                           "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
 *             (padded with spaces to a multiple of 8 bytes)
 *   data      raw little-endian tensor bytes; offsets are relative to the start of this region
 * This module writes and reads F32 and I64 tensors (I64: integer counters such as BatchNorm's
 * num_batches_tracked). Writes are atomic: a temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory; a failure at any
 * point leaves the previous file untouched and no temporary file behind.
 * The writer stores the CRC32 (zlib) of the data region in the metadata key "crc32"
 * (8 lowercase hex digits); the reader verifies it when present. */
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

typedef struct {
    StTensor *tensors;
    int n_tensors;
    StMeta *meta;
    int n_meta;
} StFile;

/* Writes tensors and metadata (keys must not be "crc32", which the writer adds) atomically
 * to path. Returns 0, or -1 with err = "<path>: <why>". */
int st_write(const char *path, const StTensor *tensors, int n_tensors,
             const StMeta *meta, int n_meta, char *err);

/* Reads a whole file, validating: header length within the file and below 100 MB, header is a
 * JSON object, every tensor F32 or I64 with a sane shape whose byte size equals its data_offsets span,
 * offsets inside the data region and not overlapping, metadata values strings, CRC32 when
 * present. Returns 0, or -1 with err = "<path>: <why>". */
int st_read(const char *path, StFile *f, char *err);
void st_free(StFile *f);

const StTensor *st_find(const StFile *f, const char *name);
const char *st_meta_get(const StFile *f, const char *key);

/* Base64 (RFC 4648, with padding), for binary state kept in string metadata.
 * b64_decode returns the decoded length, or -1 on invalid input; out must hold
 * 3 * (strlen(in) / 4) bytes. */
char *b64_encode(const void *data, size_t n);
long b64_decode(const char *in, void *out, size_t out_cap);

#endif
