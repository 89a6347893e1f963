#!/usr/bin/env python3
"""Checks rnnrt's checkpoint writers (`StateDict.writeTorch`, `StateDict.writeSafeTensors`) with PyTorch and
safetensors themselves.

Not part of CI (needs torch, safetensors, numpy). Usage, from the repository root:
    python3 tools/check_writers.py [--output DIR] [--skip-swift]

It runs the Swift writer tests with RNNRT_WRITER_OUTPUT=DIR, which leaves one folder per case holding
`model.pt`, `model.safetensors` (unless the case has complex128 tensors) and `manifest.json` (each tensor's
name, dtype, shape, byte count and CRC-32 as rnnrt read it from the fixture, plus the safetensors metadata
used and, for Fixtures/formats cases, the module and prefix from case.json). Then, per case:

.pt
  - torch.load(weights_only=True) gives a collections.OrderedDict with the manifest's names in order, each a
    contiguous CPU tensor with requires_grad False and the manifest's dtype, shape and bytes (CRC-32);
  - torch.load(weights_only=True, mmap=True) gives the same;
  - the zip has torch.save's entries in torch.save's order, all stored, valid CRCs, every entry's data
    64-byte aligned;
  - when the fixture itself loads with torch.load(weights_only=True) or safetensors as a flat dict of
    tensors, the written tensors are bitwise equal to the fixture's;
  - every recurrent module in it (from case.json, or inferred from parameter names and shapes) is built as
    nn.LSTM/nn.GRU/nn.RNN and load_state_dict(strict=True) accepts its tensors.
.safetensors
  - safetensors.torch.load_file gives the manifest's tensors; safe_open(...).metadata() is the manifest's;
  - save_file of the same tensors (as torch.load read them from the .pt, else from load_file) with the same
    metadata writes the identical bytes. With two or more metadata keys save_file's key order comes from a
    Rust HashMap and varies between calls, so it is called until one call matches (at most 64 calls).

Prints one line per case and a summary; exits 1 if anything failed.
"""
import argparse
import collections
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "int64": torch.int64, "int32": torch.int32, "int16": torch.int16, "int8": torch.int8,
    "uint64": torch.uint64, "uint32": torch.uint32, "uint16": torch.uint16, "uint8": torch.uint8,
    "bool": torch.bool, "complex64": torch.complex64, "complex128": torch.complex128,
}

PARAM = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")


