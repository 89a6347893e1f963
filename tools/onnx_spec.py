#!/usr/bin/env python3
"""A plain NumPy implementation of the ONNX LSTM, GRU and RNN operators (opset 7-22 semantics).

Written from the operator documentation (onnx/docs/Operators.md), not from any runtime's source. It is the
oracle for Fixtures/onnx/spec/ and is cross-checked against onnxruntime and against the onnx backend node test
cases by tools/fixtures/onnx/make_*_fixtures.py.

Everything is computed in float64; results are cast back to the dtype of X.

    Y, Y_h, Y_c = lstm(X, W, R, B, sequence_lens, initial_h, initial_c, P, hidden_size=..., ...)
    Y, Y_h      = gru(X, W, R, B, sequence_lens, initial_h, linear_before_reset=..., ...)
    Y, Y_h      = rnn(X, W, R, B, sequence_lens, initial_h, ...)
    outputs     = run_node(node_proto, [input arrays or None])   # one entry per node output
    outputs     = run_model(model_proto, {name: array})         # single-node (or chain-free) graphs

Behaviour decided where the documentation is silent or open:

* Activation functions (names matched case-insensitively, as onnxruntime does):
      Relu max(0,x) · Tanh · Sigmoid 1/(1+e^-x) · Affine alpha*x+beta · LeakyRelu x if x>=0 else alpha*x ·
      ThresholdedRelu x if x>=alpha else 0 · ScaledTanh alpha*tanh(beta*x) ·
      HardSigmoid min(max(alpha*x+beta,0),1) · Elu x if x>=0 else alpha*(e^x-1) · Softsign x/(1+|x|) ·
      Softplus log(1+e^x)
  activation_alpha / activation_beta are consumed in activation order (forward list, then reverse list);
  only a function that uses alpha (resp. beta) takes the next value. When the list is exhausted the
  function's default applies: "the same as of corresponding ONNX operators" — LeakyRelu alpha 0.01,
  ThresholdedRelu alpha 1.0, HardSigmoid alpha 0.2 beta 0.5, Elu alpha 1.0. Affine and ScaledTanh
  have no ONNX operator (they were experimental ops, removed), so they require explicit values here.
  (onnxruntime differs: its missing ThresholdedRelu/Affine/ScaledTanh values default to 0.)
* activations omitted: LSTM [Sigmoid, Tanh, Tanh], GRU [Sigmoid, Tanh], RNN [Tanh], per direction.
  A list with exactly one direction's worth on a bidirectional node is used for both directions;
  the RNN schema default ["Tanh", "Tanh"] on a one-direction node uses the first entry.
* clip clamps every gate's pre-activation (after biases and peepholes are added) to [-clip, clip].
  With GRU linear_before_reset=0 and =1 this is the whole argument of g.
* input_forget=1 (LSTM): f = 1 - i, i after its activation (the forget gate's own weights are unused).
* sequence_lens (int32 [N]), as onnxruntime does it: for batch entry b with length L:
  the forward direction runs t = 0..L-1, the reverse direction t = L-1 down to 0; Y[t>=L, :, b] = 0;
  Y_h / Y_c of each direction are the state after its last processed step (forward: t = L-1,
  reverse: t = 0). L = 0 gives Y = 0 and Y_h = initial_h for that entry.
* layout=1: X [N,T,I], initial_h/c [N,D,H]; Y [N,T,D,H]; Y_h/Y_c [N,D,H]. Weights are unchanged.
"""
from __future__ import annotations

import numpy as np

__all__ = ["lstm", "gru", "rnn", "activation", "run_node", "run_model", "ACTIVATIONS"]

