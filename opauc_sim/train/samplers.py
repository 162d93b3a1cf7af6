"""The sampler registry: one :class:`SamplerSpec` per negative sampler, read everywhere.

Config validation, the CLI's options and help, sweep grids, cost estimates, labels, the
training summaries and the false-negative analysis all read :data:`SAMPLERS`; no other
module compares a sampler's name. A sampler is two orthogonal choices plus parameters:

- how its N candidates per training pair are **drawn**: ``"uniform"`` over the items
  (RNS, DNS, Softmax-v) or ``"popularity"``, with probability proportional to the item's
  training count to the power ``alpha`` (PNS); DNS may also take **all** items
  (``N="all"``), which needs no draw;
- how the candidates are **selected** into the loss: ``"top"`` keeps the M best-scored,
  each with weight 1/M (the authors' recipe: 1), or ``"weighted"`` weighs all N by
  Softmax-v's ``softmax(L / tau)``, ``tau = sqrt(Var(L) / (2 rho))``.

RNS and PNS are ``"top"`` with M = N = 1. Adding a sampler is one row here plus, if its
draw or selection is new, that kernel in :mod:`opauc_sim.train.numba_kernels` and its
tensor form in :mod:`opauc_sim.train.torch_engine`.

References
----------
W. Shi et al., "On the Theories Behind Hard Negative Sampling for Recommendation",
WWW 2023 (DNS(M, N), Softmax-v(rho, N), PNS); S. Rendle et al., "BPR", UAI 2009 (RNS);
W. Zhang et al., "Optimizing Top-N Collaborative Filtering via Dynamic Negative Item
Sampling", SIGIR 2013 (DNS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opauc_sim._validation import check_choice, check_int, check_real

__all__ = [
    "ALL",
    "BASELINE",
    "CLI_DEFAULT_N",
    "DNS",
    "PARAMS",
    "SAMPLERS",
    "SOFTMAX",
    "Param",
    "SamplerSpec",
    "check_n",
    "get",
    "names",
    "normalise",
]

#: ``N="all"``: every item that is not excluded is a candidate (DNS over all items).
ALL = "all"
#: The names other modules need by role: the AUC reference (BPR with uniform negatives),
#: and the two hard samplers the false-negative analysis and the paper's grids name.
BASELINE, DNS, SOFTMAX = "rns", "dns", "softmax"
#: Candidates per pair when a command is not given ``--N``: the paper's N = 200.
CLI_DEFAULT_N = 200


@dataclass(frozen=True)
class Param:
    """A sampler parameter: a field of :class:`~opauc_sim.train.config.TrainConfig`.

    ``default`` is the dataclass default (what samplers without the parameter are
    normalised to); ``cli_default`` is what a command uses when the option is not given
    (None: the option is required by every sampler that has the parameter). ``harder``
    says which way the parameter makes the negatives harder (``"lower"``: a smaller value
    is harder, as DNS's M; ``"higher"``: as DNS's N and Softmax-v's rho); the summaries
    test the guideline ("smaller K, harder negatives") along it.
    """

    name: str
    type: type
    default: Any
    help: str
    cli_default: Any = None
    low: float = 0.0
    low_open: bool = False
    harder: str = ""

    def check(self, value: Any) -> Any:
        """``value`` validated and converted, or ValueError/TypeError naming the parameter."""
        if self.name == "N":
            return check_n(value)
        if self.type is int:
            return check_int(self.name, value, low=int(self.low))
        return check_real(self.name, value, low=self.low, low_open=self.low_open)


def check_n(value: Any) -> int | str:
    """``N``: an integer >= 1, or ``"all"``."""
    if isinstance(value, str):
        if value.strip().lower() == ALL:
            return ALL
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"N must be an integer >= 1 or 'all', got {value!r}") from None
    return check_int("N", value, low=1)


#: Every sampler parameter, by name. A sampler uses some of them (:attr:`SamplerSpec.params`).
PARAMS: dict[str, Param] = {
    "M": Param("M", int, 1, "DNS: keep the top M of the N candidates", low=1, harder="lower"),
    "N": Param(
        "N",
        int,
        1,
        "candidates per pair, or 'all' (DNS: every non-training item)",
        cli_default=CLI_DEFAULT_N,
        low=1,
        harder="higher",
    ),
    "rho": Param("rho", float, 1.0, "Softmax-v: KL radius", low_open=True, harder="higher"),
    "alpha": Param(
        "alpha",
        float,
        0.75,
        "PNS: popularity exponent (0: uniform)",
        cli_default=0.75,
        harder="higher",
    ),
}


@dataclass(frozen=True)
class SamplerSpec:
    """One negative sampler.

    Attributes
    ----------
    name : str
        Its key (``--sampler NAME``, the ``sampler`` column).
    title : str
        Its name in labels and tables.
    params : tuple of str
        The :data:`PARAMS` it takes, in label order; the others are fixed by ``fixed``
        or normalised to their defaults.
    fixed : mapping
        Parameters it sets whatever is asked (RNS and PNS: M = N = 1).
    draw : {"uniform", "popularity"}
        How the candidates are drawn.
    select : {"top", "weighted"}
        How they enter the loss (module docstring).
    help : str
        One line for ``--help``.
    cost_factor : float
        Time per scored candidate relative to DNS's (the cost estimate's constant).
    full_items : bool
        Whether ``N="all"`` is supported.
    """

    name: str
    title: str
    params: tuple[str, ...]
    draw: str
    select: str
    help: str
    cost_factor: float = 1.0
    fixed: Mapping[str, Any] = field(default_factory=dict)
    full_items: bool = False

    def label(self, values: Mapping[str, Any]) -> str:
        """``RNS``, ``PNS(alpha=0.75)``, ``DNS(M=5, N=200)``, ``Softmax-v(rho=1, N=200)``."""
        if not self.params:
            return self.title
        inner = ", ".join(f"{p}={_fmt(values[p])}" for p in self.params)
        return f"{self.title}({inner})"

    @property
    def weighs_all(self) -> bool:
        """Whether every candidate carries gradient (Softmax-v), not only the top M."""
        return self.select == "weighted"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


SAMPLERS: dict[str, SamplerSpec] = {
    spec.name: spec
    for spec in (
        SamplerSpec(
            "rns",
            "RNS",
            (),
            draw="uniform",
            select="top",
            help="BPR with one uniform negative",
            fixed={"M": 1, "N": 1},
        ),
        SamplerSpec(
            "pns",
            "PNS",
            ("alpha",),
            draw="popularity",
            select="top",
            help="BPR with one negative drawn with probability ~ popularity^alpha",
            cost_factor=1.2,
            fixed={"M": 1, "N": 1},
        ),
        SamplerSpec(
            "dns",
            "DNS",
            ("M", "N"),
            draw="uniform",
            select="top",
            help="DNS(M, N): the top M of N uniform candidates, or of all items (N=all)",
            full_items=True,
        ),
        SamplerSpec(
            "softmax",
            "Softmax-v",
            ("rho", "N"),
            draw="uniform",
            select="weighted",
            help="Softmax-v(rho, N): N uniform candidates weighted by softmax(L / tau)",
            cost_factor=2.5,
            fixed={"M": 1},
        ),
    )
}


def names() -> tuple[str, ...]:
    """The registered samplers' names, in registry order."""
    return tuple(SAMPLERS)


def get(name: str) -> SamplerSpec:
    """The spec of sampler ``name``; ValueError naming ``sampler`` if there is none."""
    check_choice("sampler", name, names())
    return SAMPLERS[name]


def normalise(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every :data:`PARAMS` value for sampler ``name``: checked where it is used, fixed
    where the sampler fixes it, the default elsewhere (so equal runs compare equal)."""
    spec = get(name)
    out = {}
    for pname, param in PARAMS.items():
        if pname in spec.fixed:
            out[pname] = spec.fixed[pname]
        elif pname in spec.params:
            out[pname] = param.check(values.get(pname, param.default))
        else:
            out[pname] = param.default
    if out["N"] == ALL and not spec.full_items:
        takes_all = [s.name for s in SAMPLERS.values() if s.full_items]
        raise ValueError(f"N='all' applies to sampler {takes_all} only, not {name!r}")
    if spec.select == "top" and out["N"] != ALL and out["M"] > out["N"]:
        raise ValueError(f"M must be <= N for {spec.title}, got M={out['M']}, N={out['N']}")
    return out
