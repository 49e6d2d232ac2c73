#!/bin/sh
# Runs each libFuzzer harness given as argument (build-fuzz/fuzz_NAME) for SECONDS seconds,
# starting from the seed corpus tests/fuzz/corpus/NAME/ (read only) plus what earlier runs
# found (build-fuzz/corpus/NAME/, where new inputs go). A crash, memory error, undefined
# behaviour, leak, failed property, hang (> 10 s) or out-of-memory (> 2 GB) stops that harness;
# its input is saved as build-fuzz/crashes/NAME-crash-<sha1> and the run fails.
# Usage: sh tests/fuzz/run.sh SECONDS build-fuzz/fuzz_NAME...
seconds=${1:?usage: run.sh SECONDS FUZZER...}; shift
out=build-fuzz
failed=""
for bin in "$@"; do
    name=$(basename "$bin"); name=${name#fuzz_}
    mkdir -p "$out/corpus/$name" "$out/crashes"
    dict=""; [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    log="$out/$name.log"
    printf '== fuzz %s: %ss ... ' "$name" "$seconds"
    # libFuzzer's own leak check stays on; ASan's exit code 86 for any report
    ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$name-" $dict "$out/corpus/$name" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
    if [ "$rc" = 0 ]; then
        echo "ok: ${runs:-?} runs, ${cov:-?}"
    else
        echo "FAILED (exit $rc) after ${runs:-?} runs"
        failed="$failed $name"
        # the report: sanitizer or property message, the stack, and the saved input
        awk '/==ERROR|runtime error|^fuzz: |ERROR: libFuzzer/ { p = 1 } /^Shadow bytes/ { p = 0 } p' "$log" | head -n 50
        grep -E '^(artifact_prefix|Test unit written to|Base64:)' "$log"
        echo "   full log: $log"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed (inputs in $out/crashes/; reproduce with $out/fuzz_NAME FILE)"
    exit 1
fi
echo "fuzz: no findings"
