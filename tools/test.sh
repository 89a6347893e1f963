#!/usr/bin/env bash
# The README's test command: install what is missing, then build and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --build-tests
swift test --skip-build
# Every fixture again with each large-matrix weight form forced, and with the portable Swift kernels.
RNNRT_WEIGHT_LAYOUT=in-place swift test --skip-build
RNNRT_WEIGHT_LAYOUT=packed swift test --skip-build
RNNRT_PORTABLE_KERNELS=1 swift test --skip-build
