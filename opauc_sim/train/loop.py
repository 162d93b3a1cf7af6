"""The training loop: MF + BPR with a negative sampler, full-ranking model selection.

Protocol (SPEC §5): Adam, lr 1e-3, batch 4096, embeddings N(0, 0.1^2), dimension 32.
The regulariser is the usual one of BPR-MF code bases: ``weight_decay / 2`` times the
squared norms of the batch's user, positive and (weighted) negative embeddings, added to
each pair's loss. The validation slice is ranked every ``eval_every`` epochs (training
items masked); the epoch with the best ``select_metric`` is kept, and the test metrics
are those of that epoch (all training data, validation slice included, masked).

Several configurations can be trained at once (:func:`train_many`): their embedding
tables are stacked along a leading axis and every batch runs all of them in the same
tensor operations, which keeps a GPU busy on a sweep of small models. Configurations
trained together must share the data order and the candidate draws, so they must agree
on every setting but the sampler's M, rho and kind and the weight decay (see
:func:`group_key`); a configuration gets the same draws, and so the same result up to
floating-point reordering, whatever it is grouped with.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opauc_sim._validation import check_choice, check_int, check_real
from opauc_sim.train._torch import torch
from opauc_sim.train.data import Split
from opauc_sim.train.evaluation import evaluate_ranking, mean_metrics
from opauc_sim.train.samplers import (
    NegativeMask,
    draw_negatives,
    softmax_v_weights,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "group_key",
    "resolve_device",
    "train",
    "train_many",
]

SAMPLERS = ("rns", "dns", "softmax")
# Full score rows (a GEMM) instead of gathering candidate embeddings when the candidates
# per pair are at least this fraction of the items: fewer memory gathers on CPU.
_GEMM_FRACTION = 1 / 20


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (defaults: the paper's, SPEC §5).

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
        L2 coefficient on the batch embeddings.
    epochs, lr, batch_size, dim, init_std
        Optimisation and model settings.
    authors_code : bool
        Reproduce the authors' code: negatives from all items (positives may be drawn),
        DNS sums its M losses, batch losses summed, no zero-variance guard on tau.
    seed : int
        Seeds the initialisation, the shuffles and the negative draws.
    eval_every : int
        Rank the validation slice every this many epochs (and after the last); 0 means
        only after the last epoch.
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
        object.__setattr__(self, "lr", check_real("lr", self.lr, low=0.0, low_open=True))
        check_int("batch_size", self.batch_size, low=1)
        check_int("dim", self.dim, low=1)
        check_real("init_std", self.init_std, low=0.0)
        check_int("seed", self.seed, low=0)
        check_int("eval_every", self.eval_every, low=0)
        object.__setattr__(self, "ks", tuple(check_int("ks", k, low=1) for k in self.ks))
        metrics = {"auc"} | {
            name
            for k in self.ks
            for name in (
                f"recall@{k}",
                f"precision@{k}",
                f"ndcg@{k}",
                f"opauc@{k}/n_neg",
                f"opauc_norm@{k}/n_neg",
            )
        }
        check_choice("select_metric", self.select_metric, sorted(metrics))

    @property
    def label(self) -> str:
        """``RNS``, ``DNS(M=5, N=200)`` or ``Softmax-v(rho=1, N=200)``."""
        if self.sampler == "dns":
            return f"DNS(M={self.M}, N={self.N})"
        if self.sampler == "softmax":
            return f"Softmax-v(rho={self.rho:g}, N={self.N})"
        return "RNS"

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
    """What :func:`train` returns.

    ``valid`` and ``test`` map metric names (``evaluate``'s columns, e.g. ``"recall@20"``,
    plus ``"opauc@20/n_neg"``) to averages over users with held-out items.
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
    user_embedding: np.ndarray | None = None
    item_embedding: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "label": self.config.label,
            "device": self.device,
            "best_epoch": self.best_epoch,
            "valid": self.valid,
            "test": self.test,
            "epoch_seconds_median": float(np.median(self.epoch_seconds)),
            "eval_seconds_median": (
                float(np.median(self.eval_seconds)) if self.eval_seconds else None
            ),
            "n_trained_together": self.n_trained_together,
            "history": self.history,
        }


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU; ``"cuda"`` without CUDA is an error."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, got {device!r}")
    check_choice("device", device.split(":")[0], ("auto", "cpu", "cuda"))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
    return torch.device(device)


