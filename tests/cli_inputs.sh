#!/bin/sh
# Bad files: every one must give "train: <file>: <why>" on stderr and a non-zero exit, within
# seconds (no hang), without a crash, without leaving a partial file or spoiling a good one.
cd "$(dirname "$0")/.." || exit 1
train="${TRAIN_BIN:-./train}"
pass=0; fail=0
tmp=tests/tmp/cli_inputs; rm -rf "$tmp"; mkdir -p "$tmp"
mnist=data/mnist

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE PATTERN ARGS...: exit code CODE, stderr matching PATTERN (grep -E), no crash
expect() {
    code=$1; pattern=$2; shift 2
    where="--runs-dir $tmp/runs"; [ "$1" = eval ] && where=""   # eval writes no run
    timeout 60 "$train" "$@" --quiet $where >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" = "$code" ] && grep -Eq "^train: .*$pattern" "$tmp/err"; then ok
    else bad "train $* -> exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"; fi
}

# dataset DIR: a copy of MNIST's test split as both splits (small and quick), to be spoiled
dataset() {
    mkdir -p "$1"
    for split in train t10k; do
        cp "$mnist/t10k-images-idx3-ubyte" "$1/$split-images-idx3-ubyte"
        cp "$mnist/t10k-labels-idx1-ubyte" "$1/$split-labels-idx1-ubyte"
    done
}
few="--val 100 --steps 2 --run r --force"
small="$few --model 784-16-10"

# a good copy trains: the fixtures below differ from it in one way each
dataset "$tmp/good"
expect_ok() { timeout 60 "$train" "$@" --quiet --runs-dir "$tmp/runs" >"$tmp/out" 2>"$tmp/err" && ok || bad "train $*: $(cat "$tmp/err")"; }
expect_ok --data "$tmp/good" $small

# gzip: truncated, corrupted deflate data, wrong CRC
dataset "$tmp/gzcut"; gzip -c "$mnist/t10k-images-idx3-ubyte" | head -c 500000 > "$tmp/gzcut/train-images-idx3-ubyte.gz"
rm "$tmp/gzcut/train-images-idx3-ubyte"
expect 1 "gzcut/train-images-idx3-ubyte.gz: (corrupt or truncated gzip data|truncated)" --data "$tmp/gzcut" $small
dataset "$tmp/gzbad"; gzip -c "$mnist/t10k-images-idx3-ubyte" > "$tmp/gzbad/x.gz"; rm "$tmp/gzbad/train-images-idx3-ubyte"
{ head -c 2000 "$tmp/gzbad/x.gz"; head -c 3000 /dev/zero | tr '\0' '\377'; tail -c +5001 "$tmp/gzbad/x.gz"; } > "$tmp/gzbad/train-images-idx3-ubyte.gz"
rm "$tmp/gzbad/x.gz"
expect 1 "gzbad/train-images-idx3-ubyte.gz: corrupt" --data "$tmp/gzbad" $small
dataset "$tmp/gzcrc"; gzip -c "$mnist/t10k-labels-idx1-ubyte" > "$tmp/gzcrc/x.gz"; rm "$tmp/gzcrc/train-labels-idx1-ubyte"
n=$(wc -c < "$tmp/gzcrc/x.gz"); { head -c $((n - 8)) "$tmp/gzcrc/x.gz"; printf '\001\002\003\004'; tail -c 4 "$tmp/gzcrc/x.gz"; } > "$tmp/gzcrc/train-labels-idx1-ubyte.gz"
rm "$tmp/gzcrc/x.gz"
expect 1 "gzcrc/train-labels-idx1-ubyte.gz: corrupt or truncated gzip data" --data "$tmp/gzcrc" $small

# IDX: labels where images belong (wrong magic), truncated, empty, a directory, a FIFO
dataset "$tmp/magic"; cp "$mnist/t10k-labels-idx1-ubyte" "$tmp/magic/train-images-idx3-ubyte"
expect 1 "magic/train-images-idx3-ubyte: not an IDX image file \(magic 0x00000801, expected 0x00000803\)" --data "$tmp/magic" $small
dataset "$tmp/short"; head -c 1000000 "$mnist/t10k-images-idx3-ubyte" > "$tmp/short/train-images-idx3-ubyte"
expect 1 "short/train-images-idx3-ubyte: truncated: 999984 of the 7840000 data bytes" --data "$tmp/short" $small
dataset "$tmp/empty"; : > "$tmp/empty/t10k-labels-idx1-ubyte"
expect 1 "empty/t10k-labels-idx1-ubyte: empty" --data "$tmp/empty" $small
dataset "$tmp/isdir"; rm "$tmp/isdir/train-labels-idx1-ubyte"; mkdir "$tmp/isdir/train-labels-idx1-ubyte"
expect 1 "isdir/train-labels-idx1-ubyte: is a directory" --data "$tmp/isdir" $small
dataset "$tmp/fifo"; rm "$tmp/fifo/train-images-idx3-ubyte"; mkfifo "$tmp/fifo/train-images-idx3-ubyte"
expect 1 "fifo/train-images-idx3-ubyte: not a regular file" --data "$tmp/fifo" $small
if [ "$(id -u)" != 0 ]; then   # root reads everything, so this one only means something for users
    dataset "$tmp/noperm"; chmod 000 "$tmp/noperm/train-images-idx3-ubyte"
    expect 1 "noperm/train-images-idx3-ubyte: Permission denied" --data "$tmp/noperm" $small
