#!/usr/bin/env bash
# Writes onnx.dict, libFuzzer's dictionary for fuzz-onnx: every operator type, attribute name and string attribute
# value quoted in the graph executor's sources, so mutations can put a known name where another stood.
set -euo pipefail
cd "$(dirname "$0")"
grep -ohE '"[A-Za-z_][A-Za-z0-9_.]{1,40}"' ../../Sources/RNNRTGraph/*.swift ../../Sources/RNNRTGraph/Ops/*.swift \
    | sort -u > onnx.dict
echo "onnx.dict: $(wc -l < onnx.dict) entries"
