"""Score differences across protected groups (ECOA: marital status and age).

Computed on out-of-fold scores, so they describe applicants the model has not seen.
For each group: the mean score, the mean of the actual target and their difference
(does the model add a gap the data does not have?), the share of the group scored in
the highest-risk band, and two comparisons with the most favoured group:

- the four-fifths rule on the favourable outcome (not being in the highest-risk band):
  a group's rate divided by the most favoured group's rate, flagged below 0.8; and the
  plain ratio of highest-band shares, which is far more sensitive when the band is small;
- the standardised mean difference of the score (difference of means over the pooled
  standard deviation), against the group with the lowest mean score; |SMD| >= 0.2 is
  conventionally a small but real effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FOUR_FIFTHS = 0.8
SMD_FLAG = 0.2
MIN_GROUP_ROWS = 30

# Upper bounds (exclusive) and names; the last band is open.
AGE_BANDS: tuple[tuple[float, str], ...] = ((30, "18-29"), (40, "30-39"), (50, "40-49"), (60, "50-59"), (np.inf, "60+"))


def age_bands(ages: Any) -> np.ndarray:
    a = np.asarray(ages, dtype=float)
    edges = [upper for upper, _ in AGE_BANDS]
    names = np.array([name for _, name in AGE_BANDS], dtype=object)
    return names[np.searchsorted(edges, a, side="right")]


@dataclass(frozen=True)
class GroupFigures:
    attribute: str
    group: str
    rows: int
    mean_score: float
    mean_actual: float
    gap: float  # mean score - mean actual: > 0 the model scores the group riskier than it turned out
    top_band_share: float
    favourable_ratio: float  # (1 - share) / (1 - most favoured share); four-fifths rule
    adverse_ratio: float | None  # share / most favoured share; None when that share is 0
    smd: float  # vs the group with the lowest mean score

    @property
    def flags(self) -> list[str]:
        out = []
        if self.rows < MIN_GROUP_ROWS:
            out.append("small group")
        if self.favourable_ratio < FOUR_FIFTHS:
            out.append("four-fifths")
        if abs(self.smd) >= SMD_FLAG:
            out.append("SMD")
        return out


def group_figures(
    attribute: str, groups: Any, scores: Any, actual: Any, top_band_lower: float, order: Sequence[str] = ()
) -> list[GroupFigures]:
    g = np.asarray(groups, dtype=object)
    s = np.asarray(scores, dtype=float)
    y = np.asarray(actual, dtype=float)
    present = [x for x in order if np.any(g == x)] or sorted({str(x) for x in g})
    top = s >= top_band_lower
    share = {x: float(np.mean(top[g == x])) for x in present}
    mean = {x: float(np.mean(s[g == x])) for x in present}
    best_share = min(share.values())
    best_mean = min(present, key=lambda x: mean[x])
    out = []
    for x in present:
        member = g == x
        out.append(
            GroupFigures(
                attribute=attribute,
                group=str(x),
                rows=int(member.sum()),
                mean_score=round(mean[x], 3),
                mean_actual=round(float(np.mean(y[member])), 3),
                gap=round(mean[x] - float(np.mean(y[member])), 3),
                top_band_share=round(share[x], 4),
                favourable_ratio=round((1 - share[x]) / (1 - best_share), 4) if best_share < 1 else 1.0,
                adverse_ratio=round(share[x] / best_share, 3) if best_share > 0 else None,
                smd=round(standardized_mean_difference(s[member], s[g == best_mean]), 3),
            )
        )
    return out


def standardized_mean_difference(a: Any, b: Any) -> float:
    """(mean a - mean b) / pooled standard deviation; 0 when both are constant."""
    x = np.asarray(a, dtype=float)
    z = np.asarray(b, dtype=float)
    if x.size < 2 or z.size < 2:
        return 0.0
    pooled = np.sqrt(((x.size - 1) * x.var(ddof=1) + (z.size - 1) * z.var(ddof=1)) / (x.size + z.size - 2))
    return float((x.mean() - z.mean()) / pooled) if pooled > 0 else 0.0


def findings(attribute: str, groups: Sequence[GroupFigures]) -> list[str]:
    """Plain-language reading of one attribute's table."""
    if not groups:
        return []
    out = []
    worst = min(groups, key=lambda g: g.favourable_ratio)
    if worst.favourable_ratio < FOUR_FIFTHS:
        out.append(f"{attribute}: {worst.group} fails the four-fifths rule (ratio {worst.favourable_ratio:.3f}).")
    else:
        out.append(
            f"{attribute}: every group passes the four-fifths rule (lowest ratio {worst.favourable_ratio:.3f}, "
            f"{worst.group})."
        )
    largest = max(groups, key=lambda g: abs(g.smd))
    gaps = [g.gap for g in groups]
    spread = max(gaps) - min(gaps)
    if abs(largest.smd) >= SMD_FLAG:
        out.append(
            f"{attribute}: mean scores differ (largest SMD {largest.smd:+.2f}, {largest.group}); the actual target "
            f"differs alike, the gap between mean score and mean actual varying by only {spread:.2f} points across "
            "groups, so the model reproduces the data's difference rather than adding to it."
            if spread < 0.5
            else f"{attribute}: mean scores differ (largest SMD {largest.smd:+.2f}, {largest.group}) and the gap "
            f"between mean score and mean actual varies by {spread:.2f} points across groups: the model treats "
            "some groups differently from what their actual scores warrant."
        )
    else:
        out.append(f"{attribute}: no group's mean score differs by |SMD| >= {SMD_FLAG} (largest {largest.smd:+.3f}).")
    return out
