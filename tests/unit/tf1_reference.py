"""The TF1 cell equations in plain NumPy (float64), the reference for parity tests.

Written from ``../shared/reference/tf1_cells.md``; weights are keyed by their TF1
checkpoint names. Each ``step`` takes x ``[B, I]`` and a state tuple, returns
``(output, new_state)``.
"""

import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _split(v, n):
    return np.split(v, n, axis=-1)


def basic_rnn_step(w, x, state, **_):
    (h,) = state
    h = np.tanh(np.concatenate([x, h], -1) @ w["kernel"] + w["bias"])
    return h, (h,)


def basic_lstm_step(w, x, state, forget_bias=1.0, **_):
    c, h = state
    i, j, f, o = _split(np.concatenate([x, h], -1) @ w["kernel"] + w["bias"], 4)
    c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    h = np.tanh(c) * sigmoid(o)
    return h, (c, h)


def lstm_step(w, x, state, forget_bias=1.0, use_peepholes=False, cell_clip=None,
              num_proj=None, proj_clip=None, **_):
    c, m = state
    i, j, f, o = _split(np.concatenate([x, m], -1) @ w["kernel"] + w["bias"], 4)
    if use_peepholes:
        c = sigmoid(f + forget_bias + w["w_f_diag"] * c) * c + sigmoid(i + w["w_i_diag"] * c) * np.tanh(j)
    else:
        c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    if cell_clip is not None:
        c = np.clip(c, -cell_clip, cell_clip)
    m = sigmoid(o + w["w_o_diag"] * c if use_peepholes else o) * np.tanh(c)
    if num_proj is not None:
        m = m @ w["projection/kernel"]
        if proj_clip is not None:
            m = np.clip(m, -proj_clip, proj_clip)
    return m, (c, m)


def gru_step(w, x, state, **_):
    (h,) = state
    r, u = _split(sigmoid(np.concatenate([x, h], -1) @ w["gates/kernel"] + w["gates/bias"]), 2)
    cand = np.tanh(np.concatenate([x, r * h], -1) @ w["candidate/kernel"] + w["candidate/bias"])
    h = u * h + (1 - u) * cand
    return h, (h,)


def layer_norm(v, gamma, beta, epsilon):
    mean = v.mean(-1, keepdims=True)
    var = ((v - mean) ** 2).mean(-1, keepdims=True)
    return gamma * (v - mean) / np.sqrt(var + epsilon) + beta


def ln_basic_lstm_step(w, x, state, forget_bias=1.0, epsilon=1e-12, layer_norm_on=True, **_):
    c, h = state
    z = np.concatenate([x, h], -1) @ w["kernel"]
    if not layer_norm_on:
        z = z + w["bias"]
    gates = _split(z, 4)
    if layer_norm_on:
        gates = [
            layer_norm(g, w[f"{s}/gamma"], w[f"{s}/beta"], epsilon)
            for g, s in zip(gates, ("input", "transform", "forget", "output"))
        ]
    i, j, f, o = gates
    c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    if layer_norm_on:
        c = layer_norm(c, w["state/gamma"], w["state/beta"], epsilon)
    h = np.tanh(c) * sigmoid(o)
    return h, (c, h)


STEPS = {
    "basic_rnn": basic_rnn_step,
    "basic_lstm": basic_lstm_step,
    "lstm": lstm_step,
    "gru": gru_step,
    "ln_basic_lstm": ln_basic_lstm_step,
}


def tf1_shapes(name, features, units, num_proj=None, use_peepholes=False, layer_norm=True, **_):
    """TF1 variable shapes of cell ``name`` for input size ``features``."""
    rec = num_proj or units
    if name == "basic_rnn":
        return {"kernel": (features + units, units), "bias": (units,)}
    if name == "gru":
        return {
            "gates/kernel": (features + units, 2 * units), "gates/bias": (2 * units,),
            "candidate/kernel": (features + units, units), "candidate/bias": (units,),
        }
    shapes = {"kernel": (features + rec, 4 * units)}
    if name == "ln_basic_lstm" and not layer_norm:
        shapes["bias"] = (4 * units,)
        return shapes
    if name == "ln_basic_lstm":
        for s in ("input", "transform", "forget", "output", "state"):
            shapes[f"{s}/gamma"] = (units,)
            shapes[f"{s}/beta"] = (units,)
        return shapes
    shapes["bias"] = (4 * units,)
    if use_peepholes:
        shapes.update(w_i_diag=(units,), w_f_diag=(units,), w_o_diag=(units,))
    if num_proj:
        shapes["projection/kernel"] = (units, num_proj)
    return shapes


def random_tf1_weights(name, features, units, rng, **kwargs):
    """Random float32 weights by TF1 name; gains near 1 so layer norm is well scaled."""
    weights = {}
    for key, shape in tf1_shapes(name, features, units, **kwargs).items():
        scale = 1.0 / np.sqrt(shape[0]) if len(shape) == 2 else 0.5
        value = rng.normal(0.0, scale, shape)
        if key.endswith("gamma"):
            value = 1.0 + 0.2 * value
        weights[key] = value.astype(np.float32)
    return weights


def run_sequence(name, weights, x, units, num_proj=None, **kwargs):
    """Runs cell ``name`` over x ``[B, T, I]``; returns outputs ``[B, T, out]`` and the
    final state tuple, in float64."""
    step = STEPS[name]
    layer_norm_on = kwargs.pop("layer_norm", True)
    batch = x.shape[0]
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    if name in ("basic_rnn", "gru"):
        state = (np.zeros((batch, units)),)
    else:
        state = (np.zeros((batch, units)), np.zeros((batch, num_proj or units)))
    outputs = []
    for t in range(x.shape[1]):
        out, state = step(w, x[:, t].astype(np.float64), state, num_proj=num_proj,
                          layer_norm_on=layer_norm_on, **kwargs)
        outputs.append(out)
    return np.stack(outputs, 1), state
