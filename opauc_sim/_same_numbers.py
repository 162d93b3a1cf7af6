"""Whether two CSV tables hold the same numbers, up to the last digits of another CPU.

:mod:`opauc_sim.results_cache` keeps a committed result when a rerun computes the same
table: the same text cells and floats equal to a relative :data:`SAME_NUMBERS_RTOL`. A
sum's last digits depend on the vector width the CPU runs it with (AVX2 against AVX-512),
so a byte comparison alone would rewrite every committed result on another machine.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

#: Two tables whose floats agree to this relative tolerance (and whose other cells are
#: equal) hold the same numbers: the last digits that another CPU's vector width changes
#: in a sum (AVX2 against AVX-512) do not rewrite a committed result.
SAME_NUMBERS_RTOL = 1e-9


def same_numbers(old: bytes, new: bytes) -> bool:
    """Whether two CSVs hold the same table: equal cells, except floats (a cell with a
    point, an exponent, inf or nan) equal to a relative :data:`SAME_NUMBERS_RTOL`."""
    try:
        a = pd.read_csv(io.BytesIO(old), dtype=str, keep_default_na=False)
        b = pd.read_csv(io.BytesIO(new), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError):
        return False
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return False
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        differ = x != y
        if not differ.any():
            continue
        if any(not set("._eEnN") & set(c) for c in np.concatenate([x[differ], y[differ]])):
            return False  # an integer (a count, a seed) differs: never within a tolerance
        try:
            fx = x[differ].astype(float)
            fy = y[differ].astype(float)
        except ValueError:
            return False  # a text cell differs
        if not np.allclose(fx, fy, rtol=SAME_NUMBERS_RTOL, atol=0.0, equal_nan=True):
            return False
    return True
