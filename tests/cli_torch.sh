#!/bin/sh
# Checks against PyTorch itself, when a python3 with torch is installed (Debian's python3-torch;
# the project never needs it): LayerNorm and BatchNorm MLPs trained by ./train and by PyTorch
# from the same initial weights (tests/torch_norm_parity.py), and L-BFGS against
# torch.optim.LBFGS (tests/torch_lbfgs_parity.py). Without torch: a notice, nothing run.
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/cli_torch; rm -rf "$tmp"; mkdir -p "$tmp"
python=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" 2>/dev/null; then python=$p; break; fi
done
if [ -z "$python" ]; then
    echo "notice: no python3 with torch (apt-get install python3-torch): PyTorch parity checks skipped"
    echo "0 passed, 0 failed"
    exit 0
fi
# each script ends with its own "N passed, N failed"; the sum is this script's closing line
out=$("$python" tests/torch_norm_parity.py "${TRAIN_BIN:-./train}" "$tmp"; "$python" tests/torch_lbfgs_parity.py "${TRAIN_BIN:-./train}" "$tmp")
echo "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
pass=0; fail=0
for line in $(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tr ' ' '_'); do
    p=${line%%_passed*}; f=${line#*passed,_}; f=${f%%_failed*}
    pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
