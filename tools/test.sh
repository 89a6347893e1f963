#!/usr/bin/env bash
# The README's test command: install what is missing, then build and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# Every public declaration has a /// doc comment (pure Python, before any build).
python3 tools/check_public_docs.py
swift build --build-tests
swift test --skip-build
# The example app (Examples/StreamFrames), a package depending on rnnrt by path: it streams frames and runs an ONNX
# model, and exits 1 when an output differs from PyTorch's.
swift build --package-path Examples/StreamFrames
"$(swift build --package-path Examples/StreamFrames --show-bin-path)/StreamFrames"
# The documentation (tools/docs.sh, a few seconds on this build): an article link that does not resolve fails.
tools/docs.sh
# Every fixture again with each large-matrix weight form forced, and with the portable Swift kernels.
RNNRT_WEIGHT_LAYOUT=in-place swift test --skip-build
RNNRT_WEIGHT_LAYOUT=packed swift test --skip-build
RNNRT_PORTABLE_KERNELS=1 swift test --skip-build
# The integer products on AVX2's kernels where the CPU would use AVX-512 VNNI's.
RNNRT_NO_AVX512=1 swift test --skip-build --filter "Quantized|IntegerProduct|PlanFusion"
# The two-thread split's rare paths: every barrier wait asleep on the futex; one thread alone after the first barrier,
# and after the last barrier of a 30-step case.
RNNRT_PAIR_SPIN_TICKS=0 RNNRT_PAIR_SLEEPS=1000000000 swift test --skip-build --filter TwoThreadTests
RNNRT_PAIR_SLEEPS=0 swift test --skip-build --filter TwoThreadTests
RNNRT_PAIR_SOLO_AFTER=30 swift test --skip-build --filter TwoThreadTests
# The whole suite under AddressSanitizer (the C kernels instrumented too), and the tests where threads share a plan
# or a module under ThreadSanitizer, each in a build folder of its own.
swift build --build-tests --sanitize=address --build-path .build-asan
ASAN_OPTIONS=detect_leaks=0 swift test --skip-build --sanitize=address --build-path .build-asan
swift build --build-tests --sanitize=thread --build-path .build-tsan
swift test --skip-build --sanitize=thread --build-path .build-tsan --filter "ConcurrencyTests|TwoThreadTests|threadsSharingAPlan"
# Each fuzzing harness for a minute on its corpus seeded from Fixtures/ (tools/fuzz/README.md): any crash, sanitizer
# report, out-of-memory or run past two minutes fails.
JOBS=2 tools/fuzz/build.sh
tools/fuzz/seed.sh
for harness in onnx checkpoint npy; do
    tools/fuzz/run.sh "$harness" 60 -timeout=120 > /dev/null || { tail -n 80 "tools/fuzz/fuzz-$harness.log"; exit 1; }
done
