#!/bin/sh
# bench/optimizers.sh: every optimizer `train optimizers` lists, on the default recipe with its
# own defaults, then README's sweep table (Markdown) on stdout.
#   sh bench/optimizers.sh [DIR]        runs go to DIR (default runs/optimizers), which must not exist
# The default recipe (784-256-256-10, batch 64, 10 epochs, each optimizer's lr, wd, schedule)
# plus validation every 100 steps, for the steps to 97%. lbfgs cannot afford 8,600 steps of
# 20 iterations with a 100-pair history; it runs full-batch for 20 steps (400 iterations).
# One thread per run: on a machine shared with other work, two OpenMP threads wait on each
# other at every barrier; the bits are the same for any thread count.
set -e
cd "$(dirname "$0")/.."
dir=${1:-runs/optimizers}
every=100
lbfgs_steps=20
[ -e "$dir" ] && { echo "train: $dir: exists; give another directory" >&2; exit 2; }
mkdir -p "$(dirname "$dir")"

./train optimizers > "$dir.optimizers.txt" 2>/dev/null || { mkdir -p "$dir"; exit 1; }
opts=$(awk '/^  [a-z]/ { print $1 }' "$dir.optimizers.txt" | grep -v '^lbfgs$' | paste -sd, -)
./train sweep --quiet --runs-dir "$(dirname "$dir")" --run "$(basename "$dir")" --opt "$opts" \
    --eval-every $every --threads 1 > /dev/null
./train --quiet --runs-dir "$dir" --run opt-lbfgs --opt lbfgs --batch full --steps $lbfgs_steps \
    --eval-every 1 --threads 1 > /dev/null
mv "$dir.optimizers.txt" "$dir/optimizers.txt"

num() { grep "\"$2\"" "$1/summary.json" | head -n 1 | sed 's/.*: *//; s/,$//'; }
echo "| \`--opt\` | lr | test acc | val acc | steps to 97% val | state per parameter (784-256-256-10) | samples/s |"
echo "|---|---|---|---|---|---|---|"
for o in $(awk '/^  [a-z]/ { print $1 }' "$dir/optimizers.txt"); do
    r="$dir/opt-$o"
    lr=$(grep '"lr"' "$r/config.json" | head -n 1 | sed 's/.*: *//; s/,$//')
    acc=$(num "$r" test_acc); val=$(num "$r" val_acc); sps=$(num "$r" samples_per_s)
    steps=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_acc") c = i; next }
                     $c != "" && $c >= 0.97 { print $1; found = 1; exit }
                     END { if (!found) print "not reached" }' "$r/log.csv")
    mem=$(awk -v o="$o" '/^  [a-z]/ { cur = $1 } /state:/ && cur == o { printf "%s bytes (%s MB)", $2, $6 }' \
        "$dir/optimizers.txt")
    note=""; [ "$o" = lbfgs ] && note=" (batch full, $lbfgs_steps steps)"
    printf '| `%s`%s | %s | %.2f%% | %.2f%% | %s | %s | %.0f |\n' "$o" "$note" "$lr" \
        "$(echo "$acc" | awk '{ print 100 * $1 }')" "$(echo "$val" | awk '{ print 100 * $1 }')" \
        "$steps" "$mem" "$sps"
done
