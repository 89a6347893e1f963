#!/usr/bin/env bash
# Regenerates the committed protobuf-c code for ONNX from tools/onnx/onnx-subset.proto:
#   Sources/CONNXProto/onnx-subset.pb-c.c            (includes "onnx-subset.pb-c.h", found through
#   Sources/CONNXProto/include/onnx-subset.pb-c.h     the target's public include/ folder)
# Needs protoc-c (apt: protobuf-c-compiler; the committed files were made with protoc-c 1.4.1).
# Building rnnrt does not run this script: it needs only libprotobuf-c-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc-c >/dev/null || { echo "protoc-c not found (apt-get install protobuf-c-compiler)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
protoc-c --proto_path=tools/onnx --c_out="$out" tools/onnx/onnx-subset.proto
mkdir -p Sources/CONNXProto/include
mv "$out/onnx-subset.pb-c.c" Sources/CONNXProto/onnx-subset.pb-c.c
mv "$out/onnx-subset.pb-c.h" Sources/CONNXProto/include/onnx-subset.pb-c.h
echo "wrote Sources/CONNXProto/onnx-subset.pb-c.c and Sources/CONNXProto/include/onnx-subset.pb-c.h ($(protoc-c --version | head -1))"