def raw_bytes(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def check_tensors(tensors, manifest, ordered, problems, label):
    names = [e["name"] for e in manifest["tensors"]]
    got = list(tensors.keys())
    if ordered and got != names:
        problems.append(f"{label}: names {got[:4]}... differ from the manifest's {names[:4]}...")
    if not ordered and sorted(got) != sorted(names):
        problems.append(f"{label}: name set differs from the manifest's")
    for e in manifest["tensors"]:
        t = tensors.get(e["name"])
        if not isinstance(t, torch.Tensor):
            problems.append(f"{label} {e['name']!r}: not a tensor")
            continue
        if t.dtype != DTYPES[e["dtype"]]:
            problems.append(f"{label} {e['name']!r}: dtype {t.dtype}, expected {e['dtype']}")
        if list(t.shape) != e["shape"]:
            problems.append(f"{label} {e['name']!r}: shape {list(t.shape)}, expected {e['shape']}")
        if not t.is_contiguous() or t.requires_grad or t.device.type != "cpu":
            problems.append(f"{label} {e['name']!r}: not a contiguous cpu tensor without grad")
        data = raw_bytes(t)
        if len(data) != e["nbytes"] or zlib.crc32(data) != e["crc32"]:
            problems.append(f"{label} {e['name']!r}: bytes differ from rnnrt's ({len(data)} vs {e['nbytes']})")


def check_zip(path, manifest, problems):
    n = len(manifest["tensors"])
    expected = (["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment", "archive/byteorder"]
                + [f"archive/data/{i}" for i in range(n)] + ["archive/version"])
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        if [i.filename for i in infos] != expected:
            problems.append(f"zip entries {[i.filename for i in infos]} != {expected}")
        if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
            problems.append("zip: an entry is compressed")
        bad = z.testzip()
        if bad is not None:
            problems.append(f"zip: bad CRC in {bad}")
        texts = {k: z.read(f"archive/{k}") for k in [".format_version", ".storage_alignment", "byteorder", "version"]}
        if texts != {".format_version": b"1", ".storage_alignment": b"64", "byteorder": b"little", "version": b"3\n"}:
            problems.append(f"zip: records {texts}")
    with open(path, "rb") as f:
        raw = f.read()
    misaligned = []
    for i in infos:
        h = i.header_offset
        name_len, extra_len = struct.unpack("<HH", raw[h + 26:h + 30])
        start = h + 30 + name_len + extra_len
        if start % 64:
            misaligned.append((i.filename, start))
    if misaligned:
        problems.append(f"zip: data not 64-byte aligned: {misaligned[:3]}")


def rnn_modules(tensors, manifest):
    """(prefix, module) for each recurrent module: case.json's, else inferred from names and shapes."""
    if manifest.get("module"):
        return [(manifest.get("prefix") or "", eval(manifest["module"], {"nn": torch.nn}))]
    out = []
    for name in tensors:
        if not name.endswith("weight_ih_l0"):
            continue
        prefix = name[: -len("weight_ih_l0")]
        params = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix) and PARAM.match(k[len(prefix):])}
        w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
        hidden = params["weight_hr_l0"].shape[1] if "weight_hr_l0" in params else w_hh.shape[1]
        gates = w_ih.shape[0] // hidden
        kind = {4: torch.nn.LSTM, 3: torch.nn.GRU, 1: torch.nn.RNN}[gates]
        kw = dict(input_size=w_ih.shape[1], hidden_size=hidden,
                  num_layers=1 + max(int(PARAM.match(k).group(2)) for k in params),
                  bias="bias_ih_l0" in params, bidirectional=any(k.endswith("_reverse") for k in params))
        if "weight_hr_l0" in params:
            kw["proj_size"] = params["weight_hr_l0"].shape[0]
        out.append((prefix, kind(**kw)))
    return out


def check_modules(tensors, manifest, problems):
    built = []
    for prefix, module in rnn_modules(tensors, manifest):
        sub = {k[len(prefix):]: v for k, v in tensors.items()
               if k.startswith(prefix) and PARAM.match(k[len(prefix):])}
        try:
            module.load_state_dict(sub, strict=True)
            built.append(f"{prefix or '(root)'}: {module}")
        except Exception as error:  # noqa: BLE001 - reported
            problems.append(f"load_state_dict(strict=True) of {module} at {prefix!r}: {error}")
    return built


def load_source(path):
    """The fixture as a flat dict of tensors when torch/safetensors can load it that way, else None."""
    if path is None:
        return None
    try:
        if path.endswith(".safetensors"):
            return load_file(path)
        with warnings.catch_warnings():  # protocol 4/5 and TorchScript fixtures warn
            warnings.simplefilter("ignore")
            obj = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - not every fixture is a weights-only state dict
        return None
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    return None


