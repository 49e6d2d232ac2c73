/* onnx.h: writing ONNX models (onnx.proto, protobuf wire format written by hand: no
 * library). A model is built up as a graph of nodes over named values, with float tensors as
 * initializers, one input and the outputs as float matrices [N, width] (N free), and string
 * metadata; onnx_write serialises it as a ModelProto:
 *   ModelProto        1 ir_version, 2 producer_name, 3 producer_version, 6 doc_string,
 *                     7 graph, 8 opset_import, 14 metadata_props
 *   GraphProto        1 node, 2 name, 5 initializer, 10 doc_string, 11 input, 12 output
 *   NodeProto         1 input, 2 output, 3 name, 4 op_type, 5 attribute
 *   AttributeProto    1 name, 2 f (float), 3 i (int64), 20 type (1 FLOAT, 2 INT)
 *   TensorProto       1 dims, 2 data_type (1 FLOAT), 8 name, 9 raw_data (little-endian)
 *   ValueInfoProto    1 name, 2 type -> TypeProto 1 tensor_type -> 1 elem_type, 2 shape ->
 *                     TensorShapeProto 1 dim -> 1 dim_value | 2 dim_param
 *   OperatorSetIdProto 1 domain, 2 version;  StringStringEntryProto 1 key, 2 value */
#ifndef FORMATS_ONNX_H
#define FORMATS_ONNX_H

#include "formats/json.h"

#include <stdint.h>

typedef enum { ONNX_FLOAT = 1, ONNX_INT = 2 } OnnxAttrType;

typedef struct {
    const char *name;
    OnnxAttrType type;
    double f;               /* ONNX_FLOAT (stored as a float) */
    long i;                 /* ONNX_INT */
} OnnxAttr;

typedef struct {
    StrBuf nodes, initializers, inputs, outputs, meta;   /* encoded repeated fields */
} OnnxModel;

void onnx_init(OnnxModel *m);
void onnx_free(OnnxModel *m);
/* A float tensor of ndim dims (0: a scalar) holding prod(dims) values. */
void onnx_initializer(OnnxModel *m, const char *name, int ndim, const int64_t *dims, const float *data);
/* A node: op_type (e.g. "Gemm"), its name, its inputs and its one output. */
void onnx_node(OnnxModel *m, const char *op, const char *name, const char *const *inputs, int n_inputs,
               const char *output, const OnnxAttr *attrs, int n_attrs);
/* The graph's input or an output: a float matrix [N, width], N named "N" and left free. */
void onnx_input(OnnxModel *m, const char *name, long width);
void onnx_output(OnnxModel *m, const char *name, long width);
void onnx_metadata(OnnxModel *m, const char *key, const char *value);
/* Writes the model (IR version ir_version, the default domain at opset `opset`) to path.
 * Returns 0, or -1 with err = "<path>: <why>" (no partial file is left). */
int onnx_write(const OnnxModel *m, const char *path, const char *graph_name, const char *doc,
               long ir_version, long opset, const char *producer, const char *version, char *err);

#endif