def _pairs(matrix, device) -> tuple[torch.Tensor, torch.Tensor]:
    users = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return (
        torch.as_tensor(users, dtype=torch.int64, device=device),
        torch.as_tensor(matrix.indices.astype(np.int64), device=device),
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_seed(seed: int) -> int:
    """The training stream's seed: independent of the initialisation's ``seed``."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0] >> 1)


class _Stack:
    """Per-configuration constants of a group, as tensors of shape (C, 1, 1)."""

    def __init__(self, configs: Sequence[TrainConfig], device, dtype=torch.float32):
        def col(values, dtype=dtype):
            return torch.as_tensor(values, dtype=dtype, device=device)[:, None]

        self.n = configs[0].N
        self.kinds = [c.sampler for c in configs]
        self.any_softmax = "softmax" in self.kinds
        self.needs_scores = self.any_softmax or any(
            c.sampler == "dns" and c.M < c.N for c in configs
        )
        self.m_max = max(c.M for c in configs)
        self.is_softmax = col([k == "softmax" for k in self.kinds], torch.bool)[:, :, None]
        self.rho = col([c.rho for c in configs])[:, :, None]
        self.wd = col([c.weight_decay for c in configs])
        self.any_wd = any(c.weight_decay > 0 for c in configs)
        m = torch.as_tensor([c.M for c in configs], device=device)
        # DNS weight of the r-th best candidate: 1/M (summed: 1) for r < M, else 0.
        rank = torch.arange(self.m_max, device=device)
        per = torch.as_tensor(
            [1.0 if c.authors_code else 1.0 / c.M for c in configs], device=device, dtype=dtype
        )
        self.dns_rank_weight = torch.where(
            rank[None, :] < m[:, None], per[:, None], torch.zeros((), dtype=dtype, device=device)
        )
        self.guard = not configs[0].authors_code
        self.summed = configs[0].authors_code


def _batch_loss(
    user_w: torch.Tensor,
    item_w: torch.Tensor,
    u: torch.Tensor,
    i: torch.Tensor,
    cand: torch.Tensor,
    st: _Stack,
) -> torch.Tensor:
    """Per-pair losses (C, B) of a batch for every stacked configuration."""
    n_cfg, n_items = item_w.shape[0], item_w.shape[1]
    cfg = torch.arange(n_cfg, device=u.device)[:, None, None]
    ue, ie = user_w[:, u], item_w[:, i]  # (C, B, d)
    pos = (ue * ie).sum(-1)  # (C, B)
    cand = cand[None].expand(n_cfg, -1, -1)  # (C, B, N)

    def scores_of(items: torch.Tensor) -> torch.Tensor:
        if items.shape[-1] >= _GEMM_FRACTION * n_items:
            full = torch.bmm(ue, item_w.transpose(1, 2))  # (C, B, n_items)
            return torch.gather(full, 2, items)
        return torch.einsum("cbd,cbkd->cbk", ue, item_w[cfg, items])

    neg = None
    if st.needs_scores:
        if st.any_softmax:  # every candidate carries gradient: score them once, with it
            neg = scores_of(cand)
        with torch.no_grad():
            s = neg.detach() if neg is not None else scores_of(cand)
            top = torch.topk(s, st.m_max, dim=-1).indices  # (C, B, M_max), best first
            weights = torch.zeros_like(s)
            weights.scatter_(2, top, st.dns_rank_weight[:, None, :].expand_as(top).to(s.dtype))
            if st.any_softmax:
                losses = torch.nn.functional.softplus(s - pos.detach()[..., None])
                soft = softmax_v_weights(losses, st.rho, guard=st.guard)
                weights = torch.where(st.is_softmax, soft, weights)
        if st.any_softmax:
            chosen = cand
        else:
            chosen = torch.gather(cand, 2, top)
            weights = torch.gather(weights, 2, top)
    else:  # RNS, or DNS with M = N: every candidate counts
        chosen = cand
        weights = st.dns_rank_weight[:, None, :1].expand(-1, cand.shape[1], cand.shape[2])
    if neg is None:
        neg = scores_of(chosen)
    pair = (weights * torch.nn.functional.softplus(neg - pos[..., None])).sum(-1)
    if st.any_wd:
        neg_sq = item_w.square().sum(-1)  # (C, n_items)
        neg_sq = torch.gather(neg_sq, 1, chosen.reshape(n_cfg, -1)).view_as(chosen)
        reg = ue.square().sum(-1) + ie.square().sum(-1) + (weights * neg_sq).sum(-1)
        pair = pair + 0.5 * st.wd * reg
    return pair


class _Group:
    """The stacked state of configurations trained together."""

    def __init__(self, split: Split, configs: Sequence[TrainConfig], device: torch.device):
        keys = {group_key(c) for c in configs}
        if len(keys) != 1:
            raise ValueError(
                "configs trained together must agree on all settings but sampler, M, rho "
                "and weight_decay"
            )
        first = configs[0]
        self.configs = list(configs)
        self.device = device
        n_users, n_items = split.n_users, split.n_items
        user_w = torch.empty(len(configs), n_users, first.dim, device=device)
        item_w = torch.empty(len(configs), n_items, first.dim, device=device)
        with torch.no_grad():
            for c, config in enumerate(configs):  # each as if it were trained alone
                gen = torch.Generator(device=device).manual_seed(config.seed)
                user_w[c].normal_(0.0, config.init_std, generator=gen)
                item_w[c].normal_(0.0, config.init_std, generator=gen)
        self.user_w = torch.nn.Parameter(user_w)
        self.item_w = torch.nn.Parameter(item_w)
        self.optimizer = torch.optim.Adam([self.user_w, self.item_w], lr=first.lr)
        self.generator = torch.Generator(device=device).manual_seed(_train_seed(first.seed))
        users, items = _pairs(split.train, device)
        full = np.diff(split.train.indptr) >= n_items  # users with no negative to draw
        if full.any():
            keep = ~torch.as_tensor(full, device=device)[users]
            users, items = users[keep], items[keep]
        self.users, self.items = users, items
        self.mask = None if first.authors_code else NegativeMask(split.train, device)
        self.stack = _Stack(configs, device)

    def epoch(self) -> np.ndarray:
        """One pass over the training pairs in random order; mean pair loss per config."""
        first = self.configs[0]
        n_pairs = self.users.numel()
        order = torch.randperm(n_pairs, generator=self.generator, device=self.device)
        total = torch.zeros(len(self.configs), device=self.device, dtype=torch.float64)
        n_items = self.item_w.shape[1]
        for start in range(0, n_pairs, first.batch_size):
            idx = order[start : start + first.batch_size]
            u, i = self.users[idx], self.items[idx]
            cand = draw_negatives(u, self.stack.n, n_items, self.generator, self.mask)
            pair = _batch_loss(self.user_w, self.item_w, u, i, cand, self.stack)
            per_cfg = pair.sum(1)
            loss = per_cfg.sum() if self.stack.summed else per_cfg.sum() / idx.numel()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += per_cfg.detach()
        return (total / n_pairs).cpu().numpy()

    def scorer(self, c: int):
        def score(rows: np.ndarray) -> np.ndarray:
            users = torch.as_tensor(rows, dtype=torch.int64, device=self.device)
            with torch.no_grad():
                out = self.user_w[c, users] @ self.item_w[c].T
            return out.double().cpu().numpy()

        return score


def train_many(
    split: Split,
    configs: Sequence[TrainConfig],
    *,
    device: str = "auto",
    progress: bool = False,
    test: bool = True,
    keep_embeddings: bool = False,
) -> list[TrainResult]:
    """Train several configurations together (stacked), one result per configuration.

    Parameters
    ----------
    split : Split
        ``train`` is fitted, ``valid`` picks the epoch, ``test`` is reported.
    configs : sequence of TrainConfig
        Must share :func:`group_key` (everything but sampler, M, rho, weight_decay).
    device : {"auto", "cpu", "cuda"} or "cuda:N", default "auto"
    progress : bool, default False
        Show a tqdm bar with the loss and the last validation metric.
    test : bool, default True
        Evaluate each configuration's selected epoch on the test items.
    keep_embeddings : bool, default False
        Return the selected epoch's embeddings (NumPy) in each result.

    Returns
    -------
    list of TrainResult

    Notes
    -----
    Users with no non-positive item cannot have negatives and are left out of training.
    On CPU a seeded run is deterministic; on CUDA the embedding backward uses atomic
    adds, so runs agree only up to floating-point reordering.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("configs must not be empty")
    dev = resolve_device(device)
    group = _Group(split, configs, dev)
    first = configs[0]
    n_cfg = len(configs)
    histories: list[list[dict[str, float]]] = [[] for _ in configs]
    epoch_seconds: list[float] = []
    eval_seconds: list[float] = []
    best: list[tuple[float, int, Any, dict]] = [(-np.inf, 0, None, {}) for _ in configs]
    bar = None
    post: dict[str, str] = {}
    if progress:
        from tqdm.auto import tqdm

        desc = first.label if n_cfg == 1 else f"{n_cfg} configs (N={first.N})"
        bar = tqdm(total=first.epochs, desc=desc, unit="epoch")
    for epoch in range(1, first.epochs + 1):
        _sync(dev)
        t0 = time.perf_counter()
        losses = group.epoch()
        _sync(dev)
        epoch_seconds.append(time.perf_counter() - t0)
        is_eval = epoch == first.epochs or bool(first.eval_every and epoch % first.eval_every == 0)
        post["loss"] = f"{float(np.mean(losses)):.4f}"  # validation values stay until renewed
        for c, config in enumerate(configs):
            row: dict[str, float] = {"epoch": epoch, "loss": float(losses[c])}
            if is_eval:
                t0 = time.perf_counter()
                valid = mean_metrics(
                    evaluate_ranking(
                        split.valid, group.scorer(c), exclude=split.train, ks=config.ks
                    )
                )
                eval_seconds.append(time.perf_counter() - t0)
                if config.select_metric not in valid:
                    raise ValueError(
                        f"select_metric {config.select_metric!r} is not one of {sorted(valid)}"
                    )
                row.update({f"valid_{k}": v for k, v in valid.items()})
                value = valid[config.select_metric]
                if best[c][2] is None or value > best[c][0]:
                    state = (
                        group.user_w[c].detach().clone(),
                        group.item_w[c].detach().clone(),
                    )
                    best[c] = (value, epoch, state, valid)
                if n_cfg == 1:
                    post[f"valid {config.select_metric}"] = f"{value:.4f}"
                elif c == n_cfg - 1:
                    post[f"best valid {config.select_metric}"] = f"{max(b[0] for b in best):.4f}"
            histories[c].append(row)
        if bar is not None:
            bar.set_postfix(post)
            bar.update(1)
    if bar is not None:
        bar.close()
    results = []
    for c, config in enumerate(configs):
        _, best_epoch, (user_e, item_e), valid = best[c]
        with torch.no_grad():
            group.user_w[c].copy_(user_e)
            group.item_w[c].copy_(item_e)
        test_metrics: dict[str, float] = {}
        if test:
            test_metrics = mean_metrics(
                evaluate_ranking(split.test, group.scorer(c), exclude=split.train_all, ks=config.ks)
            )
        results.append(
            TrainResult(
                config=config,
                device=str(dev),
                best_epoch=best_epoch,
                valid=valid,
                test=test_metrics,
                history=histories[c],
                epoch_seconds=epoch_seconds,
                eval_seconds=eval_seconds,
                n_trained_together=n_cfg,
                user_embedding=user_e.cpu().numpy() if keep_embeddings else None,
                item_embedding=item_e.cpu().numpy() if keep_embeddings else None,
            )
        )
    return results


def train(
    split: Split,
    config: TrainConfig,
    *,
    device: str = "auto",
    progress: bool = False,
    test: bool = True,
    keep_embeddings: bool = False,
) -> TrainResult:
    """Train MF with BPR and ``config``'s sampler on ``split``; select on validation.

    See :func:`train_many` (this is its one-configuration case) for the parameters.

    Examples
    --------
    >>> import scipy.sparse as sp, numpy as np
    >>> from opauc_sim.train import split_per_user
    >>> rng = np.random.default_rng(0)
    >>> split = split_per_user(sp.csr_matrix(rng.random((30, 40)) < 0.3), seed=0)
    >>> result = train(split, TrainConfig(sampler="dns", M=2, N=8, epochs=2), device="cpu")
    >>> sorted(result.test)[:3]
    ['auc', 'ndcg@20', 'ndcg@5']
    """
    return train_many(
        split,
        [config],
        device=device,
        progress=progress,
        test=test,
        keep_embeddings=keep_embeddings,
    )[0]
