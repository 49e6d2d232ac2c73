#!/bin/sh
# bench/baseline.sh [REV] (part of make bench): B1 and B2 throughput of this tree's ./train
# against the sources at REV, built the same way into bench/out/baseline. REV defaults to
# 8a9cfdf, the last commit before src/ was laid out by layer and the network became a table
# of layer units: the redesign promised to cost no speed, and this row keeps it honest. The
# two binaries run alternately (old, new, old, new), each job's best of two counted, so both
# see the same machine. The last row is the 12-run sweep of make bench, run one after another
# by the sources at REV (the sequential sweep of the day train sweep --jobs was asked for)
# against this tree's default --jobs. Skipped, with a notice, outside a git checkout holding
# REV.
set -e
cd "$(dirname "$0")/.."
rev=${1:-8a9cfdf}
out=bench/out; base=$out/baseline
if ! git rev-parse -q --verify "$rev^{commit}" > /dev/null 2>&1; then
    echo "baseline rows skipped: $rev is not in this checkout"
    exit 0
fi
rm -rf "$base"; mkdir -p "$base"
git archive "$rev" | tar -x -C "$base"
make -C "$base" -s train > "$out/baseline-build.log" 2>&1 ||
    { echo "baseline rows: building $rev failed ($out/baseline-build.log)"; exit 1; }

num() { grep "\"$2\"" "$out/runs/$1/summary.json" | head -n 1 | sed 's/.*: *//; s/,$//'; }
once() {   # once BINARY NAME SIZES BATCH STEPS: samples/s of one AdamW run, batches drawn at random
    "$1" --quiet --runs-dir "$out/runs" --force --run "$2" --model "$3" --batch "$4" --opt adamw \
        --schedule constant --steps "$5" --val 0 --eval-every 0 --ckpt-every 0 --log-every 1000 \
        --sample replace > /dev/null
    num "$2" samples_per_s
}
max() { echo "$1 $2" | awk '{ print ($1 > $2 ? $1 : $2) }'; }

echo
echo "against the sources at $rev (built alike, runs alternated, best of two): samples/s"
printf "%-30s %12s %12s %8s\n" job "at $rev" "now" "ratio"
baseline_job() {   # baseline_job LABEL SIZES BATCH STEPS
    a1=$(once "$base/train" baseline-old "$2" "$3" "$4"); b1=$(once ./train baseline-new "$2" "$3" "$4")
    a2=$(once "$base/train" baseline-old "$2" "$3" "$4"); b2=$(once ./train baseline-new "$2" "$3" "$4")
    a=$(max "$a1" "$a2"); b=$(max "$b1" "$b2")
    printf "%-30s %12.0f %12.0f %7.2fx\n" "$1" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
}
baseline_job "B1 784-256-256-10 b64" 784-256-256-10 64 3000
baseline_job "B2 784-1024-1024-10 b128" 784-1024-1024-10 128 600

# the sweep: old sequential, new default --jobs, old, new; the faster of each
now() { date +%s.%N; }
sweep="--quiet --force --model 784-256-256-10 --epochs 1 --lr 0.001,0.002,0.003 --seed 1,2,3,4"
sweep="$sweep --val 0 --eval-every 0 --ckpt-every 0"
sweep_once() {   # sweep_once BINARY NAME: wall seconds of the 12-run sweep
    t0=$(now); "$1" sweep --runs-dir "$out/runs" --run "$2" $sweep > /dev/null; t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
min() { echo "$1 $2" | awk '{ print ($1 < $2 ? $1 : $2) }'; }
a1=$(sweep_once "$base/train" baseline-sweep-old); b1=$(sweep_once ./train baseline-sweep-new)
a2=$(sweep_once "$base/train" baseline-sweep-old); b2=$(sweep_once ./train baseline-sweep-new)
a=$(min "$a1" "$a2"); b=$(min "$b1" "$b2")
echo "12-run sweep, seconds: sequential at $rev $a, default --jobs now $b: $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"
