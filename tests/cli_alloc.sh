#!/bin/sh
# The step loop allocates nothing: a run of 300 steps makes (almost) no more heap allocations
# than a run of 60 (same flags, no periodic logging, evaluation or checkpoints in between),
# counted by an LD_PRELOAD shim (tests/alloc_count.c). One allocation per step would add 240;
# the few allowed are the end's output growing with the step numbers it prints (a chart's
# tick labels). Threaded (2 threads) and not, with dropout and accumulation, so every buffer
# of the step is exercised.
cd "$(dirname "$0")/.." || exit 1
train="${TRAIN_BIN:-./train}"
pass=0; fail=0
tmp=tests/tmp/cli_alloc; rm -rf "$tmp"; mkdir -p "$tmp"
${CC:-cc} -shared -fPIC -O2 tests/alloc_count.c -o "$tmp/alloc_count.so" -ldl || { echo "0 passed, 1 failed"; exit 1; }
case "$train" in *asan*|*san*) echo "allocation count skipped under sanitizers (they allocate on their own)"; echo "0 passed, 0 failed"; exit 0;; esac

count() {   # count STEPS THREADS: allocations of a whole run
    rm -rf "$tmp/runs"
    ALLOC_COUNT_FILE="$tmp/count" LD_PRELOAD="$PWD/$tmp/alloc_count.so" "$train" --quiet \
        --runs-dir "$tmp/runs" --force --run r --subset 2000 --val 500 --model 784-128-64-10 \
        --batch 50 --accum 2 --dropout 0.1 --steps "$1" --threads "$2" --eval-every 0 \
        --log-every 100000 --ckpt-every 0 >/dev/null 2>&1 || { echo "run failed"; return; }
    cat "$tmp/count"
}
for threads in 1 2; do
    a=$(count 60 $threads); b=$(count 300 $threads)
    if [ -n "$a" ] && [ -n "$b" ] && [ "$b" -ge "$a" ] && [ $((b - a)) -le 4 ]; then pass=$((pass + 1))
    else fail=$((fail + 1)); echo "FAIL: threads $threads: 60 steps made $a allocations, 300 steps $b"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