fi

# counts and shapes that disagree: 9000 labels for 10000 images; 28x28 test, 14x56 train
dataset "$tmp/count"
{ printf '\000\000\010\001\000\000\043\050'; tail -c +9 "$mnist/t10k-labels-idx1-ubyte" | head -c 9000; } > "$tmp/count/train-labels-idx1-ubyte"
expect 1 "count/train-labels-idx1-ubyte: 9000 labels, but .* holds 10000 images" --data "$tmp/count" $small
dataset "$tmp/shape"
{ printf '\000\000\010\003\000\000\047\020\000\000\000\016\000\000\000\070'; tail -c +17 "$mnist/t10k-images-idx3-ubyte"; } > "$tmp/shape/train-images-idx3-ubyte"
expect 1 "test images are 28x28 but training images 14x56" --data "$tmp/shape" $small
expect 2 "--model: input size 100 does not match the data \(28x28 = 784 pixels\)" --data "$tmp/good" $few --model 100-10
# a label 12 with a 10-way output
dataset "$tmp/label"
{ head -c 8 "$mnist/t10k-labels-idx1-ubyte"; printf '\014'; tail -c +10 "$mnist/t10k-labels-idx1-ubyte"; } > "$tmp/label/train-labels-idx1-ubyte"
expect 2 "--model: 10 outputs, but the data has labels up to 12" --data "$tmp/label" $small

# checkpoints: make a good one, then spoil copies of it
"$train" --quiet --runs-dir "$tmp/runs" --run ck --data "$tmp/good" --val 100 --steps 3 --model 784-16-10 >/dev/null 2>&1
good="$tmp/runs/ck/last.safetensors"
size=$(wc -c < "$good")
head -c $((size - 100)) "$good" > "$tmp/truncated.safetensors"
expect 1 "truncated.safetensors: " eval --ckpt "$tmp/truncated.safetensors" --data "$tmp/good"
cp "$good" "$tmp/crc.safetensors"; printf '\177\177\177\177' | dd of="$tmp/crc.safetensors" bs=1 seek=$((size - 20)) conv=notrunc 2>/dev/null
expect 1 "crc.safetensors: CRC32 mismatch" eval --ckpt "$tmp/crc.safetensors" --data "$tmp/good"
expect 1 "crc.safetensors: CRC32 mismatch" --init "$tmp/crc.safetensors" --data "$tmp/good" $small
printf 'this is not a checkpoint at all' > "$tmp/text.safetensors"
expect 1 "text.safetensors: " eval --ckpt "$tmp/text.safetensors"
printf '\377\377\377\377\377\377\377\177{}' > "$tmp/huge.safetensors"
expect 1 "huge.safetensors: " eval --ckpt "$tmp/huge.safetensors"
awk 'BEGIN { n = 200000; s = ""; for (i = 0; i < n; i++) printf "["; for (i = 0; i < n; i++) printf "]" }' > "$tmp/deep.json"
len=$(wc -c < "$tmp/deep.json")
{ printf "$(printf '\\%03o\\%03o\\%03o\\%03o\\000\\000\\000\\000' $((len & 255)) $(((len >> 8) & 255)) $(((len >> 16) & 255)) $(((len >> 24) & 255)))"; cat "$tmp/deep.json"; } > "$tmp/deep.safetensors"
expect 1 "deep.safetensors: .*(deep|nesting)" eval --ckpt "$tmp/deep.safetensors"
hdr='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'
len=${#hdr}
{ printf "$(printf '\\%03o\\000\\000\\000\\000\\000\\000\\000' "$len")"; printf '%s' "$hdr"; head -c 12 /dev/zero; } > "$tmp/overlap.safetensors"
expect 1 "overlap.safetensors: .*overlap" eval --ckpt "$tmp/overlap.safetensors"
"$train" --quiet --runs-dir "$tmp/runs" --run other --data "$tmp/good" --val 100 --steps 1 --model 784-20-10 >/dev/null 2>&1
expect 1 "other/last.safetensors: tensor '0.weight' has shape \[20, 784\], the model needs \[16, 784\]" \
    --init "$tmp/runs/other/last.safetensors" --data "$tmp/good" $small

# output: a runs directory that cannot be created
"$train" --quiet --data "$tmp/good" $small --runs-dir /dev/null/runs >/dev/null 2>"$tmp/err"; rc=$?
[ "$rc" = 1 ] && grep -q "^train: /dev/null: exists and is not a directory" "$tmp/err" && ok || bad "runs dir /dev/null/runs: exit $rc: $(cat "$tmp/err")"

# disk full while writing a checkpoint: the previous checkpoint survives, no temporary is left
cp "$good" "$tmp/before.safetensors"
(trap '' XFSZ; ulimit -f 40; "$train" --quiet --resume "$tmp/runs/ck" --steps 6 >/dev/null 2>"$tmp/full.err"); rc=$?
if [ "$rc" = 1 ] && grep -Eq "^train: .*ck/(last|best).safetensors: .*File too large" "$tmp/full.err"; then ok
else bad "disk full: exit $rc, stderr: $(head -c 300 "$tmp/full.err")"; fi
cmp -s "$good" "$tmp/before.safetensors" && ok || bad "disk full: last.safetensors changed"
ls "$tmp/runs/ck" | grep -q tmp && bad "disk full: temporary file left: $(ls "$tmp/runs/ck")" || ok

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
