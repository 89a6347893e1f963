#!/usr/bin/env bash
# Seeds the corpora of the three harnesses from Fixtures/ (small files only, so each run starts fast):
# corpus/onnx (every .onnx up to 64 KB), corpus/checkpoint (every checkpoint and malformed checkpoint up to 256 KB),
# corpus/npy (the reader fixtures, the malformed ones, and the small .npy inputs of the ONNX cases).
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../../Fixtures
mkdir -p corpus/onnx corpus/checkpoint corpus/npy
copy() {  # copy DEST FILE...: each file under a name made from its path, so none overwrites another
    local dest=$1; shift
    for f in "$@"; do cp "$f" "$dest/$(echo "${f#$fixtures/}" | tr '/' '_')"; done
}
copy corpus/onnx $(find $fixtures -name '*.onnx' -size -64k)
copy corpus/checkpoint $(find $fixtures/checkpoints $fixtures/formats $fixtures/cells $fixtures/safetensors $fixtures/npz \
    $fixtures/malformed/checkpoints $fixtures/malformed/formats $fixtures/malformed/safetensors $fixtures/malformed/npz \
    -type f -size -256k ! -name '*.expected' ! -name '*.json' ! -path '*/expected/*')
copy corpus/npy $(find $fixtures/npy $fixtures/malformed/npy -type f) $(find $fixtures/onnx/ops -name '*.npy' -size -2k)
for c in onnx checkpoint npy; do echo "corpus/$c: $(ls corpus/$c | wc -l) files"; done
