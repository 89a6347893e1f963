#!/usr/bin/env bash
# The README's test command: install what is missing, then build and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --build-tests
swift test --skip-build
