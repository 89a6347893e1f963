#!/usr/bin/env python3
"""Out-of-sample check of rnnrt's ONNX writer (Sources/RNNRTONNX/ONNXEncoder.swift) with onnx and onnxruntime.

Runs the encoder tests with RNNRT_ENCODER_OUTPUT set, so every fixture model they round-trip is written
re-encoded by rnnrt to a temporary folder (same path as under Fixtures/), then for each written model:
  0. the re-encoded proto must equal the original once both drop what rnnrt's `Model` does not hold
     (doc strings, node/value metadata_props, ...; see DROPPED) and store tensors as raw_data;
  1. onnx.checker.check_model(full_check=True), on the re-encoded model and on the original; a failure the
     original shares is reported as such, a new one is an error;
  2. onnxruntime: both models are loaded and run on the fixture's inputs (case.json + inputs/<k>.npy, or
     examples/ids.npy; models without runtime inputs run with none) and every output is compared with the
     original's (exactly, or within 1e-6 + 1e-6|ref| when ORT's arithmetic is not bit-reproducible). A model
     ORT cannot load or run in its original form is skipped for this step, unless the re-encoded one
     behaves differently (one that loads where the original did not is listed as a note).
Also counts the re-encoded files that are byte-identical to the original (a file rnnrt's model holds
completely, written by onnx, comes back byte for byte).

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
ort.set_default_logger_severity(4)  # the expected load failures below are reported once, in the summary
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


# What rnnrt's `Model` does not hold, so the writer cannot reproduce: cleared from both protos before they
# are compared (with tensors rewritten as raw_data, attributes sorted by name and reduced to the field
# their type names, opset imports sorted with "ai.onnx" as "").
DROPPED = ("doc_strings, metadata_props below the model, model domain/version, functions, training info, "
           "sparse initializers, attribute-tensor names, stray attribute fields, non-tensor value types; invalid "
           "UTF-8 in string attributes is compared repaired, as rnnrt reads it")
ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 4: "t", 5: "g", 6: "floats", 7: "ints", 8: "strings", 9: "tensors",
                    10: "graphs"}


def normalized(model):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for field in ("doc_string", "domain", "model_version", "training_info", "functions", "configuration"):
        m.ClearField(field)
    opsets = sorted(((o.domain if o.domain != "ai.onnx" else ""), o.version) for o in m.opset_import)
    del m.opset_import[:]
    for domain, version in opsets:
        m.opset_import.add(domain=domain, version=version)
    normalize_graph(m.graph)
    return m


def normalize_tensor(t, keep_name):
    name = t.name if keep_name else ""
    t.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(t), name))


def normalize_graph(g):
    for field in ("doc_string", "metadata_props", "quantization_annotation", "sparse_initializer"):
        g.ClearField(field)
    for t in g.initializer:
        normalize_tensor(t, True)
    for v in list(g.input) + list(g.output) + list(g.value_info):
        normalize_value(v)
    for n in g.node:
        for field in ("doc_string", "metadata_props", "overload", "device_configurations"):
            n.ClearField(field)
        if n.domain == "ai.onnx":
            n.ClearField("domain")
        attributes = sorted(n.attribute, key=lambda a: a.name.encode())
        del n.attribute[:]
        for a in attributes:
            kind = a.type or next((k for k, f in ATTRIBUTE_FIELDS.items()
                                   if (a.HasField(f) if k <= 5 else len(getattr(a, f)) > 0)), 0)
            b = n.attribute.add(name=a.name, type=kind)
            field = ATTRIBUTE_FIELDS.get(kind)
            if field in ("f", "i", "s", "t", "g"):
                getattr(b, field).CopyFrom(getattr(a, field)) if field in ("t", "g") else setattr(b, field, getattr(a, field))
            elif field:
                getattr(b, field).extend(getattr(a, field))
            if kind == 3:
                b.s = utf8(b.s)
            if kind == 8:
                repaired = [utf8(x) for x in b.strings]
                del b.strings[:]
                b.strings.extend(repaired)
            if b.HasField("t"):
                normalize_tensor(b.t, False)
            for t in b.tensors:
                normalize_tensor(t, False)
            if b.HasField("g"):
                normalize_graph(b.g)
            for sub in b.graphs:
                normalize_graph(sub)


def utf8(data):
    return data.decode("utf-8", "replace").encode("utf-8")


def normalize_value(v):
    for field in ("doc_string", "metadata_props"):
        v.ClearField(field)
    if not v.type.HasField("tensor_type"):
        v.ClearField("type")
        return
    v.type.ClearField("denotation")
    tt = v.type.tensor_type
    if tt.HasField("shape"):
        for d in tt.shape.dim:
            d.ClearField("denotation")
            if (d.HasField("dim_value") and d.dim_value < 0) or (d.HasField("dim_param") and not d.dim_param):
                d.Clear()
    elif tt.elem_type == 0:
        v.ClearField("type")


def semantically_equal(original, path):
    """None when the protos agree once what rnnrt does not model is dropped, else where they differ."""
    a = normalized(onnx.load(str(original)))
    b = normalized(onnx.load(str(path)))
    if a == b:
        return None
    for field in a.DESCRIPTOR.fields:
        if getattr(a, field.name) != getattr(b, field.name):
            if field.name != "graph":
                return "ModelProto." + field.name
            for gf in a.graph.DESCRIPTOR.fields:
                if getattr(a.graph, gf.name) != getattr(b.graph, gf.name):
                    return "GraphProto." + gf.name
    return "?"


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
    options.log_severity_level = 4
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
    difference = semantically_equal(original, path)
    notes["proto"] = "equal" if difference is None else "DIFFERENT"
    if difference is not None:
        problems.append("the re-encoded proto differs from the original in " + difference)

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
        what = "does not load" if old_kind == "load-failed" else "fails to run"
        notes["ort_message"] = old
        if new_kind == old_kind:
            notes["ort"] = "original %s in ORT; re-encoded the same" % what
        elif old_kind == "load-failed" and new_kind in ("loaded", "outputs"):
            # Something the original holds beside what rnnrt models (and so did not write) made ORT
            # refuse it: not a writer failure, but listed so it is seen.
            notes["ort"] = "original does not load in ORT; re-encoded does"
            notes["ort_detail"] = "re-encoded loads; original: " + old
        else:
            notes["ort"] = "original %s in ORT; re-encoded differently" % what
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
        failures, details = [], []
        tallies = {"bytes": Counter(), "proto": Counter(), "checker": Counter(), "ort": Counter()}
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
            if "ort_detail" in notes and notes["ort_detail"].startswith("re-encoded loads"):
                details.append((rel, notes["ort_detail"]))
            if args.verbose:
                print("  %-60s %s" % (rel, "; ".join("%s: %s" % kv for kv in notes.items() if not kv[0].endswith("message"))))

        print("models by source: " + ", ".join("%s %d" % kv for kv in sorted(by_source.items())))
        print("byte-identical to the original file: %d of %d" % (tallies["bytes"]["identical"], len(models)))
        print("equal to the original proto without what rnnrt's Model does not hold (%s): %d of %d"
              % (DROPPED, tallies["proto"]["equal"], len(models)))
        for key, title in (("checker", "onnx.checker (full_check=True)"), ("ort", "onnxruntime")):
            print("%s:" % title)
            for verdict, n in tallies[key].most_common():
                print("  %4d  %s" % (n, verdict))
            for message, n in messages[key].most_common(8):
                print("        %3d x  %s" % (n, message))
        for rel, detail in details:
            print("note: %s: %s" % (rel, detail[:300]))
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
