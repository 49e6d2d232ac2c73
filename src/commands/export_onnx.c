/* export_onnx.c: `train export --onnx FILE --ckpt FILE|RUN_DIR`: the trained network as an
 * ONNX model (opset 17), for inference elsewhere.
 *
 * The graph takes "image", a float [N, pixels] matrix scaled as in training (pixel / 255, row
 * by row), and gives "probabilities" (Softmax over the classes) and "logits". Each module of
 * the nn.Sequential becomes:
 *   Linear          Gemm(x, W, b), transB = 1 (W is [out, in], as stored)
 *   ReLU, Tanh, Sigmoid   the operator of the same name
 *   GELU            0.5 x (1 + Erf(x / sqrt 2)): the exact GELU, in operators of opset 13
 *                   (the Gelu operator itself needs opset 20)
 *   LayerNorm       LayerNormalization(x, weight, bias), axis -1, its epsilon (opset 17)
 *   BatchNorm1d     BatchNormalization(x, weight, bias, running_mean, running_var), its
 *                   epsilon: the inference form, with the running statistics
 *   Dropout         nothing (the identity at inference)
 * Initializers keep the checkpoint's tensor names ("0.weight", "1.running_mean", ...); the
 * metadata holds the class names, the image size and background, and the model. */
#include "commands/export_onnx.h"
#include "formats/onnx.h"
#include "nn/layers.h"
#include "run/weights.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

#define ONNX_OPSET 17          /* LayerNormalization is new in 17 */
#define ONNX_IR_VERSION 8      /* the IR version of opset 17 (onnx 1.12) */

/* The initializer of the node's k-th tensor, under its checkpoint name. */
static const char *tensor(OnnxModel *m, const Net *n, const Node *node, int k) {
    const NetTensor *t = &n->tensors[node->t0 + k];
    int64_t dims[2] = {t->shape[0], t->shape[1]};
    onnx_initializer(m, t->name, t->ndim, dims, net_tensor_data(n, t));
    return t->name;
}

/* 0.5 x (1 + erf(x / sqrt 2)) as five nodes; the constants are added once. */
static void gelu(OnnxModel *m, const char *x, const char *out, int module, int *constants) {
    if (!*constants) {
        float sqrt2 = 1.41421356237309504880f, one = 1, half = 0.5f;
        onnx_initializer(m, "gelu.sqrt2", 0, NULL, &sqrt2);
        onnx_initializer(m, "gelu.one", 0, NULL, &one);
        onnx_initializer(m, "gelu.half", 0, NULL, &half);
        *constants = 1;
    }
    char v[4][48], name[5][48];
    static const char *const step[5] = {"Div", "Erf", "Add", "Mul", "Mul_half"};
    for (int i = 0; i < 4; i++) snprintf(v[i], sizeof v[i], "%d.gelu.%d", module, i);
    for (int i = 0; i < 5; i++) snprintf(name[i], sizeof name[i], "%d.%s", module, step[i]);
    const char *div[] = {x, "gelu.sqrt2"}, *erf[] = {v[0]}, *add[] = {v[1], "gelu.one"};
    const char *mul[] = {x, v[2]}, *half[] = {v[3], "gelu.half"};
    onnx_node(m, "Div", name[0], div, 2, v[0], NULL, 0);
    onnx_node(m, "Erf", name[1], erf, 1, v[1], NULL, 0);
    onnx_node(m, "Add", name[2], add, 2, v[2], NULL, 0);
    onnx_node(m, "Mul", name[3], mul, 2, v[3], NULL, 0);
    onnx_node(m, "Mul", name[4], half, 2, out, NULL, 0);
}

