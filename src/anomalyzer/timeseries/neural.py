"""A neural forecaster: points far from what a temporal convolution network expected.

The network reads the last ``2 ** levels`` points of every channel (robustly
standardised, clipped at 10 SD) and forecasts the next point of each. It is a
temporal convolution network (TCN, Bai et al. 2018; WaveNet's dilated causal
convolutions): ``levels`` layers of kernel-2 convolutions with dilations 1, 2,
4, ..., each followed by a ReLU, then a 1 × 1 convolution to the channels. A
point's residual (observed minus forecast) on the robust-SD scale of the
training residuals is its ``z``; the channels are combined as every series
detector combines them (a Mahalanobis distance over their residual correlation).

Training draws ``steps`` mini-batches of ``batch_size`` random stretches of
the series and minimises the Huber loss of every forecast in them, so its cost
does not grow with the length of the series; the Huber loss and the clipping
keep the anomalies of the training series from being learned as normal.

The forecast uses the past only, so ``causal=True`` and ``causal=False`` give
the same scores, and :meth:`update` streams. The first ``2 ** levels`` points
of a series have no forecast and score 0.

Training uses PyTorch (the ``torch`` extra) on a GPU when ``device="auto"``
finds one; scoring runs in numpy in float64 from the learned weights, kept as
plain arrays (``weights_``), so a fitted detector is saved and scored without
torch, and a point scores the same streamed alone or in a batch.

>>> t = np.arange(3000)
>>> x = np.sin(2 * np.pi * t / 40) + 0.05 * np.random.default_rng(0).normal(size=t.size)
>>> x[2500] += 1.0
>>> det = NeuralForecast(steps=150, random_state=0).fit(x)
>>> int(np.argmax(det.decision_scores_))
2500
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from anomalyzer.detectors.autoencoder import (
    _parse_device,
    _require_torch,
    _resolve_device,
    _torch_session,
    robust_standardisation,
)
from anomalyzer.errors import AnomalyzerError
from anomalyzer.timeseries.base import SeriesDetector, SeriesParts, robust_scale
from anomalyzer.validation import check_float, check_int

torch: Any
try:
    import torch
except ImportError:
    torch = None

# Standardised values beyond this are clipped before the network sees them.
_CLIP = 10.0
# Forecasts per training stretch, after the points of context.
_STRETCH = 64
# Mini-batch sizes chosen by batch_size=None: a CPU does best with small
# batches of these tiny networks, a GPU with larger ones.
_CPU_BATCH = 32
_GPU_BATCH = 256
# Residual scale floor, in standardised units: a perfectly learned series
# (a pure sine) must not turn rounding noise into huge scores.
_MIN_RESIDUAL_SCALE = 1e-3


class NeuralForecast(SeriesDetector):
    """Residuals of a temporal convolution network's one-step forecast.

    Parameters
    ----------
    levels:
        Dilated layers; the network reads the last ``2 ** levels`` points.
    hidden:
        Filters per layer.
    steps:
        Training mini-batches (the training cost is bounded by it).
    batch_size:
        Stretches of ``2 ** levels + 64`` points per mini-batch; None picks 32
        on a CPU and 256 on a GPU.
    learning_rate:
        Adam's step size (decayed to a tenth along a cosine over the steps).
    device:
        ``"auto"`` (a CUDA GPU when available, else the CPU), ``"cpu"`` or
        ``"cuda[:i]"``; only training runs there.
    causal:
        Kept for the contract; the forecast always uses the past only.
    contamination:
        Share of anomalies, or ``"auto"`` to read it off the scores.
    random_state:
        Seeds the weights and the training stretches: the same value gives the
        same scores on the CPU (on a GPU, close ones).

    Attributes
    ----------
    weights_:
        The network's weights and biases as float64 arrays: ``"conv{j}.weight"``
        of shape ``(out, in, 2)`` per level and ``"out.weight"`` ``(d, hidden, 1)``.
    center_, scale_:
        The robust standardisation of each channel.
    residual_scale_:
        Robust SD of the training residuals per channel (standardised units).
    loss_curve_:
        Mean training loss per hundred steps.
    """

    def __init__(
        self,
        levels: int = 5,
        hidden: int = 16,
        steps: int = 200,
        batch_size: int | None = None,
        learning_rate: float = 3e-3,
        device: str = "auto",
        causal: bool = False,
        contamination: float | str = "auto",
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.levels = levels
        self.hidden = hidden
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.causal = causal
        self.contamination = contamination
        self.random_state = random_state

    @property
    def context(self) -> int:
        """Points the network reads to forecast the next one."""
        return 2 ** int(self.levels)

    def _validate_params(self) -> None:
        check_int("levels", self.levels, minimum=1)
        if int(self.levels) > 10:
            raise AnomalyzerError(
                f"levels must be at most 10 (a context of 1,024 points), got {self.levels!r}."
            )
        check_int("hidden", self.hidden, minimum=1)
        check_int("steps", self.steps, minimum=1)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, minimum=1)
        check_float("learning_rate", self.learning_rate, low=0)
        _parse_device(self.device)

    # -- training -----------------------------------------------------------------

    def _fit(self, X: np.ndarray) -> None:
        n, d = X.shape
        w = self.context
        if n < w + 8:
            raise AnomalyzerError(
                f"levels={self.levels} reads {w} points to forecast one and needs a series of "
                f"at least {w + 8} points, got {n}; use fewer levels or a longer series."
            )
        _require_torch()
        device = _resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.center_, self.scale_ = robust_standardisation(X)
        Z = self._standardise(X).astype(np.float32)
        length = min(n, w + _STRETCH)
        batch = self.batch_size or (_GPU_BATCH if device.type == "cuda" else _CPU_BATCH)
        starts = rng.randint(0, n - length + 1, size=(int(self.steps), int(batch)))
        with _torch_session(device, seed, int(self.hidden)):
            net = _network(d, int(self.hidden), int(self.levels)).to(device)
            self.loss_curve_ = _train(net, Z, starts, length, w, device, float(self.learning_rate))
            self.weights_ = {
                k: v.detach().cpu().double().numpy().copy() for k, v in net.state_dict().items()
            }
        self.device_ = str(device)
        pred = self._forecast(self._standardise(X))
        residual = np.clip(self._standardise(X), -_CLIP, _CLIP)[w:] - pred
        self.residual_scale_ = robust_scale(residual, floor=_MIN_RESIDUAL_SCALE)

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.center_) / self.scale_

    def _forecast(self, Z: np.ndarray) -> np.ndarray:
        """Forecasts of points ``w .. n-1`` of the standardised series ``Z`` (numpy, float64).

        Valid (unpadded) dilated convolutions over the whole series: the output
        at position ``j`` reads points ``j .. j + w - 1`` and forecasts point ``j + w``.
        """
        h = np.clip(Z, -_CLIP, _CLIP)
        for j in range(int(self.levels)):
            weight, bias, dil = (
                self.weights_[f"conv{j}.weight"],
                self.weights_[f"conv{j}.bias"],
                2**j,
            )
            h = h[:-dil] @ weight[:, :, 0].T + h[dil:] @ weight[:, :, 1].T + bias
            np.maximum(h, 0.0, out=h)
        out = h @ self.weights_["out.weight"][:, :, 0].T + self.weights_["out.bias"]
        return out[:-1]

    # -- scoring (the forecast is causal: batch and stream share it) -------------

    def _new_state(self) -> dict[str, Any]:
        return {"buffer": np.empty((0, self.n_features_in_))}

    def _step(self, state: dict[str, Any], X: np.ndarray) -> SeriesParts:
        w = self.context
        k = state["buffer"].shape[0]
        values = np.concatenate([state["buffer"], X])
        m, d = X.shape
        z = np.zeros((m, d))
        expected = np.full((m, d), np.nan)
        if values.shape[0] > w:
            Z = self._standardise(values)
            pred = self._forecast(Z)  # for positions w .. len(values) - 1
            first = max(w, k)  # the first position of X that has a forecast
            rows = np.arange(first, values.shape[0])
            f = pred[rows - w]
            # The observed value as it is: clipping only protects the network's input.
            z[rows - k] = (Z[rows] - f) / self.residual_scale_
            expected[rows - k] = f * self.scale_ + self.center_
        state["buffer"] = values[values.shape[0] - min(w, values.shape[0]) :].copy()
        scale = np.broadcast_to(self.residual_scale_ * self.scale_, (m, d)).copy()
        return SeriesParts(z=z, expected=expected, scale=scale)


def _network(d: int, hidden: int, levels: int) -> Any:
    """Dilated kernel-2 convolutions (no padding) with ReLUs, then a 1 × 1 convolution."""
    nn: Any = torch.nn

    class _TCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for j in range(levels):
                conv = nn.Conv1d(d if j == 0 else hidden, hidden, kernel_size=2, dilation=2**j)
                self.add_module(f"conv{j}", conv)
            self.out = nn.Conv1d(hidden, d, kernel_size=1)

        def forward(self, x: Any) -> Any:
            for j in range(levels):
                x = torch.relu(getattr(self, f"conv{j}")(x))
            return self.out(x)

    return _TCN()


def _train(
    net: Any,
    Z: np.ndarray,
    starts: np.ndarray,
    length: int,
    w: int,
    device: Any,
    learning_rate: float,
) -> list[float]:
    """Adam on the Huber loss of the one-step forecasts in random stretches of ``Z``."""
    series = torch.from_numpy(np.ascontiguousarray(Z.T)).to(device)  # (d, n)
    clipped = series.clamp(-_CLIP, _CLIP)
    offsets = torch.arange(length, device=device)
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)
    steps = starts.shape[0]
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=steps, eta_min=learning_rate / 10
    )
    losses, running = [], 0.0
    net.train()
    for i in range(steps):
        index = torch.from_numpy(starts[i]).to(device)[:, None] + offsets  # (batch, length)
        x = clipped[:, index].permute(1, 0, 2)  # (batch, d, length)
        forecast = net(x)[:, :, :-1]
        loss = torch.nn.functional.huber_loss(forecast, x[:, :, w:], delta=1.0)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        running += float(loss.detach())
        if (i + 1) % 100 == 0 or i + 1 == steps:
            losses.append(running / ((i % 100) + 1))
            running = 0.0
    net.eval()
    return losses
