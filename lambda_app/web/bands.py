"""The risk bands as the pages show them: colour, bounds and share of training applicants."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambda_app.core.bundle import Band
from lambda_app.core.scoring import Scorer
from lambda_app.web.charts import band_tone


@dataclass(frozen=True)
class BandView:
    name: str
    tone: int
    lower: float | None
    upper: float | None
    share: float | None  # % of training applicants in the band


def band_views(scorer: Scorer) -> list[BandView]:
    bands: list[Band] = scorer.manifest.bands
    views = []
    for i, b in enumerate(bands):
        lo = 0.0 if b.lower is None else scorer.percentile(b.lower)
        hi = 100.0 if b.upper is None else scorer.percentile(b.upper)
        share = None if math.isnan(lo) or math.isnan(hi) else round(hi - lo, 1)
        views.append(BandView(b.name, band_tone(i, len(bands)), b.lower, b.upper, share))
    return views


def tone_of(scorer: Scorer, band: str) -> int:
    names = [b.name for b in scorer.manifest.bands]
    return band_tone(names.index(band), len(names)) if band in names else 0
