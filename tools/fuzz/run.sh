#!/usr/bin/env bash
# Runs one harness on its corpus: run.sh onnx|checkpoint|npy SECONDS [libFuzzer options...]
# Limits: 2 GB of memory (an allocation of more is reported as an OOM), 20 s per input. New inputs go to
# corpus/NAME, crashes, OOMs and time-outs to artifacts/NAME/, libFuzzer's log to fuzz-NAME.log. To go on past OOMs
# and time-outs (inputs that ask for large but bounded work), add -fork=1 -ignore_ooms=1 -ignore_timeouts=1.
set -euo pipefail
cd "$(dirname "$0")"
name=$1 seconds=$2; shift 2
mkdir -p "corpus/$name" "artifacts/$name"
dict=()
if [[ -f "$name.dict" ]]; then dict=(-dict="$name.dict"); fi  # onnx.dict: make_dict.sh
# ASan's own leak and allocator checks: leaks are not what these harnesses look for (Swift's runtime keeps caches),
# and a huge allocation should come back as libFuzzer's OOM report, not abort.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}
".build/release/fuzz-$name" "corpus/$name" -artifact_prefix="artifacts/$name/" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 -max_len=65536 \
    -print_final_stats=1 "${dict[@]}" "$@" 2>&1 | tee "fuzz-$name.log"