# name -> (uses alpha, uses beta, default alpha, default beta); None default = must be given
ACTIVATIONS = {
    "relu": (False, False, None, None),
    "tanh": (False, False, None, None),
    "sigmoid": (False, False, None, None),
    "affine": (True, True, None, None),
    "leakyrelu": (True, False, 0.01, None),
    "thresholdedrelu": (True, False, 1.0, None),
    "scaledtanh": (True, True, None, None),
    "hardsigmoid": (True, True, 0.2, 0.5),
    "elu": (True, False, 1.0, None),
    "softsign": (False, False, None, None),
    "softplus": (False, False, None, None),
}


def activation(name: str, alpha: float | None = None, beta: float | None = None):
    """The function `name` (spec spelling, any case) with its alpha/beta bound; float64 in and out."""
    key = name.lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation function {name!r}")
    if key == "relu":
        return lambda x: np.maximum(x, 0.0)
    if key == "tanh":
        return np.tanh
    if key == "sigmoid":
        return lambda x: 1.0 / (1.0 + np.exp(-x))
    if key == "affine":
        return lambda x: alpha * x + beta
    if key == "leakyrelu":
        return lambda x: np.where(x >= 0, x, alpha * x)
    if key == "thresholdedrelu":
        return lambda x: np.where(x >= alpha, x, 0.0)
    if key == "scaledtanh":
        return lambda x: alpha * np.tanh(beta * x)
    if key == "hardsigmoid":
        return lambda x: np.minimum(np.maximum(alpha * x + beta, 0.0), 1.0)
    if key == "elu":
        return lambda x: np.where(x >= 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1.0))
    if key == "softsign":
        return lambda x: x / (1.0 + np.abs(x))
    if key == "softplus":
        return lambda x: np.logaddexp(0.0, x)  # log(1 + e^x) without overflow
    raise AssertionError(key)


def resolve_activations(names, alphas, betas, per_direction: int, num_directions: int, default):
    """Returns [[fn per slot] per direction] after applying the consumption and default rules."""
    names = list(default) * num_directions if not names else [n.decode() if isinstance(n, bytes) else n
                                                               for n in names]
    if len(names) == per_direction and num_directions == 2:
        names = names * 2
    elif len(names) == per_direction * 2 and num_directions == 1 and len(set(names)) == 1:
        names = names[:per_direction]  # RNN's schema default ["Tanh", "Tanh"]
    if len(names) != per_direction * num_directions:
        raise ValueError(f"expected {per_direction * num_directions} activations, got {names}")
    alphas = list(alphas or [])
    betas = list(betas or [])
    fns = []
    for name in names:
        key = name.lower()
        if key not in ACTIVATIONS:
            raise ValueError(f"unknown activation function {name!r}")
        uses_a, uses_b, def_a, def_b = ACTIVATIONS[key]
        a = b = None
        if uses_a:
            a = alphas.pop(0) if alphas else def_a
            if a is None:
                raise ValueError(f"activation {name} needs an activation_alpha value")
        if uses_b:
            b = betas.pop(0) if betas else def_b
            if b is None:
                raise ValueError(f"activation {name} needs an activation_beta value")
        fns.append(activation(name, a, b))
    return [fns[d * per_direction:(d + 1) * per_direction] for d in range(num_directions)]


def _num_directions(direction):
    if isinstance(direction, bytes):
        direction = direction.decode()
    if direction not in ("forward", "reverse", "bidirectional"):
        raise ValueError(f"bad direction {direction!r}")
    return direction, (2 if direction == "bidirectional" else 1)


def _clipper(clip):
    if clip is None:
        return lambda x: x
    return lambda x: np.clip(x, -clip, clip)


