#!/bin/sh
# Runs every test binary given as argument, then the shell test scripts tests/cli_*.sh,
# and sums their closing lines "N passed, N failed" into one closing line.
total_pass=0; total_fail=0; broken=""
run_one() {
    name=$1; shift
    echo "== $name"
    out=$("$@" 2>&1); rc=$?
    echo "$out" | grep -v '^ok   ' 
    line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        broken="$broken $name"; total_fail=$((total_fail + 1)); return
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then broken="$broken $name"; total_fail=$((total_fail + 1)); fi
}
for t in "$@"; do run_one "$(basename "$t")" "$t"; done
for s in tests/cli_*.sh; do [ -f "$s" ] && run_one "$(basename "$s")" sh "$s"; done
[ -n "$broken" ] && echo "crashed or no closing line:$broken"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
