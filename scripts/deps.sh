#!/bin/sh
# Installs the system packages the build needs when they are missing (Debian/Ubuntu):
# zlib headers and stb (image loading). Quiet and quick when everything is present.
missing=""
[ -f /usr/include/zlib.h ] || missing="$missing zlib1g-dev"
[ -f /usr/include/stb/stb_image.h ] || missing="$missing libstb-dev"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
[ -z "$missing" ] && exit 0

echo "train: installing missing packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
else
    echo "train: need root to install$missing: run 'apt-get install$missing' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "train: no apt-get here: install$missing with your package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null 2>&1 || true
if ! $sudo apt-get install -y -qq $missing >/dev/null; then
    echo "train: apt-get install$missing failed" >&2
    exit 1
fi
