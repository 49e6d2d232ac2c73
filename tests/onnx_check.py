"""ONNX models written by `train export`, checked with the onnx package (Debian's python3-onnx):
onnx.checker (full check, with shape inference) must accept each, and evaluated on the MNIST
test set each must give, image by image, the class `train predict` gave for that image's PNG
(and its probability, as printed), and the accuracy `train eval` reports.

The evaluator is onnx's reference evaluator (onnx.reference.ReferenceEvaluator, onnx >= 1.13).
onnx 1.12 (Debian 12) has none; the graph is then run node by node with the reference
implementations onnx itself uses to generate its operator conformance tests
(onnx/backend/test/case/node/: gemm_reference_implementation, _layer_normalization,
_batchnorm_test_mode, softmax, and np.vectorize(math.erf) for Erf).

usage: onnx_check.py IDX_DIR CASE_DIR NAME...   (CASE_DIR/NAME.onnx, NAME.pred, NAME.eval)
Prints one line per model, then "N passed, N failed"."""
import math
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xff
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def conformance_evaluator(model):
    """Runs the graph with onnx's own per-operator reference implementations."""
    from onnx.backend.test.case.node.batchnorm import _batchnorm_test_mode
    from onnx.backend.test.case.node.gemm import gemm_reference_implementation
    from onnx.backend.test.case.node.layernormalization import _layer_normalization
    from onnx.backend.test.case.node.softmax import softmax

    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def run(image):
        values = dict(init)
        values[model.graph.input[0].name] = image
        for node in model.graph.node:
            x = [values[name] for name in node.input]
            a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
            op = node.op_type
            if op == "Gemm":
                y = gemm_reference_implementation(x[0], x[1], x[2], a.get("alpha", 1.0), a.get("beta", 1.0),
                                                  a.get("transA", 0), a.get("transB", 0))
            elif op == "Relu":
                y = np.clip(x[0], 0, np.inf)
            elif op == "Tanh":
                y = np.tanh(x[0])
            elif op == "Sigmoid":
                y = 1.0 / (1.0 + np.exp(np.negative(x[0])))
            elif op == "Erf":
                y = np.vectorize(math.erf)(x[0])
            elif op == "Div":
                y = x[0] / x[1]
            elif op == "Mul":
                y = x[0] * x[1]
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "LayerNormalization":
                y = _layer_normalization(x[0], x[1], x[2], a.get("axis", -1), a.get("epsilon", 1e-5))[0]
            elif op == "BatchNormalization":
                y = _batchnorm_test_mode(x[0], x[1], x[2], x[3], x[4], a.get("epsilon", 1e-5))
            elif op == "Softmax":
                y = softmax(x[0], a.get("axis", -1))
            else:
                raise ValueError("operator %s not covered" % op)
            values[node.output[0]] = np.asarray(y, dtype=np.float32)
        return [values[o.name] for o in model.graph.output]
    return run


def evaluator(model):
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        return conformance_evaluator(model), "onnx %s's operator reference implementations" % onnx.__version__
    ref = ReferenceEvaluator(model)
    names = [o.name for o in model.graph.output]
    return (lambda image: ref.run(names, {model.graph.input[0].name: image})), \
        "onnx %s's ReferenceEvaluator" % onnx.__version__


def main():
    idx_dir, case_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    images = read_idx(os.path.join(idx_dir, "t10k-images-idx3-ubyte"))
    labels = read_idx(os.path.join(idx_dir, "t10k-labels-idx1-ubyte"))
    # the input as in training: pixel / 255 (a float32 division), row by row
    x = (images.reshape(len(images), -1).astype(np.float32) / np.float32(255))
    passed = failed = 0
    for name in names:
        model = onnx.load(os.path.join(case_dir, name + ".onnx"))
        onnx.checker.check_model(model, full_check=True)
        run, how = evaluator(model)
        probs, logits = run(x)
        onnx_top = probs.argmax(axis=1)
        # train predict's lines (probabilities as percentages with two decimals: within 5e-5): "DIR/test/<label>/<index>.png: <class> (<p>%)"
        train_top = np.full(len(x), -1)
        train_p = np.zeros(len(x))
        with open(os.path.join(case_dir, name + ".pred")) as f:
            for line in f:
                path, rest = line.rsplit(": ", 1)
                index = int(os.path.basename(path)[:-4])
                cls, p = rest.split(" (")
                train_top[index] = int(cls)
                train_p[index] = float(p.rstrip("%)\n")) / 100
        with open(os.path.join(case_dir, name + ".eval")) as f:
            eval_acc = float([l.split()[1] for l in f if l.startswith("test_acc ")][0])
        agree = int((onnx_top == train_top).sum())
        p_err = float(np.abs(probs[np.arange(len(x)), onnx_top] - train_p).max())
        acc = float((onnx_top == labels).mean())
        ok = agree == len(x) and p_err <= 5e-5 + 1e-6 and abs(acc - eval_acc) <= 5e-5
        print("%s %-10s %d/%d predictions as train predict, top probability within %.1e, accuracy %.4f "
              "(train eval %.4f) [%s]" % ("ok  " if ok else "FAIL", name, agree, len(x), p_err, acc,
                                          eval_acc, how))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
