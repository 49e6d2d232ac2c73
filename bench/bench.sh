#!/bin/sh
# bench/bench.sh (make bench): train's speed and memory on this machine, against PyTorch
# when Debian's python3-torch is installed. Every figure comes from this one run, so ratios
# compare like with like. Training GFLOP/s count 6 flops per weight per sample (forward 2,
# backward 4: the input gradient and the weight gradient), biases and activations ignored.
set -e
cd "$(dirname "$0")/.."
out=bench/out; mkdir -p "$out"
threads=$(nproc)
cc=${CC:-gcc}
$cc -O2 -march=native -std=c11 -fopenmp -D_GNU_SOURCE -Isrc bench/gemm_peak.c build/kernels/kernels.o \
    build/kernels/gemm_x86.o build/util/util.o -o "$out/gemm_peak" -lm
python=""
if /usr/bin/python3 -c "import torch" 2>/dev/null; then python=/usr/bin/python3; fi

num() { grep "\"$2\"" "$out/runs/$1/summary.json" | head -n 1 | sed 's/.*: *//; s/,$//'; }
run() {   # run NAME FLAGS...: one quiet training run into bench/out/runs/NAME
    name=$1; shift
    ./train --quiet --runs-dir "$out/runs" --force --run "$name" "$@" > /dev/null
}
flops() { echo "$1" | awk -F- '{ s = 0; for (i = 1; i < NF; i++) s += $i * $(i + 1); print 6 * s }'; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $threads cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
peak=$("$out/gemm_peak" 2048 "$threads")
echo "sgemm peak (train's kernels, 2048^3, $threads threads): $peak GFLOP/s"
torch_peak=""
if [ -n "$python" ]; then
    torch_peak=$(OPENBLAS_CORETYPE=SkylakeX $python bench/torch_mlp.py peak 2048 "$threads")
    echo "sgemm peak (PyTorch torch.mm via OpenBLAS SkylakeX kernels, 2048^3, $threads threads): $torch_peak GFLOP/s"
fi
best_peak=$(echo "$peak ${torch_peak:-0}" | awk '{ print ($1 > $2 ? $1 : $2) }')
echo

# PyTorch at its best: 1 or all threads, OpenBLAS's kernels as the environment sets them and
# as the CPU could run them (OPENBLAS_CORETYPE=SkylakeX), denormals kept (its default) or
# flushed (torch.set_flush_denormal, as train's default); the fastest of the eight counts.
torch_best() {
    best=0
    for ct in "${OPENBLAS_CORETYPE:-}" SkylakeX; do
        for th in 1 "$threads"; do
            for fl in keep flush; do
                v=$(OPENBLAS_CORETYPE=$ct OPENBLAS_NUM_THREADS=$th $python bench/torch_mlp.py "$1" "$2" "$3" "$th" "$fl")
                best=$(echo "$v $best" | awk '{ print ($1 > $2 ? $1 : $2) }')
            done
        done
    done
    echo "$best"
}

printf "%-30s %12s %9s %8s %9s %12s %7s\n" job samples/s GFLOP/s "% peak" "RSS MB" "PyTorch s/s" ratio
report() {   # report LABEL RUN SIZES BATCH STEPS: one table row from a finished run
    label=$1; name=$2; sizes=$3; batch=$4; steps=$5
    sps=$(num "$name" samples_per_s); rss=$(num "$name" peak_rss_mb)
    gf=$(awk -v s="$sps" -v f="$(flops "$sizes")" 'BEGIN { printf "%.1f", s * f / 1e9 }')
    pct=$(awk -v g="$gf" -v p="$best_peak" 'BEGIN { printf "%.0f%%", 100 * g / p }')
    tsps="-"; ratio="-"
    if [ -n "$python" ]; then
        tsps=$(torch_best "$sizes" "$batch" $((steps / 2)))
        ratio=$(awk -v a="$sps" -v b="$tsps" 'BEGIN { printf "%.2fx", a / b }')
    fi
    printf "%-30s %12.0f %9s %8s %9.1f %12s %7s\n" "$label" "$sps" "$gf" "$pct" "$rss" "$tsps" "$ratio"
}
bench_job() {   # bench_job LABEL SIZES BATCH STEPS: AdamW at a constant rate, batches drawn at random
    run "$1" --model "$2" --batch "$3" --opt adamw --schedule constant --steps "$4" \
        --val 0 --eval-every 0 --ckpt-every 0 --log-every 1000 --sample replace
    report "$1" "$1" "$2" "$3" "$4"
}
bench_job "B1 784-256-256-10 b64" 784-256-256-10 64 3000
bench_job "B2 784-1024-1024-10 b128" 784-1024-1024-10 128 600
# time to 98% test accuracy, process start to exit (loading, training and the final
# evaluations included), with the recipe documented in the README; its row compares the
# training rate with PyTorch's on the same model and batch
recipe="--model 784-256-256-10 --batch 256 --epochs 3 --lr 1e-2 --schedule onecycle --val 0 --eval-every 0 --ckpt-every 0"
t0=$(date +%s.%N)
run t98 $recipe
t1=$(date +%s.%N)
report "98% recipe 784-256-256-10 b256" t98 784-256-256-10 256 700
echo
echo "time to 98%: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s wall (test accuracy $(num t98 test_acc)); recipe: ./train $recipe"
run default --epochs 1 --ckpt-every 0
echo "default run (784-256-256-10, batch 64): peak RSS $(num default peak_rss_mb) MB; MNIST load $(num default load_seconds) s"
# the curvature instruments on that run's checkpoint: Lanczos for lambda_max (tol 1e-3) and a
# 20-probe trace estimate over the first 4096 training examples
./train curvature "$out/runs/default" --trace --probes 20 > "$out/curvature.txt"
cj="$out/runs/default/curvature.json"
cval() { grep "\"$1\"" "$cj" | head -n 1 | sed 's/.*: *//; s/,$//'; }
echo "curvature (train curvature --trace --probes 20, default model, 4096 examples): $(cval lanczos_steps) Lanczos steps for lambda_max, $(cval hvps) Hessian-vector products in $(cval seconds) s ($(awk -v s="$(cval seconds)" -v h="$(cval hvps)" 'BEGIN { printf "%.3f", s / h }') s each)"
# --log-noise works inside the step (per-example norms of every Linear layer): its cost is
# the drop in training rate of the same run
run default-noise --epochs 1 --ckpt-every 0 --log-noise
echo "--log-noise on the default run: $(num default-noise samples_per_s | cut -d. -f1) samples/s against $(num default samples_per_s | cut -d. -f1) without"
sh bench/mpi.sh
