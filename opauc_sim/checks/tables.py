"""The tables behind the proofs figures (``opauc-sim proof-tables``), computed and cached.

Each table is a measurement over random cases, not a pass/fail check: the figures of
``opauc_sim.plots.theorem*`` draw them from the results cache.
"""

from __future__ import annotations

import os

import pandas as pd


def proof_tables(
    results_dir: str | os.PathLike = "results", *, quick: bool = False, progress: bool = False
) -> dict[str, pd.DataFrame]:
    """Compute the tables behind the proofs figures, save them as one set, return them.

    Tables: the Theorem 3 random-ranking scatter (pairs and hits of 500 or 3,000 uniform
    rankings at n_pos = 200, n_neg = 800, K = 10, 50), the Theorem 1 DNS(M, N) bias, and
    the Theorem 2 Taylor tau error and Softmax-v/KL/CVaR gap, each with its own parameters
    and seed in its sidecar, saved as the result set ``proof_tables``.

    Parameters
    ----------
    results_dir : path, default "results"
    quick : bool, default False
        Fewer rows (for tests).
    progress : bool, default False
        A tqdm bar over the three computations.

    Returns
    -------
    dict of str to pandas.DataFrame
    """
    from opauc_sim.checks import theorem1, theorem2, theorem3
    from opauc_sim.results_cache import save_result_set

    bar = None
    if progress:
        from opauc_sim._optional import progress_bar  # None without tqdm

        bar = progress_bar(total=3, unit="table", desc="proof tables", leave=False)
    tables = {}
    params3 = {"n_pos": 200, "n_neg": 800, "ks": [10, 50], "n_rankings": 500 if quick else 3000}
    seed3 = 20230303
    tables["theorem3_scatter"] = (theorem3.scatter_table(**params3, seed=seed3), params3, seed3)
    if bar is not None:
        bar.update(1)
    params1 = {"n_neg": 1000, "n_rows": 50 if quick else 200}
    tables["theorem1_dns_bias"] = (theorem1.dns_bias_table(**params1, seed=5), params1, 5)
    if bar is not None:
        bar.update(1)
    params2 = {"n": 200, "n_rows": 10 if quick else 50}
    full = theorem2.taylor_table(**params2, seed=17)
    if bar is not None:
        bar.close()
    tau_cols = ["dist", "n", "rho", "tau_star", "tau_taylor", "ratio", "ratio_min", "ratio_max"]
    tau_cols += ["kl_taylor"]
    gap_cols = ["dist", "n", "rho", "beta", "cvar_value", "kl_value", "softmax_v_value"]
    gap_cols += ["gap_kl_cvar", "gap_softmax_v_cvar", "gap_sd_kl_cvar", "gap_sd_softmax_v_cvar"]
    tables["theorem2_taylor_tau"] = (full[tau_cols], params2, 17)
    tables["theorem2_softmax_cvar_gap"] = (full[gap_cols], params2, 17)
    # One set, read back only whole; each table keeps its own parameters and seed.
    save_result_set(
        {name: frame for name, (frame, _, _) in tables.items()},
        "proof_tables",
        params={},
        results_dir=results_dir,
        per_member={name: {"params": p, "seed": s} for name, (_, p, s) in tables.items()},
    )
    return {name: frame for name, (frame, _, _) in tables.items()}