def check_case(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    problems, notes, stats = [], [], collections.Counter()
    pt_tensors = None
    if manifest["pt"]:
        pt = str(folder / manifest["pt"])
        try:
            pt_tensors = torch.load(pt, weights_only=True)
        except Exception as error:  # noqa: BLE001 - reported
            problems.append(f"torch.load(weights_only=True) failed: {error}")
        if pt_tensors is not None:
            if type(pt_tensors) is not collections.OrderedDict:
                problems.append(f"torch.load gave {type(pt_tensors).__name__}, expected OrderedDict")
            check_tensors(pt_tensors, manifest, True, problems, ".pt")
            try:
                check_tensors(torch.load(pt, weights_only=True, mmap=True), manifest, True, problems, ".pt (mmap)")
            except Exception as error:  # noqa: BLE001 - reported
                problems.append(f"torch.load(mmap=True) failed: {error}")
            check_zip(pt, manifest, problems)
            source = load_source(manifest["source"])
            if source is not None:
                same_names = (sorted(source) == sorted(pt_tensors) if manifest["source"].endswith(".safetensors")
                              else list(source) == list(pt_tensors))
                if not same_names:
                    problems.append("names differ from the fixture's")
                for k, v in source.items():
                    w = pt_tensors.get(k)
                    if w is None or w.dtype != v.dtype or w.shape != v.shape or raw_bytes(w) != raw_bytes(v):
                        problems.append(f"{k!r} differs from the fixture's tensor")
                notes.append("= fixture")
                stats["fixture"] += 1
            modules = check_modules(pt_tensors, manifest, problems)
            notes += modules
            stats["modules"] += len(modules)
    if manifest["safetensors"]:
        st = str(folder / manifest["safetensors"])
        metadata = manifest["metadata"] or None
        try:
            st_tensors = load_file(st)
            check_tensors(st_tensors, manifest, False, problems, ".safetensors")
            with safe_open(st, "pt") as f:
                if (f.metadata() or None) != metadata:
                    problems.append(f"metadata {f.metadata()} != {metadata}")
        except Exception as error:  # noqa: BLE001 - reported
            problems.append(f"safetensors load_file failed: {error}")
            st_tensors = None
        ours = Path(st).read_bytes()
        source_tensors = pt_tensors if pt_tensors is not None else st_tensors
        if source_tensors is not None:
            identical = False
            with tempfile.TemporaryDirectory() as tmp:
                ref = os.path.join(tmp, "ref.safetensors")
                for _ in range(64 if metadata and len(metadata) > 1 else 1):
                    save_file(dict(source_tensors), ref, metadata=metadata)
                    if Path(ref).read_bytes() == ours:
                        identical = True
                        break
            if identical:
                notes.append("safetensors byte-identical to save_file")
                stats["identical"] += 1
            else:
                problems.append("safetensors bytes differ from save_file's")
    return manifest, problems, notes, stats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="folder for the written files (default: a new temporary folder)")
    parser.add_argument("--skip-swift", action="store_true", help="check files already in --output")
    args = parser.parse_args()
    out = Path(args.output or tempfile.mkdtemp(prefix="rnnrt-writers-")).resolve()
    if not args.skip_swift:
        out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, RNNRT_WRITER_OUTPUT=str(out))
        cmd = ["swift", "test", "--scratch-path", ".build-writers", "--filter", "Writer"]
        print("$ RNNRT_WRITER_OUTPUT=%s %s" % (out, " ".join(cmd)), flush=True)
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        summary = [line for line in run.stdout.splitlines() if "Test run with" in line]
        print(summary[-1].strip() if summary else run.stdout[-2000:] + run.stderr[-2000:])
        if run.returncode != 0:
            print("swift test failed", file=sys.stderr)
            return 1
    cases = sorted(p.parent for p in out.glob("*/manifest.json"))
    failed = 0
    counts = collections.Counter()
    for folder in cases:
        manifest, problems, notes, stats = check_case(folder)
        counts.update(stats)
        counts["tensors"] += len(manifest["tensors"])
        counts["pt"] += bool(manifest["pt"])
        counts["safetensors"] += bool(manifest["safetensors"])
        status = "FAIL" if problems else "ok  "
        print(f"{status} {folder.name} ({len(manifest['tensors'])} tensors)" + ("; " + "; ".join(notes) if notes else ""))
        for p in problems[:10]:
            print(f"       {p}")
        failed += bool(problems)
    print(f"\n{len(cases)} cases, {failed} failed: {counts['pt']} .pt files loaded by torch.load(weights_only=True), "
          f"{counts['safetensors']} .safetensors files ({counts['identical']} byte-identical to save_file), "
          f"{counts['tensors']} tensors, {counts['fixture']} cases bitwise equal to the fixture as torch/safetensors "
          f"load it, {counts['modules']} recurrent modules accepted by load_state_dict(strict=True)")
    print(f"files in {out}")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
