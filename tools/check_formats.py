#!/usr/bin/env python3
"""Out-of-sample check of every checkpoint format: random recurrent models saved by PyTorch in each format,
run through the built `rnnrt run`, compared with PyTorch (|ours - torch| <= 1e-5 + 1e-4|torch|).

Not part of CI (needs torch, numpy, safetensors). Usage, from the repository root:
    swift build -c release --product rnnrt
    python3 tools/check_formats.py [--count 10] [--binary .build/release/rnnrt]
Prints one line per failure and a summary with the largest error per format.
"""
import argparse
import random
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

warnings.filterwarnings("ignore")


class Model(torch.nn.Module):
    """A user's model: the recurrent layer sits under `body.rnn`, beside other layers."""

    def __init__(self, rnn):
        super().__init__()
        self.body = torch.nn.Module()
        self.body.rnn = rnn
        self.body.norm = torch.nn.LayerNorm(rnn.hidden_size)
        self.out = torch.nn.Linear(rnn.hidden_size, 3)
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))


def random_rnn(rng, max_input=9, max_hidden=12, proj_chance=0.4):
    """A random nn.RNN/LSTM/GRU exercising every option (shared with tools/check_conversions.py)."""
    kind = rng.choice(["RNN", "LSTM", "GRU"])
    kw = dict(input_size=rng.randint(1, max_input), hidden_size=rng.randint(2, max_hidden), num_layers=rng.randint(1, 3),
              bias=rng.random() > 0.2, batch_first=rng.random() > 0.5, bidirectional=rng.random() > 0.5)
    if kind == "RNN":
        kw["nonlinearity"] = rng.choice(["tanh", "relu"])
    if kind == "LSTM" and rng.random() > 1 - proj_chance:
        kw["proj_size"] = rng.randint(1, kw["hidden_size"] - 1)
    return getattr(torch.nn, kind)(**kw)


def flags(rnn, stores_hyperparameters):
    if stores_hyperparameters:
        return []
    out = ["--batch-first"] if rnn.batch_first else []
    if isinstance(rnn, torch.nn.RNN) and rnn.nonlinearity == "relu":
        out += ["--nonlinearity", "relu"]
    return out


def save(fmt, rnn, path):
    """Saves `rnn` (inside a Model where the format allows) and returns (prefix, stores hyperparameters)."""
    model = Model(rnn)
    if fmt == "state_dict":
        torch.save(rnn.state_dict(), path)
        return "", False
    if fmt == "legacy":
        torch.save({"epoch": 1, "model": model.state_dict()}, path, _use_new_zipfile_serialization=False)
        return "model.body.rnn.", False
    if fmt == "whole_module":
        torch.save(model, path)
        return "body.rnn.", True
    if fmt == "legacy_whole_module":
        torch.save(model, path, _use_new_zipfile_serialization=False)
        return "body.rnn.", True
    if fmt == "torchscript":
        torch.jit.save(torch.jit.script(model), path)
        return "body.rnn.", True
    if fmt == "safetensors":
        save_file({k: v.contiguous() for k, v in rnn.state_dict().items()}, path)
        return "", False
    if fmt == "npz":
        with open(path, "wb") as f:  # a file object, so numpy does not append ".npz" to the name
            np.savez_compressed(f, **{k: v.numpy() for k, v in rnn.state_dict().items()})
        return "", False
    if fmt == "float16":
        torch.save(rnn.half().state_dict(), path)
        return "", False
    raise ValueError(fmt)


FORMATS = ["state_dict", "legacy", "whole_module", "legacy_whole_module", "torchscript", "safetensors", "npz", "float16"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--binary", default=".build/release/rnnrt")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    worst = {f: 0.0 for f in FORMATS}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for fmt in FORMATS:
            for i in range(args.count):
                rnn = random_rnn(rng).eval()
                path = tmp / f"{fmt}_{i}.bin"
                prefix, stored = save(fmt, rnn, path)
                rnn = rnn.float()
                # Batches of 1–3, or of the sizes whose recurrent products run on row slivers (and neighbours).
                T, N = rng.randint(1, 60), rng.randint(1, 3) if rng.random() < 0.6 else rng.choice([7, 8, 13, 16, 24, 31, 32])
                x = torch.randn((N, T, rnn.input_size) if rnn.batch_first else (T, N, rnn.input_size))
                np.save(tmp / "x.npy", x.numpy())
                with torch.no_grad():
                    y, state = rnn(x)
                expected = {"output": y, "h_n": state[0] if isinstance(state, tuple) else state}
                if isinstance(state, tuple):
                    expected["c_n"] = state[1]
                out = tmp / "out"
                cmd = [args.binary, "run", str(path), str(tmp / "x.npy"), "--prefix", prefix, "-o", str(out)]
                r = subprocess.run(cmd + flags(rnn, stored), capture_output=True, text=True)
                if r.returncode != 0:
                    failures += 1
                    print(f"FAIL {fmt} {rnn}: {r.stderr.strip()}")
                    continue
                for name, want in expected.items():
                    got = torch.from_numpy(np.load(out / f"{name}.npy"))
                    err = (got - want).abs()
                    if got.shape != want.shape or bool((err > 1e-5 + 1e-4 * want.abs()).any()):
                        failures += 1
                        print(f"FAIL {fmt} {rnn} {name}: max error {err.max().item() if got.shape == want.shape else 'shape'}")
                    else:
                        worst[fmt] = max(worst[fmt], err.max().item() if err.numel() else 0.0)
    for fmt in FORMATS:
        print(f"{fmt:22s} {args.count} models, largest |rnnrt - torch| = {worst[fmt]:.2e}")
    print(f"{failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
