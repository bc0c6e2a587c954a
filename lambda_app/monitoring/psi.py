"""The Population Stability Index and its reading in the conventional bands.

PSI = sum over bins of (actual - expected) * ln(actual / expected), with shares of the
current and the reference population in the same bins; the Characteristic Stability
Index (CSI) is the same formula on one input field. An empty bin would make the
logarithm infinite, so every share is floored at EPSILON (1e-4, a hundredth of a
percent) before the sum, on both sides and without renormalising: a bin empty on both
sides adds nothing, and a bin empty on one side adds a large but finite term.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

EPSILON = 1e-4
STABLE_BELOW = 0.10  # below: stable
SHIFT_ABOVE = 0.25  # 0.10 to 0.25: a shift worth watching; above: a shift that calls for review
# Fewer records than this are too few to judge: with ten bins, 500 records expect 50 per
# decile (and 25 in a 5% category), and the PSI of a sample drawn from the reference itself
# stays well below 0.10 (about (bins - 1) / n on average, 0.02 here).
MIN_RECORDS = 500

Status = Literal["stable", "watch", "shift", "insufficient"]


def shares(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def psi(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, epsilon: float = EPSILON
) -> float:
    """PSI of `actual` shares against `expected` shares (same bins, same order)."""
    e = np.maximum(np.asarray(expected, dtype=float), epsilon)
    a = np.maximum(np.asarray(actual, dtype=float), epsilon)
    if e.shape != a.shape:
        raise ValueError(f"bins differ: {e.shape[0]} expected shares, {a.shape[0]} actual")
    return float(np.sum((a - e) * np.log(a / e)))


def status(value: float, n: int, minimum: int = MIN_RECORDS) -> Status:
    if n < minimum:
        return "insufficient"
    if value < STABLE_BELOW:
        return "stable"
    return "watch" if value <= SHIFT_ABOVE else "shift"


SEVERITY: dict[Status, int] = {"stable": 0, "watch": 1, "shift": 2, "insufficient": 3}


def worst(statuses: Sequence[Status]) -> Status:
    """The overall reading: insufficient beats everything (nothing can be judged), then shift, watch."""
    return max(statuses, key=SEVERITY.__getitem__, default="insufficient")
