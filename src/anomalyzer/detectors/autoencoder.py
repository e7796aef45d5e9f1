"""Neural autoencoder: rows the network cannot reconstruct are anomalous.

A multilayer perceptron squeezes the robustly standardised features through a
narrow bottleneck and back. It learns to reproduce the structure shared by
most rows, so a row whose features break that structure comes back with a
large reconstruction error. The score is that error (mean of the squared
per-feature errors), and the explanation is the per-feature squared error
itself, so the contributions add up to ``n_features`` times the score.

Two choices keep the anomalies from being learned as if they were normal.
Each training mini-batch leaves its worst-reconstructed 10% of rows out of
the loss (a trimmed mean squared error). And the network sees each feature
clipped to the range of the training data (its far-out fences, quartiles
-/+ 3 IQR, or its 1st-99th percentiles if wider) while the error is measured
on the unclipped value, so an extreme value cannot be reproduced by
extrapolation, whatever the network has learned.

Training uses PyTorch (an optional dependency, imported only by this module),
on a GPU when one is available. Scoring runs in numpy in float64 from the learned
weights, which are kept as plain arrays (``state_dict_``): a fitted model is
saved as arrays plus layer sizes, and scores a row identically whether it is
scored alone or among others, with or without torch installed.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
from sklearn.utils import check_random_state

from anomalyzer.detectors.base import BaseDetector
from anomalyzer.errors import AnomalyzerError
from anomalyzer.validation import check_float, check_int

# torch is optional: the registry offers this detector only where it is installed
# and imports this module only when the detector is asked for, so the package
# imports without it. Importing it here rather than in ``fit`` keeps the import
# (a second or more) out of the time a fit takes.
try:
    import torch
except ImportError:
    torch = None  # type: ignore[assignment]

# Rows per mini-batch are capped so that an epoch makes at least this many
# updates: on a few hundred rows a single batch per epoch would barely train.
_MIN_BATCHES_PER_EPOCH = 8
# Early stopping: epochs without a relative improvement of the held-out loss.
_PATIENCE = 10
_MIN_IMPROVEMENT = 1e-4
# Held-out rows below this are too noisy to stop on; train on everything instead.
_MIN_VALIDATION_ROWS = 32
# Width of the hidden layer chosen automatically, and the widest bottleneck.
_MIN_WIDTH = 16
_MAX_WIDTH = 128
_MAX_BOTTLENECK = 32
# Activations held at once while scoring (floats): bounds scoring memory to ~32 MiB.
_SCORE_BLOCK_FLOATS = 1 << 22
# Share of each mini-batch's worst-reconstructed rows left out of the loss, so
# that the network learns what most rows share rather than the anomalies.
_TRIM = 0.1
# The network's input is clipped per feature beyond both the 1st/99th
# percentiles and Tukey's far-out fences (quartiles -/+ 3 IQR) of the training
# rows: a ReLU network extrapolates linearly and would otherwise reproduce an
# extreme value along a direction it has learned, hiding it.
_CLIP_QUANTILE = 0.01
_FENCE = 3.0
# Small networks train faster on one thread (less synchronisation); wide ones use a few.
_WIDE_LAYER = 256
_MAX_THREADS = 4
_EPS = 1e-12


def auto_hidden_sizes(n_features: int) -> list[int]:
    """Encoder widths for ``n_features`` inputs: one wide ReLU layer, then the bottleneck.

    The hidden layer is wider than the input (twice, between 16 and 128 units):
    narrow ReLU layers of a few units often end up dead or stuck in a poor
    fit. The bottleneck, about a quarter of the features (2 to 32), does the
    compressing.

    >>> auto_hidden_sizes(4)
    [16, 2]
    >>> auto_hidden_sizes(10)
    [20, 2]
    >>> auto_hidden_sizes(100)
    [128, 25]
    >>> auto_hidden_sizes(1555)
    [128, 32]
    """
    width = min(max(2 * n_features, _MIN_WIDTH), _MAX_WIDTH)
    bottleneck = max(2, min(n_features // 4, _MAX_BOTTLENECK))
    return [width, bottleneck]


def robust_standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and scale (IQR / 1.349, else the standard deviation, else 1) per feature.

    The interquartile range matches the standard deviation on normal data but
    ignores the anomalies it is meant to expose; features with a zero IQR
    (mostly one value) fall back to the standard deviation, constant ones to 1.

    >>> center, scale = robust_standardisation(np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]))
    >>> center.tolist(), scale.round(3).tolist()
    ([2.0, 5.0], [0.741, 1.0])
    """
    q1, center, q3 = np.quantile(X, [0.25, 0.5, 0.75], axis=0)
    scale = (q3 - q1) / 1.349
    scale = np.where(scale > _EPS, scale, X.std(axis=0))
    scale = np.where(scale > _EPS, scale, 1.0)
    return center, scale


