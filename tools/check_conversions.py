#!/usr/bin/env python3
"""Proves with PyTorch and onnxruntime that files `rnnrt convert` writes load and agree (developers; not CI).

For random nn.RNN/LSTM/GRU modules (every option, proj_size included), and nn.LSTMCell/GRUCell/RNNCell (tanh,
relu; with and without bias) stepped over a sequence:
  .pt → rnnrt convert → .onnx: onnx.checker passes; onnxruntime's outputs (with and without h0/c0) match
      PyTorch's to 1e-5 + 1e-4·|torch|;
  .onnx → rnnrt convert → .pt: torch.load(weights_only=True) reads it, load_state_dict(strict=True) accepts
      it into the same nn.Module, every tensor bit-identical to the original;
  .pt → rnnrt convert → .safetensors: safetensors.torch.load_file gives the same tensors.
Then `rnnrt verify` must catch PyTorch 2.15's broken dynamo export of an LSTM with proj_size (exit 2).

Usage, from the repository root:
    swift build -c release --product rnnrt
    python3 tools/check_conversions.py [--count 20] [--binary .build/release/rnnrt]
"""
import argparse
import logging
import random
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from safetensors.torch import load_file

from check_formats import flags, random_rnn  # tools/: the shared random module and its CLI flags

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
ort.set_default_logger_severity(3)


def random_module(rng):
    return random_rnn(rng, max_input=6, max_hidden=8, proj_chance=0.5).eval()


