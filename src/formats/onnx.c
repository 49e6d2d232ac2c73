/* onnx.c: ONNX models in protobuf's wire format, see onnx.h.
 *
 * The wire format: a message is a sequence of fields, each a key (field number << 3 | wire
 * type) as a varint, then the value: wire type 0 a varint (ints, enums), 2 a varint length
 * and that many bytes (strings, bytes, nested messages, packed repeated ints), 5 four bytes
 * little-endian (float). A nested message is written into its own buffer first, so its
 * length is known. */
#include "formats/onnx.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static void pb_varint(StrBuf *b, uint64_t v) {
    char buf[10];
    size_t n = 0;
    do {
        buf[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    sb_appendn(b, buf, n);
}

static void pb_key(StrBuf *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

/* int64 and int32 fields: negative values as their 64-bit two's complement, as protobuf does */
static void pb_int(StrBuf *b, int field, int64_t v) {
    pb_key(b, field, WIRE_VARINT);
    pb_varint(b, (uint64_t)v);
}

static void pb_bytes(StrBuf *b, int field, const void *data, size_t n) {
    pb_key(b, field, WIRE_LEN);
    pb_varint(b, n);
    sb_appendn(b, data, n);
}

static void pb_string(StrBuf *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }

static void pb_float(StrBuf *b, int field, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    char le[4] = {(char)(u & 0xff), (char)(u >> 8 & 0xff), (char)(u >> 16 & 0xff), (char)(u >> 24)};
    pb_key(b, field, WIRE_FIXED32);
    sb_appendn(b, le, 4);
}

/* Appends the nested message `inner` as field `field` of b, and frees it. */
static void pb_message(StrBuf *b, int field, StrBuf *inner) {
    pb_bytes(b, field, inner->s, inner->len);
    sb_free(inner);
}

void onnx_init(OnnxModel *m) {
    sb_init(&m->nodes);
    sb_init(&m->initializers);
    sb_init(&m->inputs);
    sb_init(&m->outputs);
    sb_init(&m->meta);
}

void onnx_free(OnnxModel *m) {
    sb_free(&m->nodes);
    sb_free(&m->initializers);
    sb_free(&m->inputs);
    sb_free(&m->outputs);
    sb_free(&m->meta);
}

void onnx_initializer(OnnxModel *m, const char *name, int ndim, const int64_t *dims, const float *data) {
    StrBuf t;
    sb_init(&t);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        pb_int(&t, 1, dims[d]);   /* TensorProto.dims */
        count *= (size_t)dims[d];
    }
    pb_int(&t, 2, 1);             /* data_type FLOAT */
    pb_string(&t, 8, name);
    /* raw_data: little-endian floats, as this machine stores them */
    pb_bytes(&t, 9, data, sizeof(float) * count);
    pb_message(&m->initializers, 5, &t);
}

void onnx_node(OnnxModel *m, const char *op, const char *name, const char *const *inputs, int n_inputs,
               const char *output, const OnnxAttr *attrs, int n_attrs) {
    StrBuf n;
    sb_init(&n);
    for (int i = 0; i < n_inputs; i++) pb_string(&n, 1, inputs[i]);
    pb_string(&n, 2, output);
    pb_string(&n, 3, name);
    pb_string(&n, 4, op);
    for (int i = 0; i < n_attrs; i++) {
        StrBuf a;
        sb_init(&a);
        pb_string(&a, 1, attrs[i].name);
        if (attrs[i].type == ONNX_FLOAT) pb_float(&a, 2, (float)attrs[i].f);
        else pb_int(&a, 3, attrs[i].i);
        pb_int(&a, 20, attrs[i].type);
        pb_message(&n, 5, &a);
    }
    pb_message(&m->nodes, 1, &n);
}

/* ValueInfoProto of a float [N, width] */
static void value_info(StrBuf *list, int field, const char *name, long width) {
    StrBuf shape, dim, tensor, type, info;
    sb_init(&dim);
    pb_string(&dim, 2, "N");           /* Dimension.dim_param */
    sb_init(&shape);
    pb_message(&shape, 1, &dim);
    sb_init(&dim);
    pb_int(&dim, 1, width);            /* Dimension.dim_value */
    pb_message(&shape, 1, &dim);
    sb_init(&tensor);
    pb_int(&tensor, 1, 1);             /* elem_type FLOAT */
    pb_message(&tensor, 2, &shape);
    sb_init(&type);
    pb_message(&type, 1, &tensor);     /* TypeProto.tensor_type */
    sb_init(&info);
    pb_string(&info, 1, name);
    pb_message(&info, 2, &type);
    pb_message(list, field, &info);
}

void onnx_input(OnnxModel *m, const char *name, long width) { value_info(&m->inputs, 11, name, width); }
void onnx_output(OnnxModel *m, const char *name, long width) { value_info(&m->outputs, 12, name, width); }

void onnx_metadata(OnnxModel *m, const char *key, const char *value) {
    StrBuf e;
    sb_init(&e);
    pb_string(&e, 1, key);
    pb_string(&e, 2, value);
    pb_message(&m->meta, 14, &e);
}

int onnx_write(const OnnxModel *m, const char *path, const char *graph_name, const char *doc,
               long ir_version, long opset, const char *producer, const char *version, char *err) {
    StrBuf graph, model, set;
    sb_init(&graph);   /* GraphProto: fields in their numbers' order */
    sb_appendn(&graph, m->nodes.s, m->nodes.len);
    pb_string(&graph, 2, graph_name);
    sb_appendn(&graph, m->initializers.s, m->initializers.len);
    pb_string(&graph, 10, doc);
    sb_appendn(&graph, m->inputs.s, m->inputs.len);
    sb_appendn(&graph, m->outputs.s, m->outputs.len);
    sb_init(&model);
    pb_int(&model, 1, ir_version);
    pb_string(&model, 2, producer);
    if (version && version[0]) pb_string(&model, 3, version);
    pb_message(&model, 7, &graph);
    sb_init(&set);
    pb_string(&set, 1, "");           /* the default domain, ai.onnx */
    pb_int(&set, 2, opset);
    pb_message(&model, 8, &set);
    sb_appendn(&model, m->meta.s, m->meta.len);

    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(model.s, 1, model.len, f) == model.len;
    int saved = errno;
    if (f && fclose(f) != 0 && ok) { ok = 0; saved = errno; }
    sb_free(&model);
    if (ok) return 0;
    if (f) unlink(path);
    return errf(err, "%s: %s", path, strerror(saved));
}
