"""Geometry of the UI's inline SVG charts, as pure functions the templates only draw.

Coordinates along the chart's width are percentages, so one SVG stretches to any screen
width while its text keeps a readable pixel size (SVG accepts `x="42%"` on rects, circles,
lines and text, where a viewBox would scale the text down on a phone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lambda_app.core.bundle import Band
from lambda_app.core.text import signed

# Share of the width kept clear on each side of the bars for their value labels.
LABEL_ROOM = 12.0
ROW_HEIGHT = 46
BAR_HEIGHT = 14
TONES = 4  # the CSS has band-tone-0 (lowest risk) .. band-tone-3 (highest)


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str  # signed with a real minus sign, e.g. "+1.5"
    contribution: float
    protected: bool
    kind: str  # "raised" | "lowered" | "other": the CSS class that colours it
    x: float  # % of the width
    width: float  # % of the width
    y: int  # px, top of the label line
    value_x: float  # % of the width, where the value label is anchored
    value_anchor: str  # "start" | "end"

    @property
    def bar_y(self) -> int:
        return self.y + 20


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    zero: float  # % of the width
    height: int


def contribution_chart(rows: Sequence[tuple[str, float, bool, str]]) -> BarChart:
    """Diverging bars for (label, contribution, protected, kind) rows, in the order given:
    raised to the right of the zero line, lowered to the left, on one shared scale."""
    pos = max((c for _, c, _, _ in rows if c > 0), default=0.0)
    neg = max((-c for _, c, _, _ in rows if c < 0), default=0.0)
    span = 100.0 - 2 * LABEL_ROOM
    total = pos + neg
    zero = LABEL_ROOM + (span * neg / total if total else span / 2)
    scale = span / total if total else 0.0
    bars = []
    for i, (label, c, protected, kind) in enumerate(rows):
        width = abs(c) * scale
        x = zero if c >= 0 else zero - width
        value_x, anchor = (x + width + 1.0, "start") if c >= 0 else (x - 1.0, "end")
        bars.append(Bar(label, signed(c), c, protected, kind, x, width, i * ROW_HEIGHT, value_x, anchor))
    return BarChart(tuple(bars), zero, max(1, len(rows)) * ROW_HEIGHT)


@dataclass(frozen=True)
class Segment:
    name: str
    tone: int
    x: float  # % of the width
    width: float


# Tick labels closer than this (in % of the width) would overlap on a phone: the later one
# goes above the strip instead of below it.
TICK_GAP = 22.0


@dataclass(frozen=True)
class Tick:
    x: float  # % of the width
    label: str
    above: bool = False

    @property
    def anchor(self) -> str:
        """Labels near an edge hang inwards, so a narrow screen does not cut them off."""
        return "end" if self.x > 90 else "start" if self.x < 10 else "middle"


@dataclass(frozen=True)
class Strip:
    """Training applicants from least (left) to most risky (right), banded; the marker is
    the applicant. The x axis is the percentile, so a band's width is its share of applicants."""

    segments: tuple[Segment, ...]
    ticks: tuple[Tick, ...]
    marker: float | None  # % of the width; None when the bundle has no score distribution


def band_tone(index: int, count: int) -> int:
    """Colour step for the index-th of `count` bands, spread over the CSS's TONES."""
    if count <= 1:
        return 0
    return round(index * (TONES - 1) / (count - 1))


def distribution_strip(bands: Sequence[Band], percentile: Callable[[float], float], applicant: float) -> Strip:
    """`applicant` is the applicant's percentile; NaN when the bundle has no score distribution,
    and then the bands are drawn evenly and without a marker."""
    marker = None if math.isnan(applicant) else clamp(applicant)
    if not bands:
        return Strip((), (), marker)
    cuts = [b.upper for b in bands[:-1] if b.upper is not None]
    edges = [0.0, *(clamp(percentile(c)) for c in cuts), 100.0]
    if any(math.isnan(e) for e in edges) or len(edges) != len(bands) + 1:
        edges = [100.0 * i / len(bands) for i in range(len(bands) + 1)]
    segments = tuple(
        Segment(b.name, band_tone(i, len(bands)), edges[i], edges[i + 1] - edges[i]) for i, b in enumerate(bands)
    )
    ticks = staggered([Tick(edges[i + 1], f"{c:g}") for i, c in enumerate(cuts)])
    return Strip(segments, ticks, marker)


def clamp(pct: float) -> float:
    return pct if math.isnan(pct) else min(100.0, max(0.0, pct))


def staggered(ticks: Sequence[Tick]) -> tuple[Tick, ...]:
    """Ticks (left to right) with each label below the strip unless it would crowd the last
    label there, in which case above it, unless that crowds too (then below after all)."""
    out: list[Tick] = []
    last = {False: -math.inf, True: -math.inf}
    for t in ticks:
        above = t.x - last[False] < TICK_GAP and t.x - last[True] >= TICK_GAP
        out.append(Tick(t.x, t.label, above))
        last[above] = t.x
    return tuple(out)
