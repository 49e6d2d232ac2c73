#!/bin/sh
# bench/bench.sh (make bench): train's speed and memory on this machine, against PyTorch at
# its best when Debian's python3-torch is installed. Every figure comes from this one run, so
# ratios compare like with like. Training GFLOP/s count 6 flops per weight per sample
# (forward 2, backward 4: the input gradient and the weight gradient; the first layer's input
# gradient is not computed, by train or PyTorch, but counted), biases and activations ignored.
set -e
cd "$(dirname "$0")/.."
out=bench/out; mkdir -p "$out"
threads=$(nproc)
cc=${CC:-gcc}
for tool in gemm_peak gemm_layers; do
    $cc -O2 -march=native -std=c11 -fopenmp -D_GNU_SOURCE -Isrc "bench/$tool.c" build/kernels/*.o \
        build/util/util.o -o "$out/$tool" -lm
done
python=""
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    python=/usr/bin/python3
else
    echo "note: python3-torch is not installed, so the PyTorch columns are skipped"
    echo "      (apt-get install python3-torch libopenblas0-pthread to include them)"
fi

num() { grep "\"$2\"" "$out/runs/$1/summary.json" | head -n 1 | sed 's/.*: *//; s/,$//'; }
run() {   # run NAME FLAGS...: one quiet training run into bench/out/runs/NAME
    name=$1; shift
    ./train --quiet --runs-dir "$out/runs" --force --run "$name" "$@" > /dev/null
}
flops() { echo "$1" | awk -F- '{ s = 0; for (i = 1; i < NF; i++) s += $i * $(i + 1); print 6 * s }'; }
max() { echo "$1 $2" | awk '{ print ($1 > $2 ? $1 : $2) }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only as good as the machine is quiet)"
model=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
isa=""
for f in avx2 avx512f avx512_bf16 amx_tile amx_bf16; do
    grep -m1 '^flags' /proc/cpuinfo | grep -qw "$f" && isa="$isa $f"
done
echo "machine: $model, $threads cores;$isa;" \
    "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} in the environment"
echo "train's GEMM kernels: $("$out/gemm_peak" paths)"
peak=$("$out/gemm_peak" 2048 "$threads" 10)
bf16_peak=$("$out/gemm_peak" 2048 "$threads" 5 bf16)
echo "sgemm peak (train's kernels, 2048^3, $threads threads): $peak GFLOP/s; sgemm_bf16: $bf16_peak GFLOP/s"

# PyTorch at its best: every OpenBLAS core type (its own choice, unset; SkylakeX; Haswell;
# the environment's) and OpenBLAS thread count, and within each process every torch thread
# count and denormals kept (PyTorch's default) or flushed (torch.set_flush_denormal, as
# train's default). OpenBLAS reads its settings when it loads, hence a process per pair.
coretypes="unset SkylakeX Haswell"
case " $coretypes " in
    *" ${OPENBLAS_CORETYPE:-unset} "*) ;;
    *) coretypes="$coretypes $OPENBLAS_CORETYPE" ;;
esac
with_coretype() {   # with_coretype CT CMD...: CMD under OPENBLAS_CORETYPE=CT, or without it
    ct=$1; shift
    if [ "$ct" = unset ]; then env -u OPENBLAS_CORETYPE "$@"; else env OPENBLAS_CORETYPE="$ct" "$@"; fi
}
torch_peak=0
if [ -n "$python" ]; then
    for ct in $coretypes; do
        p=$(with_coretype "$ct" env OPENBLAS_NUM_THREADS="$threads" $python bench/torch_mlp.py peak 2048 "$threads")
        torch_peak=$(max "$p" "$torch_peak")
    done
    echo "sgemm peak (PyTorch torch.mm through OpenBLAS, 2048^3, $threads threads, best core type): $torch_peak GFLOP/s"
    : > "$out/torch.txt"
    for ct in $coretypes; do
        for bt in $(seq 1 "$threads"); do
            jobs="B1:784-256-256-10:64:1000 B2:784-1024-1024-10:128:160 R98:784-128-128-10:64:1000:bn"
            # autocast runs its matrix products in oneDNN, not OpenBLAS: one core type will do
            [ "$ct" = unset ] && jobs="$jobs B1bf16:784-256-256-10:64:1000:bf16 B2bf16:784-1024-1024-10:128:160:bf16 R98bf16:784-128-128-10:64:1000:bf16:bn"
            with_coretype "$ct" env OPENBLAS_NUM_THREADS="$bt" $python bench/torch_mlp.py grid "$threads" $jobs |
                sed "s/^/$ct $bt /" >> "$out/torch.txt"
        done
    done
