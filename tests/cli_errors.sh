#!/bin/sh
# Bad flags and inputs: each must print "train: <what>: <why>" on stderr and exit with the
# documented code (2 for usage errors, 1 for runtime failures), without a crash or a run dir.
cd "$(dirname "$0")/.." || exit 1
pass=0; fail=0
tmp=tests/tmp/cli_errors; rm -rf "$tmp"; mkdir -p "$tmp"

# expect CODE PATTERN ARGS...: exit code CODE and stderr matching PATTERN (grep -E)
expect() {
    code=$1; pattern=$2; shift 2
    "${TRAIN_BIN:-./train}" "$@" --runs-dir "$tmp/runs" --quiet >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" = "$code" ] && grep -Eq "^train: .*$pattern" "$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: train $* -> exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"
    fi
}

expect 2 "--lr: .*out of range" --lr 0
expect 2 "--lr: .*out of range" --lr -1
expect 2 "--lr: expected a finite number, got 'abc'" --lr abc
expect 2 "--lr: expected a finite number, got '1e-3x'" --lr 1e-3x
expect 2 "--lr: expected a finite number" --lr nan
expect 2 "--lr: expected a finite number" --lr inf
# a flag missing its value at the end of the line
"${TRAIN_BIN:-./train}" --quiet --lr >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" = 2 ] && grep -q "^train: --lr: needs a value" "$tmp/err"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: train --lr -> exit $rc: $(cat "$tmp/err")"; fi
expect 2 "--batch: .*out of range" --batch 0
expect 2 "--batch: .*out of range" --batch -3
expect 2 "--batch: expected a whole number or full" --batch 1.5
expect 2 "--opt: unknown value 'nope' \(choose from sgd\|momentum\|nesterov\|adagrad\|rmsprop\|adam\|adamw\|amsgrad\|nadam\|radam\|adamax\|lion\|adadelta\|adafactor\|lamb\|lars\|lookahead\|muon\|shampoo\|lbfgs\|sf-adamw\|sf-sgd\|sophia\)" --opt nope
expect 2 "--act: unknown value" --act swish
expect 2 "--schedule: unknown value" --schedule sometimes
expect 2 "--model: '784-x': expected layer sizes like 784-256-10" --model 784-x
expect 2 "--model: '784-10x': unexpected 'x'" --model 784-10x
expect 2 "--model: 'nosuchmodel': neither layer sizes" --model nosuchmodel
expect 2 "--model: input size 100 does not match the data" --model 100-10
expect 2 "--model: 5 outputs, but the data has labels up to 9" --model 784-5
expect 2 "--momentum: .*out of range" --momentum 2
expect 2 "--dropout: .*out of range" --dropout 1
expect 2 "--nesterov: needs --momentum" --opt sgd --nesterov
expect 2 "--min-lr: .* is above --lr" --lr 0.01 --min-lr 0.1
expect 2 "--val: 60000 leaves no training data" --val 60000
expect 2 "--subset: 60000 is more than" --subset 60000
expect 2 "--bogus: unknown option" --bogus 1
# a flag is spelled in full: getopt's unique prefixes are not taken
expect 2 "--epoch: unknown option \(did you mean --epochs\?\)" --epoch 3
expect 2 "--warm: unknown option \(flags are spelled in full: --warmup\?\)" --warm 5
# flags a command would ignore
expect 2 "--step-size: 100 steps reach past the end of the run \(10 steps\), so the lr would never decay" --subset 256 --steps 10 --schedule step --step-size 100
expect 2 "--examples: shapes --log-curvature's measurement, which is off" --subset 256 --steps 2 --examples 100
expect 2 "--lanczos-iter: shapes --log-curvature's measurement" --subset 256 --steps 2 --lanczos-iter 10
# expect_bare CODE PATTERN ARGS...: as expect, without the --runs-dir and --quiet it adds
expect_bare() {
    code=$1; pattern=$2; shift 2
    "${TRAIN_BIN:-./train}" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" = "$code" ] && grep -Eq "^train: .*$pattern" "$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: train $* -> exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"
    fi
}
expect_bare 2 "--lr: not read by train gradcheck" gradcheck --lr 0.1
expect_bare 2 "optimizers: takes no arguments \('junk' given\)" optimizers junk
expect_bare 2 "--model: not read by train schedule" schedule --steps 5 --model 784-10 --out "$tmp/s.svg"
expect_bare 2 "--probes: the probes of the trace estimate, which only --trace makes" curvature "$tmp/none" --probes 5
expect 2 "extra: unexpected argument" --lr 0.1 extra
expect 2 "frobnicate: unknown subcommand" frobnicate
expect 2 "--label-smoothing: only applies to --loss ce" --loss mse --label-smoothing 0.1
expect 2 "--init: cannot be combined with --resume" --resume x --init y
expect 2 "--resume: .*no such run directory" --resume "$tmp/nope"
expect 1 "no/such/dir: .*" --data "$tmp/no/such/dir"
expect 1 "no/such/file.safetensors: " --init "$tmp/no/such/file.safetensors" --steps 1 --run x
expect 2 "eval: --ckpt FILE is required" eval
# flags the chosen optimizer or schedule does not read are refused, not silently ignored
expect 2 "--momentum: not used by --opt adam" --opt adam --momentum 0.9
expect 2 "--beta1: not used by --opt sgd" --opt sgd --beta1 0.5
expect 2 "--amsgrad: not used by --opt nadam" --opt nadam --amsgrad
expect 2 "--gamma: not used by --schedule cosine" --gamma 0.5
expect 2 "--min-lr: not used by --schedule onecycle" --schedule onecycle --min-lr 1e-5
expect 2 "--step-size: --schedule step needs it" --schedule step
expect 2 "--milestones: --schedule multistep needs it" --schedule multistep
expect 2 "--milestones: '300,100': milestones must increase" --schedule multistep --milestones 300,100
expect 2 "--cyclic-mode: unknown value 'sine'" --schedule cyclic --cyclic-mode sine
expect 2 "--base-momentum: 0.99 is above --max-momentum" --schedule onecycle --base-momentum 0.99
expect 2 "--pct-start: 1 is out of range" --schedule onecycle --pct-start 1
expect 2 "--end-lr: 1e-08 is not above --start-lr" lr-find --end-lr 1e-8
expect 2 "--num-it: 1 is out of range" lr-find --num-it 1
expect 2 "--norm: unknown value 'group'" --norm group
expect 2 "--norm batch: some training micro-batches would hold a single example" --norm batch --batch 1
expect 2 "--norm batch: some training micro-batches would hold a single example" --norm batch --subset 129 --val 0 --batch 64
expect 2 "--model: --act does not apply: the model lists its layers" --model "linear 32, relu, linear 10" --act tanh
expect 2 "--model: --dropout does not apply" --model "linear 32, relu, linear 10" --dropout 0.1
expect 2 "--model: 'conv 3': unknown layer" --model "input 784, linear 32, conv 3"
expect 2 "--model: 'linear': linear needs an argument" --model "linear, relu, linear 10"
printf 'linear 32\nact relu\nlinear 10\n' > "$tmp/act.model"
expect 2 "act.model:2: 'act': this file lists its layers" --model "$tmp/act.model"
[ -d "$tmp/runs" ] && { fail=$((fail + 1)); echo "FAIL: a failed invocation created $tmp/runs"; }

# an existing run directory is never overwritten without --force
mkdir -p "$tmp/runs/keep" && echo precious > "$tmp/runs/keep/notes.txt"
expect 2 "run directory exists" --run keep --steps 1
if [ "$(cat "$tmp/runs/keep/notes.txt")" = precious ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: existing run touched"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