def _run(kind, X, W, R, B, sequence_lens, initial_h, initial_c, P, *, hidden_size, direction, activations,
         activation_alpha, activation_beta, clip, input_forget, linear_before_reset, layout):
    direction, D = _num_directions(direction)
    out_dtype = X.dtype
    X = np.asarray(X, dtype=np.float64)
    if layout == 1:
        X = X.transpose(1, 0, 2)
        initial_h = None if initial_h is None else np.asarray(initial_h).transpose(1, 0, 2)
        initial_c = None if initial_c is None else np.asarray(initial_c).transpose(1, 0, 2)
    elif layout != 0:
        raise ValueError(f"bad layout {layout}")
    T, N, _ = X.shape
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    H = R.shape[-1]
    if hidden_size is not None and hidden_size != H:
        raise ValueError(f"hidden_size {hidden_size} != R's last dimension {H}")
    W = np.asarray(W, np.float64)
    R = np.asarray(R, np.float64)
    if W.shape[0] != D or W.shape[1] != G * H or R.shape != (D, G * H, H):
        raise ValueError(f"bad W {W.shape} / R {R.shape} for D={D} G={G} H={H}")
    B = np.zeros((D, 2 * G * H)) if B is None else np.asarray(B, np.float64)
    h0 = np.zeros((D, N, H)) if initial_h is None else np.asarray(initial_h, np.float64)
    c0 = np.zeros((D, N, H)) if initial_c is None else np.asarray(initial_c, np.float64)
    Pp = np.zeros((D, 3 * H)) if P is None else np.asarray(P, np.float64)
    lens = np.full(N, T, dtype=np.int64) if sequence_lens is None else np.asarray(sequence_lens).astype(np.int64)
    if lens.shape != (N,) or (lens < 0).any() or (lens > T).any():
        raise ValueError(f"bad sequence_lens {lens}")

    per_dir, default = {"LSTM": (3, ["Sigmoid", "Tanh", "Tanh"]), "GRU": (2, ["Sigmoid", "Tanh"]),
                        "RNN": (1, ["Tanh"])}[kind]
    acts = resolve_activations(activations, activation_alpha, activation_beta, per_dir, D, default)
    cl = _clipper(clip)

    Y = np.zeros((T, D, N, H))
    Y_h = np.zeros((D, N, H))
    Y_c = np.zeros((D, N, H))
    for d in range(D):
        reverse = direction == "reverse" or d == 1
        Wd, Rd = W[d], R[d]
        Wb, Rb = B[d, :G * H], B[d, G * H:]
        h, c = h0[d].copy(), c0[d].copy()
        steps = range(T - 1, -1, -1) if reverse else range(T)
        for t in steps:
            active = (t < lens)[:, None]  # entries whose sequence covers step t
            x = X[t]
            if kind == "LSTM":
                f_act, g_act, h_act = acts[d]
                gx = x @ Wd.T + Wb
                gh = h @ Rd.T + Rb
                gi, go, gf, gc = np.split(gx + gh, 4, axis=-1)
                pi, po, pf = np.split(Pp[d], 3)
                i = f_act(cl(gi + pi * c))
                if input_forget:
                    f = 1.0 - i
                else:
                    f = f_act(cl(gf + pf * c))
                cc = g_act(cl(gc))
                c_new = f * c + i * cc
                o = f_act(cl(go + po * c_new))
                h_new = o * h_act(c_new)
                c = np.where(active, c_new, c)
            elif kind == "GRU":
                f_act, g_act = acts[d]
                Wz, Wr, Wh = np.split(Wd, 3)
                Rz, Rr, Rh = np.split(Rd, 3)
                Wbz, Wbr, Wbh = np.split(Wb, 3)
                Rbz, Rbr, Rbh = np.split(Rb, 3)
                z = f_act(cl(x @ Wz.T + h @ Rz.T + Wbz + Rbz))
                r = f_act(cl(x @ Wr.T + h @ Rr.T + Wbr + Rbr))
                if linear_before_reset:
                    hh = g_act(cl(x @ Wh.T + r * (h @ Rh.T + Rbh) + Wbh))
                else:
                    hh = g_act(cl(x @ Wh.T + (r * h) @ Rh.T + Rbh + Wbh))
                h_new = (1.0 - z) * hh + z * h
            else:
                (f_act,) = acts[d]
                h_new = f_act(cl(x @ Wd.T + h @ Rd.T + Wb + Rb))
            h = np.where(active, h_new, h)
            Y[t, d] = np.where(active, h_new, 0.0)
        Y_h[d] = h
        Y_c[d] = c

    if layout == 1:
        Y = Y.transpose(2, 0, 1, 3)
        Y_h = Y_h.transpose(1, 0, 2)
        Y_c = Y_c.transpose(1, 0, 2)
    cast = lambda a: a.astype(out_dtype)  # noqa: E731
    if kind == "LSTM":
        return cast(Y), cast(Y_h), cast(Y_c)
    return cast(Y), cast(Y_h)


