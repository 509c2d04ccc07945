"""PyTorch equivalents of the suite's cells, for side-by-side speed references.

Same shape and training as the suite's model: the recurrent layer over ``[B, T, F]``,
its last step -> Linear(10) -> cross-entropy, Adam. ``torch`` is an optional extra
(``pip install -e ".[torch]"``); ``available()`` says whether it is installed.
"""

import importlib.util

from rnn_models.registry import get_spec

LAYER_NORM_LOOP = "layer-norm LSTM loop"  # the registry's name for _layer_norm_lstm


def available():
    return importlib.util.find_spec("torch") is not None


def equivalent(cell):
    """The registry's PyTorch stand-in for ``cell`` (e.g. ``"nn.LSTM"``), or None."""
    return get_spec(cell).torch_equivalent


def _layer_norm_lstm(torch, features, units, epsilon):
    """A plain PyTorch loop of TF1's LayerNormBasicLSTMCell equations."""
    nn = torch.nn

    class LayerNormLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.kernel = nn.Linear(features + units, 4 * units, bias=False)
            self.norms = nn.ModuleList(nn.LayerNorm(units, eps=epsilon) for _ in range(5))

        def forward(self, x):
            batch = x.shape[0]
            c = h = x.new_zeros(batch, units)
            for t in range(x.shape[1]):
                gates = self.kernel(torch.cat([x[:, t], h], dim=1)).chunk(4, dim=1)
                i, j, f, o = (norm(g) for norm, g in zip(self.norms, gates))
                c = self.norms[4](c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j))
                h = torch.tanh(c) * torch.sigmoid(o)
            return h

    return LayerNormLSTM()


class TorchModel:
    """The torch stand-in for ``config.cell``; ``train_step``/``inference_step`` take
    x ``[B, T, F]`` float32 and y ``[B]`` int64 tensors and return the loss as a float
    (``.item()`` waits for the step, as reading the loss back does in TensorFlow)."""

    def __init__(self, config, features):
        import torch

        kind = equivalent(config.cell)
        if kind is None:
            raise ValueError(f"The registry names no PyTorch equivalent for cell {config.cell!r}.")
        self.torch = torch
        torch.manual_seed(config.seed)
        units = config.units
        if kind == LAYER_NORM_LOOP:
            epsilon = config.cell_kwargs.get("epsilon", 1e-12)
            self.rnn = _layer_norm_lstm(torch, features, units, epsilon)
            self._last = self.rnn
        else:
            layer = getattr(torch.nn, kind.split(".")[1])(features, units, batch_first=True)
            self.rnn = layer
            self._last = lambda x: layer(x)[0][:, -1]
        self.head = torch.nn.Linear(units, 10)
        params = list(self.rnn.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.Adam(params, lr=config.learning_rate, eps=1e-8)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.clip_norm = config.clip_norm
        self.params = params

    def train_step(self, x, y):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.head(self._last(x)), y)
        loss.backward()
        if self.clip_norm is not None:
            self.torch.nn.utils.clip_grad_norm_(self.params, self.clip_norm)
        self.optimizer.step()
        return loss.item()

    def inference_step(self, x, y):
        with self.torch.inference_mode():
            return self.loss_fn(self.head(self._last(x)), y).item()


def torch_step(config, x, y, phase):
    """A warm ``fn() -> loss`` of the PyTorch stand-in's ``phase`` step on the batch
    ``x`` ``[B, T, F]`` float32, ``y`` ``[B]`` int."""
    import torch

    from rnn_models.speed.timing import WARMUP_STEPS

    model = TorchModel(config, features=x.shape[-1])
    tx, ty = torch.from_numpy(x), torch.from_numpy(y).long()
    step = model.train_step if phase == "train" else model.inference_step
    for _ in range(WARMUP_STEPS):
        step(tx, ty)
    return lambda: step(tx, ty)
