#!/bin/sh
# Flags that used to be accepted and then do nothing, or be silently overruled, and mistyped
# flags: each must now stop with "train: <flag>: <why>" and exit 2 before any work (no run
# directory), or, where a default is overridden on purpose, say so in one line.
cd "$(dirname "$0")/.." || exit 1
train="${TRAIN_BIN:-./train}"
pass=0; fail=0
tmp=tests/tmp/cli_flags; rm -rf "$tmp"; mkdir -p "$tmp"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE MESSAGE ARGS...: exit code CODE and a stderr line "train: MESSAGE..." (fixed
# string, from the start of the line)
expect() {
    code=$1; message=$2; shift 2
    "$train" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" = "$code" ] && grep -Fq "train: $message" "$tmp/err"; then ok
    else bad "train $* -> exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"; fi
}
# run flags: quiet, in $tmp/runs, small; q: the same for invocations refused at parsing (were
# the refusal to fail, they would still run only one step, in $tmp)
r="--quiet --runs-dir $tmp/runs --model 784-16-10 --threads 1"
q="--runs-dir $tmp/runs --steps 1 --subset 100 --val 10 --model 784-16-10 --threads 1"

# mistyped flags: the argument as typed, and the closest flag
expect 2 "-lr: unknown option (did you mean --lr?)" -lr 0.01 $q
expect 2 "--lrr: unknown option (did you mean --lr?)" --lrr 0.01 $q
expect 2 "--warmpu: unknown option (did you mean --warmup?)" --warmpu=100 $q
expect 2 "--momentun: unknown option (did you mean --momentum?)" --opt sgd --momentun 0.9 $q
expect 2 "--frobnicate: unknown option (see train --help)" --frobnicate $q
expect 2 "-x: unknown option (see train --help)" eval -x
# recorded data descriptions are not flags
expect 2 "--classes: unknown option" --classes a,b $q
# a repeated flag is an error, unless it is a list (--milestones adds to its list)
expect 2 "--lr: given more than once (it takes one value)" --lr 0.1 --lr 0.2 $q
expect 2 "--quiet: given more than once" --quiet --quiet $q
"$train" schedule --schedule multistep --milestones 2 --milestones 4 --lr 1 --steps 6 --out "$tmp/s.svg" --quiet >"$tmp/out" 2>"$tmp/err"
if [ "$(tr '\n' ' ' < "$tmp/out")" = "step,lr 0,1 1,1 2,0.1 3,0.1 4,0.01 5,0.01 " ]; then ok; else bad "--milestones 2 --milestones 4: $(cat "$tmp/out" "$tmp/err")"; fi

# flags that needed a validation set, a periodic checkpoint or a longer run
expect 2 "--early-stop: needs a validation set, and there is none (--val 0)" $r --val 0 --early-stop 3
expect 2 "--eval-every: needs a validation set, and there is none (--val 0)" $r --val 0 --eval-every 5
expect 2 "--min-delta: needs a validation set" $r --val 0 --min-delta 0.01
expect 2 "--early-stop: needs a validation set, and there is none (--overfit trains without one)" $r --overfit 8 --early-stop 2
expect 2 "--keep: keeps periodic checkpoints, and --ckpt-every 0 makes none" $r --keep 3 --ckpt-every 0
expect 2 "--warmup: 100 steps is longer than the run (5 steps)" $r --warmup 100 --steps 5
expect 2 "--warmup: 100 steps is longer than the run (8 steps)" $r --subset 500 --warmup 100 --epochs 1 --batch 64
expect 2 "--milestones: 50 is at or past the end of the run (10 steps), so it would never apply" $r --schedule multistep --milestones 5,50 --steps 10
expect 2 "--milestones: 8 is at or past the end of the run (10 steps with the warmup)" $r --schedule multistep --milestones 8 --warmup 2 --steps 10
expect 2 "--warmup: 20 steps is longer than the run (10 steps)" schedule --warmup 20 --steps 10 --out "$tmp/w.svg"
expect 2 "--warmup: --schedule onecycle has its own warm-up phase" $r --schedule onecycle --warmup 10
# a tiny training set leaves no validation split by default: validation flags say so
mkdir -p "$tmp/tiny/train/a" "$tmp/tiny/train/b" "$tmp/tiny/test/a" "$tmp/tiny/test/b"
printf 'P5\n2 2\n255\n\001\002\003\004' > "$tmp/tiny/train/a/1.pgm"; cp "$tmp/tiny/train/a/1.pgm" "$tmp/tiny/train/b/1.pgm"
cp "$tmp/tiny/train/a/1.pgm" "$tmp/tiny/test/a/1.pgm"; cp "$tmp/tiny/train/a/1.pgm" "$tmp/tiny/test/b/1.pgm"
expect 2 "--early-stop: needs a validation set, and there is none (the training set is too small to hold one out; give --val N)" \
    --quiet --runs-dir "$tmp/runs" --data "$tmp/tiny" --early-stop 2 --steps 2

# flags a command does not read
expect 2 "--ckpt: not read by train (it names the checkpoint of train eval, predict and export); to start from a checkpoint's weights use --init" $r --ckpt x.safetensors
expect 2 "--top: not read by train (it reads" $r --top 3
expect 2 "--opt: not read by train eval (it reads" eval --ckpt x.safetensors --opt sgd
expect 2 "--lr: not read by train lr-find (it sets the lr itself" lr-find --lr 0.1
expect 2 "--warmup: not read by train lr-find" lr-find --warmup 10
expect 2 "--steps: not read by train predict" predict --ckpt x --steps 3 a.png
expect 2 "--lr: not read by train export" export --onnx x.onnx --ckpt x --lr 1
expect 2 "--model: not read by train export-images" export-images --out "$tmp/x" --model 784-10

# --overfit overrules what fights memorisation: given, an error; by default, one line
expect 2 "--dropout: --overfit turns it off (nothing may fight memorisation); drop --dropout" $r --overfit 8 --dropout 0.2
expect 2 "--wd: --overfit turns it off" $r --overfit 8 --wd 0.1
expect 2 "--label-smoothing: --overfit turns it off" $r --overfit 8 --label-smoothing 0.1
expect 2 "--val: --overfit turns it off" $r --overfit 8 --val 100
expect 2 "--subset: --overfit turns it off (it trains on the first N images itself)" --overfit 8 --subset 500
[ -d "$tmp/runs" ] && bad "a refused invocation created $tmp/runs"
"$train" --quiet --runs-dir "$tmp/runs" --run o --overfit 8 --model ln --steps 1 >"$tmp/out" 2>"$tmp/err"
if grep -Fxq "train: --overfit: nothing may fight memorisation: --val 5000 -> 0, --wd 0.01 -> 0, the model's dropout layers -> p 0" "$tmp/err" &&
   grep -q '"model": "input 784, linear 256, layernorm, gelu, dropout 0, linear 256' "$tmp/runs/o/config.json"; then ok
else bad "--overfit --model ln: $(cat "$tmp/err")"; fi
# explicit values that agree with --overfit are fine
# (one step does not memorise 8 images: the verdict's exit code 1)
"$train" $r --run o2 --overfit 8 --val 0 --wd 0 --steps 1 >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "^could not overfit" "$tmp/out" && ! grep -q "^train: " "$tmp/err" && ok || bad "--overfit --val 0 --wd 0: $(cat "$tmp/err")"

# --data naming a file, and export-images never writing into an existing split
expect 1 "README.md: is a file, not a dataset directory" --quiet --data README.md
mkdir -p "$tmp/exp/test"
expect 2 "$tmp/exp/test: exists; export-images writes into new directories only" export-images --out "$tmp/exp" --split test
expect 2 "export-images: --out DIR is required" export-images
expect 2 "export: --onnx FILE is required" export --ckpt x
expect 2 "predict: --ckpt FILE is required" predict a.png

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
