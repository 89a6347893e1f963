#!/usr/bin/env python3
"""rnnrt against PyTorch and onnxruntime on one core, measured in the same run (developers; not CI).

Prints the issue's table (forward medians, ratios against the faster peer), streaming ns/step, the
two-thread speed-up and model loading time. Needs torch, onnxruntime, numpy and a release build:
    swift build -c release --product rnnrt
    python3 tools/bench/compare.py [--quick] [--only NAME] [--dir /tmp/rnnrt-bench]
"""
import argparse
import json
import logging
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

MODELS = {
    "lstm_small_b1": (lambda: torch.nn.LSTM(64, 128), (100, 1, 64), 2.0),
    "gru_speech_b1": (lambda: torch.nn.GRU(80, 256, num_layers=3), (500, 1, 80), 1.5),
    "lstm_tiny_b1": (lambda: torch.nn.LSTM(1, 32), (2048, 1, 1), 2.5),
    "lstm_bi_b16": (lambda: torch.nn.LSTM(256, 512, num_layers=2, bidirectional=True), (200, 16, 256), 1.1),
}
STREAMS = {"lstm_h32": (lambda: torch.nn.LSTM(1, 32), 160, 240), "lstm_h64": (lambda: torch.nn.LSTM(1, 64), 700, 1110),
           "gru_h32": (lambda: torch.nn.GRU(1, 32), 130, 195)}


def median(xs):
    return sorted(xs)[len(xs) // 2]


def timed(fn, iterations, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    return median(samples)


def prepare(d, name, ctor, shape):
    pt, onnx_path, x_path = d / f"{name}.pt", d / f"{name}.onnx", d / f"{name}_x.npy"
    torch.manual_seed(0)
    m = ctor().eval()
    if not pt.exists():
        torch.save(m.state_dict(), pt)
    m.load_state_dict(torch.load(pt))
    x = torch.from_numpy(np.load(x_path)) if x_path.exists() else torch.randn(*shape)
    np.save(x_path, x.numpy())
    if not onnx_path.exists():
        outs = ["output", "h_n", "c_n"] if isinstance(m, torch.nn.LSTM) else ["output", "h_n"]
        torch.onnx.export(m, (x,), onnx_path, input_names=["input"], output_names=outs,
                          dynamic_axes={"input": {0: "seq", 1: "batch"}}, opset_version=17, dynamo=False)
    return m, x, pt, onnx_path, x_path


def rnnrt(binary, *args):
    r = subprocess.run([binary, "bench", *map(str, args), "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/rnnrt-bench")
    ap.add_argument("--binary", default=".build/release/rnnrt")
    ap.add_argument("--only")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, {cpu}; 1 thread unless noted\n")
    print("| name | PyTorch ms | ORT ms | rnnrt .pt ms | rnnrt .onnx ms | peer/rnnrt .pt | peer/rnnrt .onnx | target | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (ctor, shape, target) in MODELS.items():
        if args.only and name != args.only:
            continue
        m, x, pt, onnx_path, x_path = prepare(d, name, ctor, shape)
        big = name == "lstm_bi_b16"
        it, wu = (3, 1) if big or args.quick else (20, 3)
        with torch.inference_mode():
            t_torch = timed(lambda: m(x), it, wu)
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        feeds = {"input": x.numpy()}
        t_ort = timed(lambda: sess.run(None, feeds), it, wu)
        r_pt = rnnrt(args.binary, pt, x_path, "--threads", 1, "--iterations", it, "--warmup", wu)["median_ms"]
        r_onnx = rnnrt(args.binary, onnx_path, x_path, "--threads", 1, "--iterations", it, "--warmup", wu)["median_ms"]
        peer = min(t_torch, t_ort)
        met = peer / r_pt >= target and peer / r_onnx >= target
        print(f"| {name} | {t_torch:.3f} | {t_ort:.3f} | {r_pt:.3f} | {r_onnx:.3f} | {peer / r_pt:.2f}× | "
              f"{peer / r_onnx:.2f}× | ≥ {target}× | {'yes' if met else 'no'} |")

    print("\nStreaming (batch 1, input size 1, one step per call):\n")
    print("| layer | PyTorch ns/step | rnnrt ns/step | target | RTNeural (issue) | met |")
    print("|---|---|---|---|---|---|")
    for name, (ctor, target, rtneural) in STREAMS.items():
        if args.only and name != args.only:
            continue
        torch.manual_seed(0)
        m = ctor().eval()
        pt = d / f"stream_{name}.pt"
        torch.save(m.state_dict(), pt)
        steps = 2048
        xs = torch.randn(steps, 1, 1)
        with torch.inference_mode():
            def run_torch():
                state = None
                for t in range(steps):
                    _, state = m(xs[t:t + 1], state)
            t_torch = timed(run_torch, 3, 1) * 1e6 / steps
        r = rnnrt(args.binary, pt, "--stream", "--steps", steps, "--threads", 1, "--iterations", 20)["ns_per_step"]
        print(f"| {name} | {t_torch:.0f} | {r:.0f} | ≤ {target} | {rtneural} | {'yes' if r <= target else 'no'} |")

    print("\nTwo threads (rnnrt --threads 2 vs 1):\n")
    print("| name | 1 thread ms | 2 threads ms | speed-up |")
    print("|---|---|---|---|")
    for name in ["lstm_bi_b16", "gru_speech_b1"]:
        if args.only and name != args.only:
            continue
        pt, x_path = d / f"{name}.pt", d / f"{name}_x.npy"
        it = 3 if name == "lstm_bi_b16" else 10
        one = rnnrt(args.binary, pt, x_path, "--threads", 1, "--iterations", it, "--warmup", 1)["median_ms"]
        two = rnnrt(args.binary, pt, x_path, "--threads", 2, "--iterations", it, "--warmup", 1)["median_ms"]
        print(f"| {name} | {one:.1f} | {two:.1f} | {one / two:.2f}× |")

    if not args.only or args.only == "lstm_bi_b16":
        pt = d / "lstm_bi_b16.pt"
        torch.manual_seed(0)
        fresh = MODELS["lstm_bi_b16"][0]()
        torch_load = median([timed(lambda: fresh.load_state_dict(torch.load(pt)), 1, 0) for _ in range(5)])
        ours = median([rnnrt(args.binary, pt, "--threads", 1, "--iterations", 1, "--warmup", 0, "--steps", 1)["load_ms"] for _ in range(5)])
        print(f"\nLoading lstm_bi_b16.pt ({pt.stat().st_size / 1e6:.0f} MB): torch.load + load_state_dict {torch_load:.1f} ms, "
              f"rnnrt read + bind {ours:.1f} ms = {100 * ours / torch_load:.0f}% (target ≤ 20%)")


if __name__ == "__main__":
    main()
