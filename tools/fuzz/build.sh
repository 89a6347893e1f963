#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz-onnx, fuzz-checkpoint, fuzz-npy) with AddressSanitizer, rnnrt's Swift and C
# code instrumented for coverage. One job by default (JOBS=2 to use both cores). Binaries: tools/fuzz/.build/release/.
# Linked by lld: gold fails on libFuzzer's main beside the one SwiftPM gives each executable.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release -j "${JOBS:-1}" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -g \
    -Xcc -fsanitize=fuzzer-no-link,address -Xcc -g -Xswiftc -use-ld=lld \
    "$@"
