#!/bin/sh
# `train export --onnx` checked by the onnx package itself, when a python3 with onnx is
# installed (Debian's python3-onnx; the project never needs it): MLPs with each activation,
# with and without LayerNorm and BatchNorm (and dropout, and a list-form model mixing them),
# exported and run on the MNIST test set by tests/onnx_check.py, which must give train's
# predictions image by image and train eval's accuracy. Without onnx: a notice, nothing run.
cd "$(dirname "$0")/.." || exit 1
train="${TRAIN_BIN:-./train}"
tmp=tests/tmp/cli_onnx; rm -rf "$tmp"; mkdir -p "$tmp"
python=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import onnx, numpy" 2>/dev/null; then python=$p; break; fi
done
if [ -z "$python" ]; then
    echo "notice: no python3 with onnx (apt-get install python3-onnx): ONNX export checks skipped"
    echo "0 passed, 0 failed"
    exit 0
fi
fail=0
"$train" export-images --out "$tmp/png" --split test --quiet || fail=1
find "$tmp/png/test" -name '*.png' | sort > "$tmp/list"
names=""
# case NAME FLAGS...: a short run, its ONNX export, train predict on the PNGs, train eval
case_() {
    name=$1; shift
    names="$names $name"
    "$train" --quiet --runs-dir "$tmp/runs" --run "$name" --steps 300 --lr 3e-3 --threads 1 "$@" > /dev/null &&
    "$train" export --quiet --onnx "$tmp/$name.onnx" --ckpt "$tmp/runs/$name" &&
    "$train" predict --ckpt "$tmp/runs/$name" --top 1 - < "$tmp/list" > "$tmp/$name.pred" &&
    "$train" eval --ckpt "$tmp/runs/$name" > "$tmp/$name.eval" || { echo "FAIL: case $name"; fail=1; }
}
case_ relu --model 784-64-32-10 --act relu
case_ tanh --model 784-64-32-10 --act tanh
case_ sigmoid --model 784-64-32-10 --act sigmoid
case_ gelu --model 784-64-32-10 --act gelu
case_ layernorm --model 784-64-32-10 --norm layer --act relu --dropout 0.1
case_ batchnorm --model 784-64-32-10 --norm batch --act gelu
case_ mixed --model "linear 48, batchnorm, tanh, dropout 0.2, linear 32, layernorm, sigmoid, linear 10" --loss mse
[ "$fail" = 0 ] || { echo "0 passed, 1 failed"; exit 1; }
"$python" tests/onnx_check.py data/mnist "$tmp" $names
