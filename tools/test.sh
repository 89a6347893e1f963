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
# The two-thread split's rare paths: every barrier wait asleep on the futex; one thread alone after the first barrier,
# and after the last barrier of a 30-step case.
RNNRT_PAIR_SPIN_TICKS=0 RNNRT_PAIR_SLEEPS=1000000000 swift test --skip-build --filter TwoThreadTests
RNNRT_PAIR_SLEEPS=0 swift test --skip-build --filter TwoThreadTests
RNNRT_PAIR_SOLO_AFTER=30 swift test --skip-build --filter TwoThreadTests
