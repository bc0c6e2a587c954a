"""Risk bands and percentiles: where a score falls among the training applicants'."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lambda_app.core.bundle import Band


def band_of(score: float, bands: Sequence[Band]) -> str:
    """The name of the band a score falls in (bands sorted, first and last open)."""
    return band_in(score, *band_cuts(bands))


def band_cuts(bands: Sequence[Band]) -> tuple[list[tuple[float, str]], str]:
    """Each band's upper edge and name, and the last band's name: what band_in needs, taken
    out of the manifest's models once rather than for every scored row."""
    cuts = [(b.upper, b.name) for b in bands[:-1] if b.upper is not None]
    return cuts, bands[-1].name if bands else "unbanded"


def band_in(score: float, cuts: Sequence[tuple[float, str]], last: str) -> str:
    for upper, name in cuts:
        if score < upper:
            return name
    return last


def percentile_of(score: float, quantiles: Sequence[float], percents: Sequence[float] | None = None) -> float:
    """Position of a score among the training scores, from their 101 percentiles."""
    if not len(quantiles):
        return float("nan")
    if percents is None:
        steps = len(quantiles) - 1
        percents = [100.0 * i / steps for i in range(steps + 1)]
    return round(float(np.interp(score, quantiles, percents)), 1)
