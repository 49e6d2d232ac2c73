#!/bin/sh
# The layers of src/ depend on each other one way only: a file may include headers of its own
# folder and of the folders below it in this order, never of one above (README: Design).
cd "$(dirname "$0")/.." || exit 1
order="util kernels formats data nn optim instruments run commands"
rank() { i=0; for d in $order; do [ "$d" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo 99; }
pass=0; fail=0
for dir in src/*/; do
    layer=$(basename "$dir"); mine=$(rank "$layer")
    if [ "$mine" = 99 ]; then fail=$((fail + 1)); echo "FAIL: src/$layer is not a known layer"; continue; fi
    for f in "$dir"*.[ch]; do
        for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
            if [ "$(rank "$inc")" -gt "$mine" ]; then
                fail=$((fail + 1)); echo "FAIL: $f ($layer) includes a header of $inc, a layer above it"
            else
                pass=$((pass + 1))
            fi
        done
    done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
