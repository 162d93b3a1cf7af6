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
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opauc_sim._definitions import ranking_columns as metric_names
from opauc_sim._validation import check_choice, check_int, check_real
from opauc_sim.train import samplers

__all__ = [
    "AUTHORS_LR_GAMMA",
    "AUTHORS_LR_STEP",
    "BATCHINGS",
    "PER_K",
    "TrainConfig",
    "TrainResult",
    "column_k",
    "group_key",
    "metric_names",
    "selection_keys",
]

#: The authors' StepLR: the learning rate is multiplied by 0.95 every 5 epochs.
AUTHORS_LR_STEP = 5
AUTHORS_LR_GAMMA = 0.95
#: ``pair``: a batch is ``batch_size`` training pairs in random order (the paper's);
#: ``user``: a batch is all training pairs of a random set of users, about
#: ``batch_size`` of them, so that each user's items are scored once per epoch.
BATCHINGS = ("pair", "user")
#: ``select_metric="ndcg@K"``: every cut-off K selects its own epoch by ``ndcg@K``.
PER_K = "@K"
#: Fields added after rows had been written: at these values they leave the run's id
#: (:func:`opauc_sim.train.sweep.config_id`) unchanged, so older rows stay valid.
ADDED_DEFAULTS = {"alpha": 0.75, "batching": "pair", "exclude_heldout": False, "patience": 0}


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (defaults: the paper's protocol).

    Attributes
    ----------
    sampler : str
        A name of :data:`opauc_sim.train.samplers.SAMPLERS`: ``rns`` (BPR with uniform
        negatives), ``pns`` (popularity), ``dns`` (DNS(M, N)), ``softmax`` (Softmax-v).
    M : int
        DNS keeps the top M of its N candidates (of all items when ``N="all"``).
    N : int or "all"
        Candidates per pair; ``"all"`` (DNS only): every item that is not the user's
        training item (nor, with ``exclude_heldout``, a held-out one).
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
        Validation metric (a column of the evaluation) that picks the epoch; a metric
        with ``@K`` (e.g. ``"ndcg@K"``) selects one epoch per cut-off: the test
        metrics at K are those of the epoch with the best validation metric at K.
    alpha : float
        PNS's popularity exponent.
    batching : {"pair", "user"}
        See :data:`BATCHINGS`.
    exclude_heldout : bool
        An **oracle control**, never a method: candidates also exclude the user's
        validation and test items (it reads the held-out labels).
    patience : int
        Early stopping: stop after this many validations in a row that improved no
        selection; 0 trains every epoch.
    """

    sampler: str = samplers.BASELINE
    M: int = 1
    N: int | str = 1
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
    alpha: float = 0.75
    batching: str = "pair"
    exclude_heldout: bool = False
    patience: int = 0

    def __post_init__(self):
        spec = samplers.get(self.sampler)
        values = {name: getattr(self, name) for name in samplers.PARAMS}
        for name, value in samplers.normalise(spec.name, values).items():
            object.__setattr__(self, name, value)
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
        if len(set(self.ks)) != len(self.ks):
            raise ValueError(f"ks must not repeat a cut-off, got {list(self.ks)}")
        per_k = [c.replace(f"@{self.ks[0]}", PER_K) for c in metric_names(self.ks[:1])]
        choices = sorted(metric_names(self.ks)) + [c for c in per_k if PER_K in c]
        check_choice("select_metric", self.select_metric, choices)
        check_choice("batching", self.batching, BATCHINGS)
        if not isinstance(self.exclude_heldout, bool):
            raise TypeError(f"exclude_heldout must be a bool, got {self.exclude_heldout!r}")
        check_int("patience", self.patience, low=0)
        if self.patience and not self.eval_every:
            raise ValueError(
                f"patience={self.patience} (early stopping) needs validation: eval_every > 0"
            )

    @property
    def spec(self) -> samplers.SamplerSpec:
        """The sampler's registry entry."""
        return samplers.SAMPLERS[self.sampler]

    @property
    def full_items(self) -> bool:
        """Whether the candidates are all items (``N="all"``) rather than N draws."""
        return self.N == samplers.ALL

    @property
    def per_k(self) -> bool:
        """Whether each cut-off selects its own epoch (``select_metric`` with ``@K``)."""
        return PER_K in self.select_metric

    @property
    def label(self) -> str:
        """``RNS``, ``DNS(M=5, N=200)``, ``Softmax-v(rho=1, N=200)`` (the registry's
        label), with `` [oracle]`` when held-out items are excluded."""
        label = self.spec.label(self.to_dict())
        return f"{label} [oracle]" if self.exclude_heldout else label

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
    d["draw"] = config.spec.draw  # PNS draws differently from RNS, DNS and Softmax-v
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


_K_OF_COLUMN = re.compile(r"@(\d+)(?:/|$)")


def column_k(column: str) -> int | None:
    """The cut-off K of a metric column (``"ndcg@20"``, ``"opauc@20/n_neg"``: 20), or
    None for a column without one (``"auc"``)."""
    match = _K_OF_COLUMN.search(column)
    return int(match.group(1)) if match else None


def selection_keys(config: TrainConfig) -> dict[str, str]:
    """What selects the epoch: ``{key: validation metric}``, one entry, or one per K.

    With ``select_metric="ndcg@K"`` the keys are ``"ndcg@5"``, ``"ndcg@20"``, ... (each
    its own metric); otherwise the one key is ``select_metric`` itself.
    """
    if not config.per_k:
        return {config.select_metric: config.select_metric}
    names = [config.select_metric.replace(PER_K, f"@{k}") for k in config.ks]
    return {n: n for n in names}


@dataclass
class TrainResult:
    """What :func:`opauc_sim.train.train` returns.

    ``valid`` and ``test`` map metric names (``evaluate``'s columns, e.g. ``"recall@20"``,
    plus ``"opauc@20/n_neg"``) to averages over users with held-out items; ``valid`` is
    empty when no validation ran.

    With one selection per K (``select_metric="ndcg@K"``), ``best_epochs`` maps each
    selection (``"ndcg@5"``, ...) to its epoch, the metrics at K are those of K's epoch,
    ``auc`` is that of the largest K's, and ``best_epoch`` is the largest K's epoch.
    ``heldout_share`` (DNS over all items only): the share of held-out items among the
    top M of the user's non-training items at the last epoch, averaged over training
    pairs (what the sampler would take for negatives without the oracle control).
    ``stopped_epoch`` is the epoch early stopping ended training at (None: it did not).

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
    best_epochs: dict[str, int] = field(default_factory=dict)
    stopped_epoch: int | None = None
    heldout_share: float | None = None

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
                "best_epochs": self.best_epochs,
                "stopped_epoch": self.stopped_epoch,
                "heldout_share": self.heldout_share,
                "exclude_heldout": self.config.exclude_heldout,
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