fi
best_peak=$(max "$peak" "$torch_peak")
echo

torch_best() {   # torch_best JOB: "SAMPLES/S SETTING" of PyTorch's fastest setting for JOB, or "-"
    awk -v j="$1" '$3 == j && $6 > best { best = $6; s = "torch threads " $4 ", OpenBLAS threads " $2 \
        ", OPENBLAS_CORETYPE " $1 ", denormals " $5 } END { if (best) print best, s; else print "-" }' \
        "$out/torch.txt" 2>/dev/null || echo "-"
}
settings=""
printf "%-30s %12s %9s %8s %9s %12s %7s\n" job samples/s GFLOP/s "% peak" "RSS MB" "PyTorch s/s" ratio
report() {   # report LABEL RUN SIZES TORCH_JOB [PEAK]: one table row from a finished run
    label=$1; name=$2; sizes=$3
    sps=$(num "$name" samples_per_s); rss=$(num "$name" peak_rss_mb)
    gf=$(awk -v s="$sps" -v f="$(flops "$sizes")" 'BEGIN { printf "%.1f", s * f / 1e9 }')
    pct=$(awk -v g="$gf" -v p="${5:-$best_peak}" 'BEGIN { printf "%.0f%%", 100 * g / p }')
    best=$(torch_best "$4"); tsps=${best%% *}; ratio="-"
    if [ "$tsps" != "-" ]; then
        ratio=$(awk -v a="$sps" -v b="$tsps" 'BEGIN { printf "%.2fx", a / b }')
        settings="$settings
  $label: ${best#* }"
    fi
    printf "%-30s %12.0f %9s %8s %9.1f %12s %7s\n" "$label" "$sps" "$gf" "$pct" "$rss" "$tsps" "$ratio"
}
# bench_job LABEL SIZES BATCH STEPS TORCH_JOB [FLAGS...]: AdamW at a constant rate, batches drawn at
# random; the faster of two runs (each PyTorch setting gets the faster of two timed halves).
# % peak is of the sgemm peak, for bf16 rows of the sgemm_bf16 peak.
bench_job() {   # (FLAGS... after TORCH_JOB go to the runs)
    label=$1; sizes=$2; batch=$3; steps=$4; tjob=$5; shift 5
    for i in 1 2; do
        run "$label-$i" --model "$sizes" --batch "$batch" --opt adamw --schedule constant \
            --steps "$steps" --val 0 --eval-every 0 --ckpt-every 0 --log-every 1000 --sample replace "$@"
    done
    peak_of_row=$best_peak
    case "$*" in *bf16*) peak_of_row=$bf16_peak ;; esac
    faster=$(awk -v a="$(num "$label-1" samples_per_s)" -v b="$(num "$label-2" samples_per_s)" \
        'BEGIN { print (a >= b ? 1 : 2) }')
    report "$label" "$label-$faster" "$sizes" "$tjob" "$peak_of_row"
}
bench_job "B1 784-256-256-10 b64" 784-256-256-10 64 3000 B1
bench_job "B2 784-1024-1024-10 b128" 784-1024-1024-10 128 600 B2
# the same jobs with --precision bf16, against PyTorch's best under bf16 autocast
bench_job "B1 bf16" 784-256-256-10 64 3000 B1bf16 --precision bf16
bench_job "B2 bf16" 784-1024-1024-10 128 600 B2bf16 --precision bf16
# time to 98% test accuracy, process start to exit (loading, training and the final
# evaluations of the training and test sets included), with the recipe documented in the
# README, the fastest of five runs (one busy moment on a 2-core machine costs a run far
# more than its share); its rows (from that fastest run) compare the training rate with
# PyTorch's on the same model and batch. In bf16 too where the CPU has AVX512-BF16.
recipe="--model 784-128-128-10 --norm batch --batch 64 --epochs 2 --lr 7e-3 --schedule linear --warmup 100 --label-smoothing 0.1 --val 0 --eval-every 0 --ckpt-every 0"
t98() {   # t98 NAME FLAGS...: five runs NAME-1..5; prints "FASTEST_RUN SECONDS..."
    t98_base=$1; shift
    t98_best=""; t98_best_s=""; t98_all=""
    for i in 1 2 3 4 5; do
        t0=$(now); run "$t98_base-$i" $recipe "$@"; t1=$(now)
        t98_s=$(elapsed "$t0" "$t1"); t98_all="$t98_all $t98_s"
        if [ -z "$t98_best_s" ] || awk -v a="$t98_s" -v b="$t98_best_s" 'BEGIN { exit !(a < b) }'; then
            t98_best="$t98_base-$i"; t98_best_s=$t98_s
        fi
    done
    echo "$t98_best$t98_all"
}
set -- $(t98 t98); t98_run=$1; shift; times98="$*"
report "98% recipe 784-128-128-10 bn" "$t98_run" 784-128-128-10 R98
times98bf16=""
if "$out/gemm_peak" paths | grep -q avx512bf16; then
    set -- $(t98 t98bf16 --precision bf16); t98bf16_run=$1; shift; times98bf16="$*"
    report "98% recipe bf16" "$t98bf16_run" 784-128-128-10 R98bf16 "$bf16_peak"
