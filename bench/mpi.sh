#!/bin/sh
# bench/mpi.sh (part of make bench): data-parallel training on this machine's cores. For each
# job, samples/s of one process with 2 threads (./train --threads 2), one MPI rank and two
# MPI ranks with one thread each (build-mpi/train under mpirun, which binds each rank to a
# core), the same global batch, AdamW, batches drawn at random; and the size of what a step
# communicates: the flat gradient all-reduced (4 bytes per parameter) plus 32 bytes of step
# figures per rank. What crosses the wire depends on Open MPI's algorithm: a ring sends
# 2 (N-1)/N times the buffer from each rank, i.e. the buffer itself for N = 2. Skipped, with a notice, when Open MPI is not installed.
set -e
cd "$(dirname "$0")/.."
out=bench/out; mkdir -p "$out"
if ! command -v mpicc > /dev/null 2>&1 || ! command -v mpirun > /dev/null 2>&1; then
    echo "MPI rows skipped: Open MPI is not installed (sh scripts/deps.sh mpi installs it)"
    exit 0
fi
make -s build-mpi/train > "$out/mpi-build.log" 2>&1 || { echo "MPI rows: building build-mpi/train failed ($out/mpi-build.log)"; exit 1; }
mpirun="mpirun --allow-run-as-root"
num() { grep "\"$2\"" "$out/runs/$1/summary.json" | head -n 1 | sed 's/.*: *//; s/,$//'; }
flags() { echo "--quiet --runs-dir $out/runs --force --model $1 --batch $2 --opt adamw --schedule constant" \
               "--steps $3 --val 0 --eval-every 0 --ckpt-every 0 --log-every 1000 --sample replace"; }

echo
echo "data parallel ($(build-mpi/train --version | sed 's/.*(MPI: //; s/)//'), mpirun binding each rank to a core): samples/s"
printf "%-30s %15s %15s %15s %8s %16s\n" job "1 proc x 2 thr" "1 rank x 1 thr" "2 ranks x 1 thr" "2r / 1p" "reduced/step"
mpi_job() {   # mpi_job LABEL SIZES BATCH STEPS
    ./train $(flags "$2" "$3" "$4") --run mpi-p2 --threads 2 > /dev/null
    $mpirun -np 1 build-mpi/train $(flags "$2" "$3" "$4") --run mpi-r1 --threads 1 > /dev/null
    $mpirun -np 2 build-mpi/train $(flags "$2" "$3" "$4") --run mpi-r2 --threads 1 > /dev/null
    p2=$(num mpi-p2 samples_per_s); r1=$(num mpi-r1 samples_per_s); r2=$(num mpi-r2 samples_per_s)
    bytes=$(awk -v p="$(num mpi-r2 params)" 'BEGIN { printf "%.2f MB", (4 * p + 32) / 1e6 }')
    printf "%-30s %15.0f %15.0f %15.0f %7.2fx %16s\n" "$1" "$p2" "$r1" "$r2" \
        "$(awk -v a="$r2" -v b="$p2" 'BEGIN { print a / b }')" "$bytes"
}
mpi_job "B1 784-256-256-10 b64" 784-256-256-10 64 3000
mpi_job "B2 784-1024-1024-10 b128" 784-1024-1024-10 128 600
