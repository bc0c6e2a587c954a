"""Error analysis on out-of-fold predictions: where the model is wrong, and how.

Residual = actual - predicted (> 0: the model scored the applicant too low).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from lambda_app.core.schema import CATEGORICAL, SPECS

WORST_SHARE = 0.05  # "worst errors": the 5% largest absolute residuals
PROBABILITY_EDGES = (0.05, 0.2, 0.8, 0.95)
MIN_SEGMENT_SHARE = 0.01


@dataclass(frozen=True)
class Slice:
    name: str
    rows: int
    share: float  # of all rows
    mean_residual: float
    mae: float
    worst_share: float  # share of the worst errors that fall in this slice


def slices(names: Any, residual: np.ndarray, order: Sequence[str]) -> list[Slice]:
    labels = np.asarray(names, dtype=object)
    worst = np.abs(residual) >= np.quantile(np.abs(residual), 1 - WORST_SHARE)
    out = []
    for name in order:
        member = labels == name
        if not member.any():
            continue
        r = residual[member]
        out.append(
            Slice(
                name=str(name),
                rows=int(member.sum()),
                share=round(float(member.mean()), 4),
                mean_residual=round(float(r.mean()), 3),
                mae=round(float(np.abs(r).mean()), 3),
                worst_share=round(float(worst[member].sum() / max(worst.sum(), 1)), 4),
            )
        )
    return out


def ranges(values: Any, edges: Sequence[float], unit: str = "") -> tuple[np.ndarray, list[str]]:
    """Each value's range name ('<40', '40-45', ..., '>=70') and the names in order."""
    v = np.asarray(values, dtype=float)
    names = [f"<{_fmt(edges[0])}{unit}"]
    names += [f"{_fmt(a)}-{_fmt(b)}{unit}" for a, b in itertools.pairwise(edges)]
    names += [f">={_fmt(edges[-1])}{unit}"]
    return np.array(names, dtype=object)[np.searchsorted(edges, v, side="right")], names


def _fmt(x: float) -> str:
    return f"{x:g}"


def score_edges(values: Any, width: float = 5.0, tail: float = 0.01) -> list[float]:
    """Round-number cut points every `width` points, the outer ranges holding at least
    `tail` of the rows so that no range is a handful of applicants."""
    v = np.asarray(values, dtype=float)
    lo = np.ceil(np.quantile(v, tail) / width) * width
    hi = np.floor(np.quantile(v, 1 - tail) / width) * width
    return [float(x) for x in np.arange(lo, hi + width / 2, width)]


@dataclass(frozen=True)
class ErrorAnalysis:
    by_actual: list[Slice]
    by_predicted: list[Slice]
    by_approval_probability: list[Slice]  # empty without an approval index
    by_approval_label: list[Slice]  # empty without an approval index
    segments: list[Slice]  # categorical levels and flags with the largest MAE
    overall_mae: float
    findings: list[str]


def analyse(frame: pd.DataFrame, actual: Any, predicted: Any, index: Any | None, labels: Any | None) -> ErrorAnalysis:
    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    residual = y - p
    edges = score_edges(y)
    by_actual = _by_ranges(y, edges, residual)
    by_predicted = _by_ranges(p, edges, residual)
    by_probability: list[Slice] = []
    by_label: list[Slice] = []
    if index is not None and labels is not None:
        probability = 1.0 / (1.0 + np.exp(-np.asarray(index, dtype=float)))
        names, order = ranges(probability, PROBABILITY_EDGES)
        by_probability = slices(names, residual, order)
        label_names = np.array(["ambiguous", "not approved", "approved"], dtype=object)[np.asarray(labels) + 1]
        by_label = slices(label_names, residual, ["not approved", "approved", "ambiguous"])
    segments = _segments(frame, residual)
    analysis = ErrorAnalysis(
        by_actual, by_predicted, by_probability, by_label, segments, round(float(np.abs(residual).mean()), 3), []
    )
    return replace(analysis, findings=findings(analysis))


def _by_ranges(values: np.ndarray, edges: Sequence[float], residual: np.ndarray) -> list[Slice]:
    names, order = ranges(values, edges)
    return slices(names, residual, order)


def _segments(frame: pd.DataFrame, residual: np.ndarray, top: int = 6) -> list[Slice]:
    candidates: list[Slice] = []
    flags = [n for n, s in SPECS.items() if s.unit.startswith("0/1")]
    for field in [*CATEGORICAL, *flags]:
        values = frame[field].astype(str).to_numpy(dtype=object)
        levels = sorted(set(values))
        for s in slices(values, residual, levels):
            if s.share >= MIN_SEGMENT_SHARE:
                candidates.append(Slice(f"{field} = {s.name}", s.rows, s.share, s.mean_residual, s.mae, s.worst_share))
    return sorted(candidates, key=lambda s: -s.mae)[:top]


def findings(a: ErrorAnalysis) -> list[str]:
    """Plain-language observations drawn from the tables (numbers, not adjectives)."""
    out = []
    low, high = a.by_actual[0], a.by_actual[-1]
    out.append(
        f"Scores are pulled toward the middle: applicants whose actual score was {high.name} were predicted "
        f"{high.mean_residual:+.1f} points off on average (residual = actual - predicted), those at {low.name} "
        f"{low.mean_residual:+.1f}. By predicted score the mean residual stays within "
        f"{max(abs(s.mean_residual) for s in a.by_predicted if s.share >= 0.02):.1f} points in every range "
        "holding 2% or more of applicants, so a given predicted score means the same everywhere."
    )
    uncertain = [s for s in a.by_approval_probability if s.name == "0.2-0.8"]
    if uncertain:
        u = uncertain[0]
        sure = [s for s in a.by_approval_probability if s.name in ("<0.05", ">=0.95")]
        out.append(
            f"Uncertain approval is the main source of large errors: applicants whose approval probability "
            f"(from the index) is between 0.2 and 0.8 are {u.share:.0%} of the data but {u.worst_share:.0%} of the "
            f"worst {WORST_SHARE:.0%} errors, with MAE {u.mae:.2f} against "
            + " and ".join(f"{s.mae:.2f} ({s.name})" for s in sure)
            + ". A wrong guess about approval moves the score by 20%."
        )
    if a.segments:
        s = a.segments[0]
        out.append(
            f"The segment with the largest error is {s.name} (MAE {s.mae:.2f} vs {a.overall_mae:.2f} overall, "
            f"{s.share:.0%} of applicants)."
        )
    return out
