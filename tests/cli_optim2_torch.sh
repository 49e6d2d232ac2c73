#!/bin/sh
# Adadelta against torch.optim.Adadelta (tests/torch_optim2_parity.py), when a python3 with
# torch is installed (Debian's python3-torch; the project never needs it). Without torch: a
# notice, nothing run.
cd "$(dirname "$0")/.." || exit 1
tmp=tests/tmp/cli_optim2_torch; rm -rf "$tmp"; mkdir -p "$tmp"
for p in python3 /usr/bin/python3 none; do
    [ "$p" != none ] && command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" 2>/dev/null && break
done
if [ "$p" = none ]; then
    echo "notice: no python3 with torch (apt-get install python3-torch): Adadelta parity check skipped"
    echo "0 passed, 0 failed"
    exit 0
fi
"$p" tests/torch_optim2_parity.py "${TRAIN_BIN:-./train}" "$tmp"
