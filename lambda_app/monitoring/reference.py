"""Building a bundle's reference distributions from training columns (numpy arrays, no pandas),
and the one binning rule that both training and monitoring count with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambda_app.core.bundle import Band
from lambda_app.core.distributions import Bins, Reference
from lambda_app.core.schema import FIELDS, FieldSpec

# Deciles: the convention for PSI, and enough applicants per bin (10%) that a few hundred
# new ones fill every bin.
QUANTILE_BINS = 10
FLAG_CATEGORIES = ("0", "1")


def is_flag(spec: FieldSpec) -> bool:
    return spec.kind == "int" and spec.minimum == 0 and spec.maximum == 1


def categories_of(spec: FieldSpec) -> tuple[str, ...]:
    """The bins of a field that is not binned by quantiles, or () for a numeric one."""
    return spec.choices or (FLAG_CATEGORIES if is_flag(spec) else ())


def numeric_index(cuts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The bin of each value between the inner edges `cuts`: bin i holds edges[i] <= x < edges[i + 1]."""
    return np.searchsorted(cuts, values, side="right")


def numeric_bins(values: np.ndarray, bins: int = QUANTILE_BINS) -> Bins:
    """Quantile bins with open outer edges. Cuts are values the data holds ("lower"
    quantiles), so a field with few distinct values (dependents, 0/1 flags in disguise)
    gets a bin per value rather than cuts between them; repeated cuts merge."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no finite values to bin")
    cuts = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
    counts = np.bincount(numeric_index(cuts, x), minlength=len(cuts) + 1)
    return Bins(kind="numeric", edges=[None, *(float(c) for c in cuts), None], shares=_shares(counts))


def category_bins(values: Sequence[Any] | np.ndarray, categories: Sequence[str]) -> Bins:
    position = {c: i for i, c in enumerate(categories)}
    index = [position.get(str(v), -1) for v in values]
    if -1 in index:
        unknown = sorted({str(v) for v in values if str(v) not in position})
        raise ValueError(f"values outside the categories {list(categories)}: {unknown[:5]}")
    counts = np.bincount(np.asarray(index, dtype=int), minlength=len(categories))
    return Bins(kind="category", categories=list(categories), shares=_shares(counts))


def field_bins(spec: FieldSpec, values: Sequence[Any] | np.ndarray) -> Bins:
    categories = categories_of(spec)
    if categories:
        return category_bins([int(v) if is_flag(spec) else v for v in values], categories)
    return numeric_bins(np.asarray(values, dtype=float))


def band_shares(scores: np.ndarray, bands: Sequence[Band]) -> dict[str, float]:
    """Share of scores in each band (lower inclusive, upper exclusive, as Scorer.band cuts)."""
    s = np.asarray(scores, dtype=float)
    out = {}
    for b in bands:
        inside = np.ones(s.shape, dtype=bool)
        if b.lower is not None:
            inside &= s >= b.lower
        if b.upper is not None:
            inside &= s < b.upper
        out[b.name] = round(float(inside.mean()), 6) if s.size else 0.0
    return out


def build_reference(
    columns: Mapping[str, Sequence[Any] | np.ndarray], scores: np.ndarray, bands: Sequence[Band]
) -> Reference:
    """The reference from the training applicants' fields (one array per field) and the
    model's out-of-fold scores of the same applicants."""
    missing = [f.name for f in FIELDS if f.name not in columns]
    if missing:
        raise ValueError(f"reference needs every field; missing {', '.join(missing)}")
    return Reference(
        n=len(scores),
        score=numeric_bins(np.asarray(scores, dtype=float)),
        fields={spec.name: field_bins(spec, columns[spec.name]) for spec in FIELDS},
        bands=band_shares(scores, bands),
    )


def _shares(counts: np.ndarray) -> list[float]:
    # Eight decimals keep the manifest readable; the rounding is far below any share that matters.
    return [round(float(c) / int(counts.sum()), 8) for c in counts]
