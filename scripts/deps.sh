#!/bin/sh
# Installs the system packages the build needs when they are missing (Debian/Ubuntu):
# zlib headers and stb (image loading). Quiet and quick when everything is present.
# Optional arguments add the tools of one make target (only that target passes them):
#   asan      gcc's AddressSanitizer and UBSan runtimes (make asan)
#   fuzz      clang with libFuzzer, its sanitizer runtimes and OpenMP headers (make fuzz)
#   valgrind  valgrind (make valgrind)
#   mpi       Open MPI: mpicc and its headers, mpirun (make MPI=1, the MPI tests)
#   onnx      Debian's python3-onnx, with which tests/cli_onnx.sh checks `train export --onnx`
#             (onnx.checker and its reference evaluator); the project itself never needs it
missing=""
[ -f /usr/include/zlib.h ] || missing="$missing zlib1g-dev"
[ -f /usr/include/stb/stb_image.h ] || missing="$missing libstb-dev"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"

# compiles_with CC FLAGS...: 1 if CC links a tiny program (with omp.h, as the sources
# include it) under FLAGS; for the "fuzz" check the program is a libFuzzer target.
tmpdir=""
compiles_with() {
    cc=$1; shift
    [ -n "$tmpdir" ] || tmpdir=$(mktemp -d) || return 1
    cat > "$tmpdir/t.c" <<'EOF'
#include <omp.h>
#include <stddef.h>
#include <stdint.h>
#ifdef FUZZ
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return size && data[0] == omp_get_num_procs(); }
#else
int main(void) { return omp_get_num_procs() < 0; }
#endif
EOF
    "$cc" "$@" "$tmpdir/t.c" -o "$tmpdir/t" >/dev/null 2>&1
}

for tool in "$@"; do
    case $tool in
    asan)
        # libasan and libubsan come with gcc (libgcc-N-dev depends on them); check anyway
        if command -v gcc >/dev/null 2>&1 &&
           ! compiles_with gcc -fopenmp -fsanitize=address,undefined; then
            missing="$missing libgcc-$(gcc -dumpversion | cut -d. -f1)-dev"
        fi ;;
    fuzz)
        # Debian's clang; -fsanitize=fuzzer needs compiler-rt (libclang-rt-dev, only a
        # Recommends of clang) and the sources' #include <omp.h> needs libomp-dev
        command -v clang >/dev/null 2>&1 || missing="$missing clang"
        if ! command -v clang >/dev/null 2>&1 ||
           ! compiles_with clang -DFUZZ -fopenmp -fsanitize=fuzzer,address,undefined; then
            missing="$missing libclang-rt-dev libomp-dev"
        fi ;;
    valgrind)
        command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind" ;;
    mpi)
        # Debian's Open MPI: mpicc and mpi.h come with libopenmpi-dev, mpirun with openmpi-bin
        if ! command -v mpicc >/dev/null 2>&1 || ! compiles_with mpicc -fopenmp; then
            missing="$missing libopenmpi-dev"
        fi
        command -v mpirun >/dev/null 2>&1 || missing="$missing openmpi-bin" ;;
    onnx)
        /usr/bin/python3 -c "import onnx, numpy" >/dev/null 2>&1 || missing="$missing python3-onnx" ;;
    *)
        echo "deps.sh: unknown tool set '$tool' (asan, fuzz, valgrind, mpi or onnx)" >&2
        exit 2 ;;
    esac
done
[ -n "$tmpdir" ] && rm -rf "$tmpdir"
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
