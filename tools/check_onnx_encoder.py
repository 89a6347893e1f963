#!/usr/bin/env python3
"""Out-of-sample check of rnnrt's ONNX writer (Sources/RNNRTONNX/ONNXEncoder.swift) with onnx and onnxruntime.

Runs the encoder tests with RNNRT_ENCODER_OUTPUT set, so every fixture model they round-trip is written
re-encoded by rnnrt to a temporary folder (same path as under Fixtures/), then for each written model:
  1. onnx.checker.check_model(full_check=True), on the re-encoded model and on the original; a failure the
     original shares is reported as such, a new one is an error;
  2. onnxruntime: both models are loaded and run on the fixture's inputs (case.json + inputs/<k>.npy, or
     examples/ids.npy; models without runtime inputs run with none) and every output is compared with the
     original's (exactly, or within 1e-6 + 1e-6|ref| when ORT's arithmetic is not bit-reproducible). A model
     ORT cannot load or run in its original form is skipped for this step, unless the re-encoded one
     behaves differently.
Also counts the re-encoded files that are byte-identical to the original.

Not part of CI (needs onnx, onnxruntime, numpy). Usage, from anywhere:
    python3 tools/check_onnx_encoder.py [--scratch-path .build-encoder] [--keep] [--verbose]
Exit status 0 when nothing new fails, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Fixtures"


def first_line(error):
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def run_tests(output, scratch):
    env = dict(os.environ, RNNRT_ENCODER_OUTPUT=str(output))
    cmd = ["swift", "test", "--scratch-path", scratch, "--filter", "ONNXEncoder"]
    print("$ RNNRT_ENCODER_OUTPUT=%s %s" % (output, " ".join(cmd)), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = (result.stdout + result.stderr).splitlines()
    summary = [l for l in lines if "Test run with" in l or "test cases" in l or "✘" in l]
    for line in summary[:40]:
        print("  " + line[:240])
    if result.returncode != 0:
        print("swift test failed (exit %d); last lines:" % result.returncode)
        for line in lines[-30:]:
            print("  " + line[:240])
        return False
    return True


def checker(path):
    """None when the model passes the full check, else the first line of the error."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
        return None
    except Exception as e:  # noqa: BLE001 - any checker failure is a result here
        return first_line(e)


def feeds_for(rel):
    """The fixture inputs of a model as {name: array}, or None when the fixture has none."""
    folder = (FIXTURES / rel).parent
    if rel == "examples/tagger.onnx":
        return {"ids": np.load(folder / "ids.npy")}
    case = folder / "case.json"
    if not case.exists():
        return None
    spec = json.loads(case.read_text())
    return {name: np.load(folder / "inputs" / ("%d.npy" % k)) for k, name in enumerate(spec["inputs"])}


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_outcome(path, feeds):
    """('outputs', [arrays]) | ('load-failed', msg) | ('run-failed', msg) | ('loaded', None)."""
    try:
        s = session(path)
    except Exception as e:  # noqa: BLE001
        return "load-failed", first_line(e)
    if feeds is None:
        if s.get_inputs():
            return "loaded", None
        feeds = {}
    try:
        names = {i.name for i in s.get_inputs()}
        return "outputs", s.run(None, {k: v for k, v in feeds.items() if k in names})
    except Exception as e:  # noqa: BLE001
        return "run-failed", first_line(e)


def compare(expected, actual):
    """'identical' | 'close (max err E)' | a failure description."""
    if len(expected) != len(actual):
        return "FAIL: %d outputs vs %d" % (len(actual), len(expected))
    worst = 0.0
    for k, (e, a) in enumerate(zip(expected, actual)):
        e, a = np.asarray(e), np.asarray(a)
        if e.dtype != a.dtype or e.shape != a.shape:
            return "FAIL: output %d is %s%s, original %s%s" % (k, a.dtype, list(a.shape), e.dtype, list(e.shape))
        if e.dtype.kind in "fc":
            if np.array_equal(e, a, equal_nan=True):
                continue
            if not np.allclose(a, e, atol=1e-6, rtol=1e-6, equal_nan=True):
                return "FAIL: output %d differs (max err %.3g)" % (k, float(np.nanmax(np.abs(a - e))))
            worst = max(worst, float(np.nanmax(np.abs(a - e))))
        elif not np.array_equal(e, a):
            return "FAIL: output %d differs" % k
    return "identical" if worst == 0 else "close (max err %.3g)" % worst