def clip_bounds(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature range of values the network is shown: the wider of the 1-99% range
    and Tukey's far-out fences (quartiles -/+ 3 IQR).

    The fences keep the whole range of well-behaved features; the percentiles
    keep that of features whose IQR is zero (mostly one value).

    >>> low, high = clip_bounds(np.c_[np.arange(101.0), np.r_[np.zeros(95), np.ones(6)]])
    >>> low.tolist(), high.tolist()
    ([-125.0, 0.0], [225.0, 1.0])
    """
    q_lo, q1, q3, q_hi = np.quantile(Z, [_CLIP_QUANTILE, 0.25, 0.75, 1.0 - _CLIP_QUANTILE], axis=0)
    iqr = q3 - q1
    return np.minimum(q_lo, q1 - _FENCE * iqr), np.maximum(q_hi, q3 + _FENCE * iqr)


class AutoEncoder(BaseDetector):
    """Reconstruction error of a PyTorch multilayer autoencoder.

    Parameters
    ----------
    hidden_sizes : sequence of int or None
        Widths of the encoder layers, the last being the bottleneck; the
        decoder mirrors them. ``None`` picks one hidden layer of about
        ``2 * n_features`` units and a bottleneck of about ``n_features // 4``
        (see :func:`auto_hidden_sizes`).
    epochs : int
        Most passes over the training rows (early stopping may end sooner).
    batch_size : int
        Rows per mini-batch (fewer on small data, so an epoch makes at least
        8 updates).
    learning_rate, weight_decay : float
        Adam's step size and L2 penalty.
    dropout : float
        Dropout rate after each hidden layer but the bottleneck while training, in [0, 1).
    max_samples : int
        Most rows trained on; larger data is subsampled, which bounds the
        training time, while every row is still scored.
    validation_fraction : float
        Share of the training rows held out to stop early when their loss
        stops improving, in [0, 0.5); 0 trains for all ``epochs``.
    device : str
        ``"auto"`` (a CUDA GPU when available, else the CPU), ``"cpu"`` or ``"cuda[:i]"``.
    contamination : float or "auto"
        Share of anomalies used to set ``threshold_``.
    random_state : int, RandomState or None
        Seeds the row sample, the weights, dropout and the shuffles: the same
        value gives the same scores on the CPU (on a GPU, close ones).

    Attributes
    ----------
    center_, scale_ : ndarray
        The robust standardisation (median, IQR / 1.349) of each feature.
    clip_low_, clip_high_ : ndarray
        Range of standardised values the network is shown.
    layer_sizes_ : list of int
        Widths from input to output, e.g. ``[d, 16, 2, 16, d]``.
    state_dict_ : dict of str to ndarray
        Weights and biases of the linear layers, ``"0.weight"``, ``"0.bias"``,
        ``"1.weight"``, ... as float64 arrays: all a saved model needs besides
        the attributes above.
    loss_curve_, validation_curve_ : list of float
        Training and held-out loss per epoch; ``n_epochs_`` is how many ran.

    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(-1, 1, size=(300, 1))
    >>> X = np.c_[t, 2 * t, -t] + rng.normal(scale=0.05, size=(300, 3))
    >>> X = np.r_[X, [[0.5, -1.0, -0.5]]]  # breaks the shared structure
    >>> det = AutoEncoder(random_state=0).fit(X)
    >>> int(np.argmax(det.decision_scores_))
    300
    >>> det.explain(X[-1:]).argmax()  # the second feature is the one out of line
    np.int64(1)
    """

    def __init__(
        self,
        hidden_sizes: Sequence[int] | None = None,
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        dropout: float = 0.1,
        weight_decay: float = 1e-5,
        max_samples: int = 50_000,
        validation_fraction: float = 0.1,
        device: str = "auto",
        contamination: float | str = "auto",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.max_samples = max_samples
        self.validation_fraction = validation_fraction
        self.device = device
        self.contamination = contamination
        self.random_state = random_state

    # -- parameters -----------------------------------------------------------

    def _validate_params(self) -> None:
        if self.hidden_sizes is not None:
            sizes = self.hidden_sizes
            if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or not sizes:
                raise AnomalyzerError(
                    f"hidden_sizes must be None or a non-empty list of layer widths, got {sizes!r}."
                )
            for width in sizes:
                check_int("each of hidden_sizes", width)
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        check_int("max_samples", self.max_samples, minimum=2)
        check_float("learning_rate", self.learning_rate, low=0)
        _check_fraction("weight_decay", self.weight_decay, high=math.inf)
        _check_fraction("dropout", self.dropout, high=1.0)
        _check_fraction("validation_fraction", self.validation_fraction, high=0.5)
        _parse_device(self.device)

    # -- training -------------------------------------------------------------

    def _fit(self, X: np.ndarray) -> None:
        _require_torch()
        device = _resolve_device(self.device)
        rng = check_random_state(self.random_state)
        # One seed for torch (weights, dropout, shuffles) drawn after the row sample.
        n = X.shape[0]
        rows = rng.choice(n, size=self.max_samples, replace=False) if n > self.max_samples else None
        seed = int(rng.randint(np.iinfo(np.int32).max))

        sample = X if rows is None else X[rows]
        self.center_, self.scale_ = robust_standardisation(sample)
        Z = self._standardise(sample)
        self.clip_low_, self.clip_high_ = clip_bounds(Z)
        Z = Z.astype(np.float32)
        # Hold out a random slice: the row order may carry structure (sorted files).
        Z = Z[np.random.default_rng(seed).permutation(Z.shape[0])]
        n_val = int(self.validation_fraction * Z.shape[0])
        if n_val < _MIN_VALIDATION_ROWS:
            n_val = 0
        val, train = Z[:n_val], Z[n_val:]

        d = X.shape[1]
        self.hidden_sizes_ = (
            [int(w) for w in self.hidden_sizes]
            if self.hidden_sizes is not None
            else auto_hidden_sizes(d)
        )
        self.layer_sizes_ = [d, *self.hidden_sizes_, *self.hidden_sizes_[-2::-1], d]
        batch = max(1, min(self.batch_size, math.ceil(train.shape[0] / _MIN_BATCHES_PER_EPOCH)))

        with _torch_session(device, seed, max(self.layer_sizes_)):
            model = _build_network(
                self.layer_sizes_,
                len(self.hidden_sizes_),
                self.dropout,
                (self.clip_low_, self.clip_high_),
            ).to(device)
            self.loss_curve_, self.validation_curve_ = _train(
                model,
                train,
                val,
                device=device,
                epochs=self.epochs,
                batch_size=batch,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                trim=_TRIM,
                seed=seed,
            )
            self.state_dict_ = _export_weights(model)
        self.n_epochs_ = len(self.loss_curve_)
        self.device_ = str(device)

    # -- scoring --------------------------------------------------------------

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (X - self.center_) / self.scale_

    def _squared_errors(self, X: np.ndarray) -> np.ndarray:
        """Per-feature squared reconstruction error in the standardised space, in blocks."""
        out = np.empty(X.shape, dtype=np.float64)
        block = max(1, _SCORE_BLOCK_FLOATS // max(self.layer_sizes_))
        for start in range(0, X.shape[0], block):
            Z = self._standardise(X[start : start + block])
            out[start : start + block] = (Z - self.reconstruct_standardised(Z)) ** 2
        return out

    def reconstruct_standardised(self, Z: np.ndarray) -> np.ndarray:
        """The network's output for standardised rows ``Z`` (numpy, float64, no dropout).

        Each feature is first clipped to ``[clip_low_, clip_high_]``, the range
        the network was trained on, as it was while training.
        """
        h = np.clip(Z, self.clip_low_, self.clip_high_)
        n_layers = len(self.layer_sizes_) - 1
        bottleneck = len(self.hidden_sizes_) - 1
        for j in range(n_layers):
            h = h @ self.state_dict_[f"{j}.weight"].T + self.state_dict_[f"{j}.bias"]
            if j < n_layers - 1 and j != bottleneck:
                np.maximum(h, 0.0, out=h)
        return h

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._squared_errors(X).mean(axis=1)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return self._squared_errors(X)


# -- torch helpers ---------------------------------------------------------------


def _check_fraction(name: str, value: Any, *, high: float) -> float:
    """A real number in [0, high): zero is allowed (no dropout, no penalty, no hold-out)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and 0.0 <= float(value) < high:
        return float(value)
    upper = "inf" if math.isinf(high) else f"{high:g}"
    raise AnomalyzerError(f"{name} must be a number in [0, {upper}), got {value!r}.")


def _require_torch() -> None:
    if torch is None:
        raise AnomalyzerError(
            "The autoencoder detector needs PyTorch, which is not installed; "
            "install it with: pip install 'anomalyzer[torch]'."
        )


def _parse_device(device: Any) -> str:
    """Check the ``device`` parameter's form (whether CUDA exists is checked when fitting)."""
    if isinstance(device, str):
        value = device.strip().lower()
        head, _, index = value.partition(":")
        if value in ("auto", "cpu") or (head == "cuda" and (not index or index.isdigit())):
            return value
    raise AnomalyzerError(f"device must be 'auto', 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}.")


def _resolve_device(device: str) -> Any:
    value = _parse_device(device)
    if value == "auto":
        value = "cuda" if torch.cuda.is_available() else "cpu"
    elif value.startswith("cuda") and not torch.cuda.is_available():
        raise AnomalyzerError(
            f"device is {device!r} but no CUDA GPU is available here; use device='auto' or 'cpu'."
        )
    return torch.device(value)


@contextlib.contextmanager
def _torch_session(device: Any, seed: int, widest: int) -> Iterator[None]:
    """Seeded, deterministic torch settings for one fit, restored afterwards.

    The global random state is forked so that fitting neither depends on nor
    disturbs the caller's torch random numbers.
    """
    cuda = device.type == "cuda"
    cuda_devices = [device.index or 0] if cuda else []
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        if not cuda:
            # Identical results run to run on the CPU; CUDA would need extra setup
            # (CUBLAS_WORKSPACE_CONFIG) and its results are only close, not equal.
            torch.use_deterministic_algorithms(True)
            torch.set_num_threads(1 if widest < _WIDE_LAYER else min(threads, _MAX_THREADS))
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)