fi
fastest() { echo "$1" | tr ' ' '\n' | grep . | sort -n | head -n 1; }
[ -n "$settings" ] && echo "PyTorch's best setting per row:$settings"
echo
echo "time to 98%: $(fastest "$times98") s wall, the fastest of $times98 (test accuracy $(num "$t98_run" test_acc)); recipe: ./train $recipe"
[ -n "$times98bf16" ] && echo "time to 98% with --precision bf16: $(fastest "$times98bf16") s wall, the fastest of $times98bf16 (test accuracy $(num "$t98bf16_run" test_acc))"
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
# the pair twice, alternated, the faster of each (a busy moment on one run is no cost)
run default-noise --epochs 1 --ckpt-every 0 --log-noise
run default-2 --epochs 1 --ckpt-every 0
run default-noise-2 --epochs 1 --ckpt-every 0 --log-noise
plain=$(for r in default default-2; do num "$r" samples_per_s; done | sort -g | tail -n 1)
noise=$(for r in default-noise default-noise-2; do num "$r" samples_per_s; done | sort -g | tail -n 1)
echo "--log-noise on the default run: ${noise%%.*} samples/s against ${plain%%.*} without (the faster of two runs each, alternated)"
sh bench/mpi.sh

# bf16: the training rows against our float rows and PyTorch's best float and bf16 autocast;
# the default recipe's test accuracy in both precisions; the GEMMs of one step alone
echo
bf16_kernel=$("$out/gemm_peak" paths | sed 's/.*bf16 //')
faster_of() { for i in 1 2; do num "$1-$i" samples_per_s; done | sort -g | tail -n 1; }
for j in "B1 784-256-256-10 b64" "B2 784-1024-1024-10 b128"; do
    f=$(faster_of "$j"); j=${j%% *}; b=$(faster_of "$j bf16")
    tf=$(torch_best "$j"); tb=$(torch_best "${j}bf16")
    echo "$j --precision bf16 ($bf16_kernel kernel): $(printf %.0f "$b") samples/s = $(awk -v a="$b" -v c="$f" 'BEGIN { printf "%.2fx", a / c }') our float" \
        "$( [ "${tf%% *}" != - ] && awk -v a="$b" -v c="${tf%% *}" -v d="${tb%% *}" 'BEGIN { printf "= %.2fx PyTorch'"'"'s best float, %.2fx its best bf16 autocast", a / c, a / d }')"