def check_model(rel, path):
    """(problems, notes) for one re-encoded model; problems are new failures."""
    original = FIXTURES / rel
    problems, notes = [], {}
    notes["bytes"] = "identical" if path.read_bytes() == original.read_bytes() else "differ"

    new_check, old_check = checker(path), checker(original)
    if new_check is None:
        notes["checker"] = "ok"
    elif old_check is not None:
        notes["checker"] = "fails as the original does" if new_check == old_check else "fails (original fails too)"
        notes["checker_message"] = new_check
    else:
        notes["checker"] = "NEW FAILURE"
        problems.append("checker: " + new_check)

    feeds = feeds_for(rel)
    old_kind, old = ort_outcome(original, feeds)
    new_kind, new = ort_outcome(path, feeds)
    if old_kind == "outputs":
        if new_kind != "outputs":
            notes["ort"] = "NEW FAILURE"
            problems.append("onnxruntime (%s): %s" % (new_kind, new))
        else:
            verdict = compare(old, new)
            notes["ort"] = "ran, outputs " + verdict.split(" (")[0] if not verdict.startswith("FAIL") else "FAIL"
            if verdict.startswith("FAIL"):
                problems.append("onnxruntime: " + verdict)
            elif verdict != "identical":
                notes["ort_detail"] = verdict
    elif old_kind == "loaded":
        notes["ort"] = "loaded (no fixture inputs)" if new_kind == "loaded" else "NEW FAILURE"
        if new_kind != "loaded":
            problems.append("onnxruntime (%s): %s" % (new_kind, new))
    else:  # the original itself does not load or run in ORT
        notes["ort"] = "original %s in ORT; re-encoded %s" % (
            "does not load" if old_kind == "load-failed" else "fails to run",
            "too" if new_kind == old_kind else "differently: %s" % new_kind)
        notes["ort_message"] = old
        if new_kind != old_kind:
            problems.append("onnxruntime: original %s (%s), re-encoded %s (%s)" % (old_kind, old, new_kind, new))
    return problems, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scratch-path", default=".build-encoder")
    parser.add_argument("--output", help="write the re-encoded models here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--verbose", action="store_true", help="one line per model")
    args = parser.parse_args()

    print("onnx %s, onnxruntime %s, numpy %s" % (onnx.__version__, ort.__version__, np.__version__))
    output = Path(args.output).resolve() if args.output else Path(tempfile.mkdtemp(prefix="rnnrt-encoder-"))
    output.mkdir(parents=True, exist_ok=True)
    try:
        if not run_tests(output, args.scratch_path):
            return 1
        models = sorted(p for p in output.rglob("*.onnx"))
        if not models:
            print("the tests wrote no models to %s" % output)
            return 1
        print("\nchecking %d re-encoded models" % len(models))
        failures = []
        tallies = {"bytes": Counter(), "checker": Counter(), "ort": Counter()}
        messages = {"checker": Counter(), "ort": Counter()}
        by_source = Counter()
        for path in models:
            rel = path.relative_to(output).as_posix()
            by_source["/".join(rel.split("/")[:2]) if rel.startswith("onnx/") else rel.split("/")[0]] += 1
            try:
                problems, notes = check_model(rel, path)
            except Exception as e:  # noqa: BLE001 - a crash in the checker script is a failure to report
                problems, notes = ["check crashed: %s" % first_line(e)], {}
            for key in tallies:
                if key in notes:
                    tallies[key][notes[key]] += 1
            if "checker_message" in notes:
                messages["checker"][notes["checker_message"][:150]] += 1
            if "ort_message" in notes:
                messages["ort"][notes["ort_message"][:150]] += 1
            if problems:
                failures.append((rel, problems))
            if args.verbose:
                print("  %-60s %s" % (rel, "; ".join("%s: %s" % kv for kv in notes.items() if not kv[0].endswith("message"))))

        print("models by source: " + ", ".join("%s %d" % kv for kv in sorted(by_source.items())))
        print("byte-identical to the original file: %d of %d" % (tallies["bytes"]["identical"], len(models)))
        for key, title in (("checker", "onnx.checker (full_check=True)"), ("ort", "onnxruntime")):
            print("%s:" % title)
            for verdict, n in tallies[key].most_common():
                print("  %4d  %s" % (n, verdict))
            for message, n in messages[key].most_common(8):
                print("        %3d x  %s" % (n, message))
        if failures:
            print("\n%d NEW FAILURES:" % len(failures))
            for rel, problems in failures:
                for p in problems:
                    print("  %s: %s" % (rel, p))
            return 1
        print("\nno new failures: every re-encoded model checks and runs as its original does")
        return 0
    finally:
        if args.keep or args.output:
            print("re-encoded models kept in %s" % output)
        else:
            shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