def _build_network(
    layer_sizes: list[int],
    n_encoder: int,
    dropout: float,
    clip: tuple[np.ndarray, np.ndarray],
) -> Any:
    """Clipped input, then linear layers; ReLU and dropout follow all hidden ones but the bottleneck.

    The linear layers live in ``model.linears``; :func:`_export_weights` numbers
    them 0, 1, ... as :meth:`AutoEncoder.reconstruct_standardised` reads them.
    """
    nn = torch.nn

    class _Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linears = nn.ModuleList(
                nn.Linear(a, b) for a, b in itertools.pairwise(layer_sizes)
            )
            self.drop = nn.Dropout(dropout)
            self.register_buffer("low", torch.as_tensor(clip[0], dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(clip[1], dtype=torch.float32))

        def forward(self, x: Any) -> Any:
            last = len(self.linears) - 1
            low, high = cast(torch.Tensor, self.low), cast(torch.Tensor, self.high)
            x = torch.minimum(torch.maximum(x, low), high)
            for j, layer in enumerate(self.linears):
                x = layer(x)
                # The bottleneck and the output stay linear: a ReLU on a code of
                # two or three units would cut away half of each direction.
                if j < last and j != n_encoder - 1:
                    x = torch.relu(x)
                    if dropout > 0:
                        x = self.drop(x)
            return x

    return _Net()


def _trimmed_mse(output: Any, target: Any, trim: float) -> Any:
    """Mean squared error over the rows, leaving out the ``trim`` share with the largest errors.

    The rows left out are those the network reconstructs worst: most likely
    the anomalies, which a plain mean would teach it to reproduce.
    """
    per_row = torch.mean((output - target) ** 2, dim=1)
    keep = max(1, math.ceil((1.0 - trim) * per_row.shape[0]))
    if keep < per_row.shape[0]:
        per_row = torch.topk(per_row, keep, largest=False, sorted=False).values
    return torch.mean(per_row)


def _export_weights(model: Any) -> dict[str, np.ndarray]:
    """Weights as float64 arrays named "0.weight", "0.bias", ...: readable without torch."""
    return {
        f"{j}.{name}": value.detach().cpu().double().numpy().copy()
        for j, layer in enumerate(model.linears)
        for name, value in layer.state_dict().items()
    }


def _train(
    model: Any,
    train: np.ndarray,
    val: np.ndarray,
    *,
    device: Any,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    trim: float,
    seed: int,
) -> tuple[list[float], list[float]]:
    """Adam on the mean squared error; keeps the weights with the best held-out loss."""
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    train_t = torch.from_numpy(train).to(device)
    val_t = torch.from_numpy(val).to(device) if val.shape[0] else None
    n = train_t.shape[0]
    losses: list[float] = []
    val_losses: list[float] = []
    best, best_state, waited = math.inf, None, 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = train_t[order[start : start + batch_size]]
            loss = _trimmed_mse(model(batch), batch, trim)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * batch.shape[0]
        losses.append(total / n)
        if val_t is None:
            continue
        model.eval()
        with torch.inference_mode():
            val_loss = float(_trimmed_mse(model(val_t), val_t, trim))
        val_losses.append(val_loss)
        if val_loss < best * (1.0 - _MIN_IMPROVEMENT):
            best, waited = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.linears.state_dict().items()}
        else:
            waited += 1
            if waited >= _PATIENCE:
                break
    if best_state is not None:
        model.linears.load_state_dict(best_state)
    model.eval()
    return losses, val_losses