done
# the same B2 job on one thread: how much of bf16's gain the second core's share of the
# memory traffic (the optimizer's passes, the float weights the packing reads) takes away
if [ "$threads" -gt 1 ]; then
    for p in fp32 bf16; do
        for i in 1 2; do
            run "B2t1-$p-$i" --model 784-1024-1024-10 --batch 128 --opt adamw --schedule constant \
                --steps 300 --val 0 --eval-every 0 --ckpt-every 0 --log-every 1000 --sample replace \
                --threads 1 --precision "$p"
        done
    done
    f=$(faster_of B2t1-fp32); b=$(faster_of B2t1-bf16)
    echo "B2 on 1 thread: float $(printf %.0f "$f") samples/s, bf16 $(printf %.0f "$b"): $(awk -v a="$b" -v c="$f" 'BEGIN { printf "%.2fx", a / c }')"
fi
for p in fp32 bf16; do run "default-$p" --precision "$p" --ckpt-every 0; done
echo "default recipe (10 epochs), test accuracy: fp32 $(num default-fp32 test_acc), bf16 $(num default-bf16 test_acc)" \
    "($(awk -v a="$(num default-fp32 test_acc)" -v b="$(num default-bf16 test_acc)" 'BEGIN { printf "%+.2f", 100 * (b - a) }') points)"
echo "bf16 GEMMs, one training step's products alone, $threads threads (gemm_layers):"
for job in "B1 784-256-256-10 64" "B2 784-1024-1024-10 128"; do
    set -- $job
    f=$("$out/gemm_layers" "$2" "$3" "$threads" | awk '/^total/ { print $2, $3 }')
    b=$("$out/gemm_layers" "$2" "$3" "$threads" bf16 | awk '/^total/ { print $2, $3 }')
    echo "$1 $f $b" | awk '{ printf "  %s: float %.0f us (%.0f GFLOP/s), bf16 %.0f us (%.0f GFLOP/s): %.2fx\n", $1, $2, $3, $4, $5, $2 / $4 }'
done
echo "Linear and ReLU ops of one step, kernels alone, $threads threads (gemm_layers fused): as" \
    "separate calls, and through gemm_run with bias and ReLU in the product's epilogue and the" \
    "backward pair in one call (as the trainer's Linear layers run them):"
for job in "B1 784-256-256-10 64" "B2 784-1024-1024-10 128"; do
    set -- $job
    "$out/gemm_layers" "$2" "$3" "$threads" fused | awk -v j="$1" '{ printf "  %s: separate %.0f us, fused %.0f us: %.2fx\n", j, $2, $4, $2 / $4 }'
done
if [ -n "$python" ]; then
    for j in B1 B2; do
        f=$(torch_best "$j"); b=$(torch_best "${j}bf16")
        echo "PyTorch $j under torch.autocast(\"cpu\", bfloat16): ${b%% *} samples/s (${b#* }), $(awk -v a="${b%% *}" -v c="${f%% *}" 'BEGIN { printf "%.2fx", a / c }') its float best"
    done
fi

# sweeps: 12 runs of the small MLP one after another (each with every core), and as many at
# once as keep the cores busy (train sweep's default --jobs, each run then on cores / jobs)
echo
sweep="--quiet --force --model 784-256-256-10 --epochs 1 --lr 0.001,0.002,0.003 --seed 1,2,3,4"
sweep="$sweep --val 0 --eval-every 0 --ckpt-every 0"
t0=$(now)
./train sweep --runs-dir "$out/runs" --run sweep-seq --jobs 1 $sweep > /dev/null
t1=$(now)
./train sweep --runs-dir "$out/runs" --run sweep-par $sweep > /dev/null
t2=$(now)
seq_s=$(elapsed "$t0" "$t1"); par_s=$(elapsed "$t1" "$t2")
at_once=$((threads < 12 ? threads : 12))
echo "12-run sweep (784-256-256-10, batch 64, 1 epoch each, final evaluations included): --jobs 1 $seq_s s;" \
    "default --jobs ($at_once at once, $((threads / at_once)) thread(s) each) $par_s s: $(awk -v a="$seq_s" -v b="$par_s" 'BEGIN { printf "%.2fx", a / b }')"
sh bench/baseline.sh
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