def close(a, b):
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-5 + 1e-4 * np.abs(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--binary", default=".build/release/rnnrt")
    args = ap.parse_args()
    rng = random.Random(7)
    torch.manual_seed(7)
    failures, worst = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.count):
            m = random_module(rng)
            pt, onnx_path, back, st = tmp / f"m{i}.pt", tmp / f"m{i}.onnx", tmp / f"b{i}.pt", tmp / f"m{i}.safetensors"
            torch.save(m.state_dict(), pt)
            module_flags = flags(m, stores_hyperparameters=False)
            for cmd in ([str(pt), "-o", str(onnx_path)] + module_flags, [str(onnx_path), "-o", str(back)], [str(pt), "-o", str(st)]):
                r = subprocess.run([args.binary, "convert"] + cmd, capture_output=True, text=True)
                if r.returncode:
                    print(f"FAIL convert {m}: {r.stderr.strip()}")
                    failures += 1
            onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
            session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
            T, N = rng.randint(1, 12), rng.randint(1, 3)
            x = torch.randn((N, T, m.input_size) if m.batch_first else (T, N, m.input_size))
            d = 2 if m.bidirectional else 1
            h_out = m.proj_size if getattr(m, "proj_size", 0) else m.hidden_size
            h0 = torch.randn(m.num_layers * d, N, h_out)
            c0 = torch.randn(m.num_layers * d, N, m.hidden_size)
            for with_state in (False, True):
                feeds = {"input": x.numpy()}
                with torch.no_grad():
                    if with_state:
                        feeds["h0"] = h0.numpy()
                        if isinstance(m, torch.nn.LSTM):
                            feeds["c0"] = c0.numpy()
                        y, s = m(x, (h0, c0) if isinstance(m, torch.nn.LSTM) else h0)
                    else:
                        y, s = m(x)
                expected = [y] + (list(s) if isinstance(s, tuple) else [s])
                got = session.run(None, feeds)
                for e, g in zip(expected, got):
                    e = e.numpy()
                    if not close(g, e):
                        print(f"FAIL onnxruntime vs torch {m} state={with_state}: max err {np.abs(g - e).max() if g.shape == e.shape else 'shape'}")
                        failures += 1
                    else:
                        worst = max(worst, float(np.abs(g - e).max()) if e.size else 0.0)
            loaded = torch.load(back, weights_only=True)
            twin = type(m)(**{k: getattr(m, k) for k in ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional"]},
                           **({"nonlinearity": m.nonlinearity} if isinstance(m, torch.nn.RNN) else {}),
                           **({"proj_size": m.proj_size} if isinstance(m, torch.nn.LSTM) else {}))
            twin.load_state_dict(loaded, strict=True)
            sd = m.state_dict()
            for name, t in list(loaded.items()) + list(load_file(st).items()):
                if not torch.equal(t, sd[name]):
                    print(f"FAIL {name} differs after the round trip ({m})")
                    failures += 1
        cell_failures, cell_worst = check_cells(args.binary, rng, tmp)
        failures += cell_failures
        worst = max(worst, cell_worst)
        # A real broken export: PyTorch 2.15's dynamo exporter and proj_size.
        proj = torch.nn.LSTM(4, 6, proj_size=3).eval()
        torch.save(proj.state_dict(), tmp / "proj.pt")
        torch.onnx.export(proj, (torch.randn(5, 2, 4),), tmp / "proj_dynamo.onnx", input_names=["input"], dynamo=True)
        r = subprocess.run([args.binary, "verify", str(tmp / "proj.pt"), str(tmp / "proj_dynamo.onnx")], capture_output=True, text=True)
        caught = r.returncode == 2 and "projection (weight_hr) dropped" in r.stdout
        print(f"verify on the dynamo proj_size export: exit {r.returncode}, {'diagnosed' if caught else 'NOT diagnosed'}")
        failures += 0 if caught else 1
    print(f"{args.count} modules: onnxruntime vs PyTorch largest error {worst:.2e}; {failures} failures")
    sys.exit(1 if failures else 0)


def step_cell(cell, x, h0, c0):
    """PyTorch calling `cell` once per time step of x ([T, N, I]): (each step's h, last h, last c)."""
    h, c, ys = h0, c0, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            if isinstance(cell, torch.nn.LSTMCell):
                h, c = cell(x[t], (h, c))
            else:
                h = cell(x[t], h)
            ys.append(h)
    return [torch.stack(ys), h.unsqueeze(0)] + ([c.unsqueeze(0)] if c is not None else [])


def check_cells(binary, rng, tmp):
    """Each cell kind, with and without bias: .pt → .onnx (one recurrent node) against PyTorch stepping the cell
    in onnxruntime, with zero and given state; .onnx → .pt loads strictly into the cell, bit-identical."""
    failures, worst = 0, 0.0
    kinds = [(torch.nn.LSTMCell, {}), (torch.nn.GRUCell, {}), (torch.nn.RNNCell, {}), (torch.nn.RNNCell, {"nonlinearity": "relu"})]
    for i, ((ctor, extra), bias) in enumerate((k, b) for k in kinds for b in (True, False)):
        cell = ctor(rng.randint(1, 6), rng.randint(1, 8), bias=bias, **extra).eval()
        pt, onnx_path, back = tmp / f"cell{i}.pt", tmp / f"cell{i}.onnx", tmp / f"cell{i}_back.pt"
        torch.save(cell.state_dict(), pt)
        nl = ["--nonlinearity", "relu"] if extra else []
        for cmd in ([str(pt), "-o", str(onnx_path)] + nl, [str(onnx_path), "-o", str(back)]):
            r = subprocess.run([binary, "convert"] + cmd, capture_output=True, text=True)
            failures += 1 if r.returncode else 0
        model = onnx.load(onnx_path)
        onnx.checker.check_model(model, full_check=True)
        recurrent = [n.op_type for n in model.graph.node if n.op_type in ("LSTM", "GRU", "RNN")]
        failures += 0 if len(recurrent) == 1 else 1
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        T, N, H = rng.randint(1, 12), rng.randint(1, 3), cell.hidden_size
        x = torch.randn(T, N, cell.input_size)
        lstm = isinstance(cell, torch.nn.LSTMCell)
        for h0, c0 in ((torch.zeros(N, H), torch.zeros(N, H)), (torch.randn(N, H), torch.randn(N, H))):
            feeds = {"input": x.numpy(), "h0": h0.unsqueeze(0).numpy()} | ({"c0": c0.unsqueeze(0).numpy()} if lstm else {})
            for e, g in zip(step_cell(cell, x, h0, c0 if lstm else None), session.run(None, feeds)):
                ok = close(g, e.numpy())
                failures += 0 if ok else 1
                worst = max(worst, float(np.abs(g - e.numpy()).max())) if ok else worst
                if not ok:
                    print(f"FAIL onnxruntime vs torch stepping {cell}")
        twin = type(cell)(cell.input_size, H, bias=bias, **extra)
        twin.load_state_dict(torch.load(back, weights_only=True), strict=True)
        for name, t in twin.state_dict().items():
            failures += 0 if torch.equal(t, cell.state_dict()[name]) else 1
    print(f"{len(kinds) * 2} cells: onnxruntime vs PyTorch stepping the cell largest error {worst:.2e}; {failures} failures")
    return failures, worst


if __name__ == "__main__":
    main()
