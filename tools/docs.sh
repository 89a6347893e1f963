#!/usr/bin/env bash
# Builds the documentation of the RNNRT library with the toolchain's docc: the landing page and articles in
# Sources/RNNRT/RNNRT.docc and the /// comments of everything `import RNNRT` brings in. Writes a static site to
# BUILD_PATH/docs/RNNRT.doccarchive (BUILD_PATH: .build, or the --build-path given; other arguments go to
# `swift build` too). To read it: `python3 -m http.server -d .build/docs/RNNRT.doccarchive` and open
# http://localhost:8000/documentation/rnnrt/. A link that does not resolve, or any other docc warning, fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --target RNNRT "$@"
bin="$(swift build --show-bin-path "$@")"
triple="$(swiftc -print-target-info | sed -n 's/^ *"triple": "\(.*\)",*$/\1/p' | head -1)"
graphs="$(mktemp -d)"
trap 'rm -rf "$graphs"' EXIT
# One symbol graph for RNNRT that includes the modules it re-exports (SwiftPM's own symbol graphs stop at each
# module's boundary, so the product's page would list only what is declared in Sources/RNNRT). The C targets'
# module maps are the ones SwiftPM wrote into the build folder.
swift-symbolgraph-extract -module-name RNNRT -target "$triple" -I "$bin/Modules" \
    -Xcc "-fmodule-map-file=$bin/CRNNRTKernels.build/module.modulemap" \
    -Xcc "-fmodule-map-file=$bin/CONNXProto.build/module.modulemap" \
    -Xcc -fmodule-map-file=Sources/CLibzip/module.modulemap \
    -Xcc -fmodule-map-file=Sources/CProtobufC/module.modulemap \
    -minimum-access-level public \
    -experimental-allowed-reexported-modules=RNNRTCore,RNNRTCheckpoints,RNNRTLayers,RNNRTGraph,RNNRTONNX \
    -output-dir "$graphs"
mkdir -p "$bin/../../docs"
out="$(cd "$bin/../../docs" && pwd)/RNNRT.doccarchive"
docc convert Sources/RNNRT/RNNRT.docc --additional-symbol-graph-dir "$graphs" --fallback-display-name RNNRT \
    --fallback-bundle-identifier rnnrt.RNNRT --output-path "$out" --transform-for-static-hosting --warnings-as-errors
echo "wrote $out"