/* The network's modules as ONNX nodes, from "image" to "logits". */
static void build_graph(OnnxModel *m, const Net *n) {
    int last = -1;   /* the last module that computes something: its output is "logits" */
    for (int i = 0; i < n->n_nodes; i++)
        if (!layer_is_loss(n->nodes[i].kind) && n->nodes[i].kind != LAYER_DROPOUT) last = i;
    char prev[48] = "image", out[48];
    int constants = 0;
    for (int i = 0; i <= last; i++) {
        const Node *node = &n->nodes[i];
        if (node->kind == LAYER_DROPOUT) continue;
        char name[48];
        snprintf(out, sizeof out, i == last ? "logits" : "%d", node->module);
        snprintf(name, sizeof name, "%d.%s", node->module, layer_table[node->kind]->torch);
        switch (node->kind) {
        case LAYER_LINEAR: {
            const char *in[] = {prev, tensor(m, n, node, 0), tensor(m, n, node, 1)};
            OnnxAttr trans_b = {"transB", ONNX_INT, 0, 1};
            onnx_node(m, "Gemm", name, in, 3, out, &trans_b, 1);
            break;
        }
        case LAYER_RELU: case LAYER_TANH: case LAYER_SIGMOID: {
            const char *in[] = {prev};
            const char *op = node->kind == LAYER_RELU ? "Relu" : node->kind == LAYER_TANH ? "Tanh" : "Sigmoid";
            onnx_node(m, op, name, in, 1, out, NULL, 0);
            break;
        }
        case LAYER_GELU:
            gelu(m, prev, out, node->module, &constants);
            break;
        case LAYER_LAYERNORM: {
            const char *in[] = {prev, tensor(m, n, node, 0), tensor(m, n, node, 1)};
            OnnxAttr a[2] = {{"axis", ONNX_INT, 0, -1}, {"epsilon", ONNX_FLOAT, node->arg, 0}};
            onnx_node(m, "LayerNormalization", name, in, 3, out, a, 2);
            break;
        }
        case LAYER_BATCHNORM: {
            /* tensors: weight, bias, running_mean, running_var (num_batches_tracked unused);
             * ONNX's momentum is PyTorch's 1 - momentum (unused at inference) */
            const char *in[] = {prev, tensor(m, n, node, 0), tensor(m, n, node, 1), tensor(m, n, node, 2),
                                tensor(m, n, node, 3)};
            OnnxAttr a[2] = {{"epsilon", ONNX_FLOAT, node->arg, 0}, {"momentum", ONNX_FLOAT, 0.9, 0}};
            onnx_node(m, "BatchNormalization", name, in, 5, out, a, 2);
            break;
        }
        default:
            fatal(EXIT_FAIL, "export: no ONNX form for a %s layer", layer_table[node->kind]->name);
        }
        snprintf(prev, sizeof prev, "%s", out);
    }
    const char *in[] = {"logits"};
    OnnxAttr axis = {"axis", ONNX_INT, 0, -1};
    onnx_node(m, "Softmax", "softmax", in, 1, "probabilities", &axis, 1);
}

int cmd_export(int argc, char **argv) {
    Config flags;
    config_defaults(&flags);
    config_parse_args(&flags, argc, argv, 1, NULL, NULL);
    config_check_reads(&flags, "train export", "--onnx --ckpt --quiet --model --act --norm --dropout "
                       "--loss --label-smoothing", NULL);
    if (!flags.onnx[0]) fatal(EXIT_USAGE, "export: --onnx FILE is required (the only format)");
    Weights w;
    weights_open(&w, &flags, "export");
    Net n;
    weights_build_net(&w, &n, 1);

    OnnxModel m;
    onnx_init(&m);
    onnx_input(&m, "image", net_input_dim(&n));
    build_graph(&m, &n);
    onnx_output(&m, "probabilities", net_output_dim(&n));
    onnx_output(&m, "logits", net_output_dim(&n));
    char input[160];
    snprintf(input, sizeof input, "image: float32 [N, %d], each pixel / 255 (0 black, 1 white), row by row%s%s",
             net_input_dim(&n), w.c.image_size[0] ? " of " : "", w.c.image_size);
    onnx_metadata(&m, "input", input);
    onnx_metadata(&m, "model", w.c.model);
    if (w.c.classes[0]) onnx_metadata(&m, "classes", w.c.classes);
    if (w.c.image_size[0]) onnx_metadata(&m, "image_size", w.c.image_size);
    if (w.c.background[0]) onnx_metadata(&m, "background", w.c.background);
    char err[ERR_LEN];
    if (onnx_write(&m, flags.onnx, "train", "an MLP trained by train: image -> probabilities, logits",
                   ONNX_IR_VERSION, ONNX_OPSET, "train", NULL, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    if (!flags.quiet)
        fprintf(stderr, "train: wrote %s (ONNX opset %d): image [N, %d] -> probabilities [N, %d], from %s\n",
                flags.onnx, ONNX_OPSET, net_input_dim(&n), net_output_dim(&n), w.path);
    onnx_free(&m);
    net_free(&n);
    weights_close(&w);
    return 0;
}