def lstm(X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *, hidden_size=None,
         direction="forward", activations=None, activation_alpha=None, activation_beta=None, clip=None,
         input_forget=0, layout=0):
    """ONNX LSTM: returns (Y, Y_h, Y_c) in X's dtype."""
    return _run("LSTM", X, W, R, B, sequence_lens, initial_h, initial_c, P, hidden_size=hidden_size,
                direction=direction, activations=activations, activation_alpha=activation_alpha,
                activation_beta=activation_beta, clip=clip, input_forget=input_forget, linear_before_reset=0,
                layout=layout)


def gru(X, W, R, B=None, sequence_lens=None, initial_h=None, *, hidden_size=None, direction="forward",
        activations=None, activation_alpha=None, activation_beta=None, clip=None, linear_before_reset=0, layout=0):
    """ONNX GRU: returns (Y, Y_h) in X's dtype."""
    return _run("GRU", X, W, R, B, sequence_lens, initial_h, None, None, hidden_size=hidden_size,
                direction=direction, activations=activations, activation_alpha=activation_alpha,
                activation_beta=activation_beta, clip=clip, input_forget=0,
                linear_before_reset=linear_before_reset, layout=layout)


def rnn(X, W, R, B=None, sequence_lens=None, initial_h=None, *, hidden_size=None, direction="forward",
        activations=None, activation_alpha=None, activation_beta=None, clip=None, layout=0):
    """ONNX RNN: returns (Y, Y_h) in X's dtype."""
    return _run("RNN", X, W, R, B, sequence_lens, initial_h, None, None, hidden_size=hidden_size,
                direction=direction, activations=activations, activation_alpha=activation_alpha,
                activation_beta=activation_beta, clip=clip, input_forget=0, linear_before_reset=0, layout=layout)


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def run_node(node, inputs):
    """Runs an LSTM/GRU/RNN NodeProto. `inputs` is a list aligned with node.input (None = omitted).
    Returns a list aligned with node.output (None where the output name is empty)."""
    a = _attrs(node)
    inputs = list(inputs) + [None] * (8 - len(inputs))
    common = dict(hidden_size=a.get("hidden_size"), direction=a.get("direction", "forward"),
                  activations=a.get("activations"), activation_alpha=a.get("activation_alpha"),
                  activation_beta=a.get("activation_beta"), clip=a.get("clip"), layout=a.get("layout", 0))
    if node.op_type == "LSTM":
        res = lstm(*inputs[:8], input_forget=a.get("input_forget", 0), **common)
    elif node.op_type == "GRU":
        res = gru(*inputs[:6], linear_before_reset=a.get("linear_before_reset", 0), **common)
    elif node.op_type == "RNN":
        res = rnn(*inputs[:6], **common)
    else:
        raise ValueError(f"not a recurrent op: {node.op_type}")
    return [res[k] if name else None for k, name in enumerate(node.output)]


def run_model(model, feeds):
    """Evaluates a graph made only of LSTM/GRU/RNN nodes (e.g. the spec fixtures). Returns the graph
    outputs, in order."""
    from onnx import numpy_helper
    env = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        ins = [env[n] if n else None for n in node.input]
        for name, val in zip(node.output, run_node(node, ins)):
            if name:
                env[name] = val
    return [env[o.name] for o in model.graph.output]
