#!/usr/bin/env bash
# Builds and runs tools/bench/floors.c against rnnrt's C kernels (developer tool, not CI): the read-only floor of
# each batch-1 step next to the step itself, and the packed product next to OpenBLAS when libopenblas-dev is
# installed (apt-get install -y libopenblas-dev). One thread; run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/rnnrt-floors"
cc="$(command -v clang || command -v gcc)"
src=Sources/CRNNRTKernels
define="" library=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ]; then
    define=-DWITH_OPENBLAS library=-lopenblas
fi
"$cc" -O2 $define -I "$src/include" -I "$src" tools/bench/floors.c "$src"/*.c -o "$out" $library -lm -lpthread
OPENBLAS_NUM_THREADS=1 "$out"
