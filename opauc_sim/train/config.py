"""Training settings and results, with no torch: what a run is, and what it returns.

:class:`TrainConfig` holds every setting of one run (the defaults are the paper's
protocol, docs/experiments.md); the CLI builds its options from these fields, and the
sweep's CSV rows come from :meth:`TrainConfig.to_dict`. Both backends (the fused Numba
trainer for CPUs and the PyTorch reference for GPUs) read the same config.

The two recipes
---------------
``authors_code=False`` (the project's recipe): negatives are drawn among the items that
are not the user's training positives; DNS weighs its top M by 1/M; the batch loss is the
mean pair loss; the regulariser is ``weight_decay / 2`` times the squared norms of the
batch's user, positive and (weighted) negative embeddings, inside the loss; Adam with a
constant learning rate; Softmax-v's tau uses the population variance, with uniform
weights when the variance is 0; a validation slice selects the epoch.

``authors_code=True`` reproduces the authors' ``main_more.py`` / ``model.py``
(``swt-user/WWW_2023_code``), point by point:

1. negatives drawn uniformly from all items (a user's positives may be drawn);
2. DNS sums its M losses (weight 1 each);
3. the batch loss is summed over pairs, not averaged;
4. weight decay is Adam's coupled ``weight_decay`` on the whole embedding tables (every
   row, every step), with no L2 term in the loss;
5. the learning rate follows ``StepLR(step_size=5, gamma=0.95)``, stepped every epoch;
6. Softmax-v's tau uses the unbiased variance (``torch.var``'s default), with no guard
   against a zero variance;
7. training on all of the training part (``valid_frac=0``, no validation) and test
   metrics after the last epoch (``eval_every=0``): the CLI sets these two with the flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opauc_sim._definitions import ranking_columns as metric_names
from opauc_sim._validation import check_choice, check_int, check_real

__all__ = [
    "AUTHORS_LR_GAMMA",
    "AUTHORS_LR_STEP",
    "SAMPLERS",
    "TrainConfig",
    "TrainResult",
    "group_key",
    "metric_names",
]

SAMPLERS = ("rns", "dns", "softmax")
#: The authors' StepLR: the learning rate is multiplied by 0.95 every 5 epochs.
AUTHORS_LR_STEP = 5
AUTHORS_LR_GAMMA = 0.95


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (defaults: the paper's protocol).

    Attributes
    ----------
    sampler : {"rns", "dns", "softmax"}
        RNS (BPR with uniform negatives), DNS(M, N) or Softmax-v(rho, N).
    M, N : int
        DNS keeps the top M of N uniform candidates; Softmax-v weighs N candidates.
        RNS always draws one (M = N = 1).
    rho : float
        Softmax-v's KL radius.
    weight_decay : float
        L2 coefficient (see the module docstring for how each recipe applies it).
    epochs, lr, batch_size, dim, init_std
        Optimisation and model settings.
    authors_code : bool
        The authors' recipe (the module docstring lists its seven points).
    seed : int
        Seeds the initialisation, the shuffles and the negative draws.
    eval_every : int
        Rank the validation slice every this many epochs (and after the last) and keep
        the best epoch by ``select_metric``; 0 means no validation: the last epoch is
        kept and tested.
    ks : tuple of int
        Cut-offs for the metrics.
    select_metric : str
        Validation metric (a column of the evaluation) that picks the epoch.
    """

    sampler: str = "rns"
    M: int = 1
    N: int = 1
    rho: float = 1.0
    weight_decay: float = 1e-4
    epochs: int = 200
    lr: float = 1e-3
    batch_size: int = 4096
    dim: int = 32
    init_std: float = 0.1
    authors_code: bool = False
    seed: int = 0
    eval_every: int = 10
    ks: tuple[int, ...] = (5, 20, 50)
    select_metric: str = "ndcg@20"

    def __post_init__(self):
        check_choice("sampler", self.sampler, SAMPLERS)
        check_int("M", self.M, low=1)
        check_int("N", self.N, low=1)
        # Settings a sampler ignores are normalised, so equal runs compare equal.
        if self.sampler == "rns":
            object.__setattr__(self, "M", 1)
            object.__setattr__(self, "N", 1)
        if self.sampler != "softmax":
            object.__setattr__(self, "rho", 1.0)
        if self.sampler == "softmax":
            object.__setattr__(self, "M", 1)
        if self.sampler == "dns" and self.M > self.N:
            raise ValueError(f"M must be <= N for DNS, got M={self.M}, N={self.N}")
        object.__setattr__(self, "rho", check_real("rho", self.rho, low=0.0, low_open=True))
        object.__setattr__(
            self, "weight_decay", check_real("weight_decay", self.weight_decay, low=0.0)
        )
        check_int("epochs", self.epochs, low=1)
        object.__setattr__(self, "lr", check_real("lr", self.lr, low=0.0, high=10.0, low_open=True))
        check_int("batch_size", self.batch_size, low=1)
        check_int("dim", self.dim, low=1)
        check_real("init_std", self.init_std, low=0.0)
        check_int("seed", self.seed, low=0)
        check_int("eval_every", self.eval_every, low=0)
        object.__setattr__(self, "ks", tuple(check_int("ks", k, low=1) for k in self.ks))
        if not self.ks:
            raise ValueError("ks must not be empty")
        check_choice("select_metric", self.select_metric, sorted(metric_names(self.ks)))

    @property
    def label(self) -> str:
        """``RNS``, ``DNS(M=5, N=200)`` or ``Softmax-v(rho=1, N=200)``."""
        if self.sampler == "dns":
            return f"DNS(M={self.M}, N={self.N})"
        if self.sampler == "softmax":
            return f"Softmax-v(rho={self.rho:g}, N={self.N})"
        return "RNS"

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 1-based ``epoch``: constant, or the authors' StepLR.

        Computed as torch's ``StepLR`` does, by repeated multiplication.
        """
        lr = self.lr
        if self.authors_code:
            for _ in range((epoch - 1) // AUTHORS_LR_STEP):
                lr *= AUTHORS_LR_GAMMA
        return lr

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ks"] = list(self.ks)
        return out


def group_key(config: TrainConfig) -> tuple:
    """Configurations with equal keys share their random draws and can train together."""
    d = config.to_dict()
    for name in ("sampler", "M", "rho", "weight_decay"):
        d.pop(name)
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


@dataclass
class TrainResult:
    """What :func:`opauc_sim.train.train` returns.

    ``valid`` and ``test`` map metric names (``evaluate``'s columns, e.g. ``"recall@20"``,
    plus ``"opauc@20/n_neg"``) to averages over users with held-out items; ``valid`` is
    empty when no validation ran.

    ``diverged_epoch`` is the first epoch whose mean loss was not finite (None if none
    was). Training stops there; a diverged run without a validated epoch before it has
    NaN ``test`` metrics (its scores are NaN, so there is nothing to rank), and one with
    validation reports the best validated epoch before it.
    """

    config: TrainConfig
    device: str
    best_epoch: int
    valid: dict[str, float]
    test: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    eval_seconds: list[float] = field(default_factory=list)
    n_trained_together: int = 1
    backend: str = "torch"
    threads: int | None = None
    user_embedding: np.ndarray | None = None
    item_embedding: np.ndarray | None = None
    diverged_epoch: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (a NaN, as in a diverged run, becomes null)."""
        return _nan_to_none(
            {
                "config": self.config.to_dict(),
                "label": self.config.label,
                "device": self.device,
                "backend": self.backend,
                "threads": self.threads,
                "best_epoch": self.best_epoch,
                "valid": self.valid,
                "test": self.test,
                "epoch_seconds_median": float(np.median(self.epoch_seconds)),
                "eval_seconds_median": (
                    float(np.median(self.eval_seconds)) if self.eval_seconds else None
                ),
                "n_trained_together": self.n_trained_together,
                "diverged_epoch": self.diverged_epoch,
                "history": self.history,
            }
        )


def _nan_to_none(value: Any) -> Any:
    """``value`` with every NaN float (in nested dicts and lists) replaced by None."""
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value
