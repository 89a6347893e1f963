#!/usr/bin/env bash
# The README's quick start: install what is missing, build rnnrt, run the bundled examples — an LSTM
# checkpoint and an ONNX tagger.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build -c release --product rnnrt
.build/release/rnnrt inspect Fixtures/examples/lstm.pt
.build/release/rnnrt run Fixtures/examples/lstm.pt Fixtures/examples/x.npy --batch-first -o out/example
.build/release/rnnrt inspect Fixtures/examples/tagger.onnx
.build/release/rnnrt run Fixtures/examples/tagger.onnx Fixtures/examples/ids.npy -o out/example-onnx
