import math

import pytest

from lambda_app.core.bundle import Band
from lambda_app.core.text import signed
from lambda_app.web.charts import (
    LABEL_ROOM,
    ROW_HEIGHT,
    Tick,
    band_tone,
    contribution_chart,
    distribution_strip,
    staggered,
)

ROWS = [
    ("Work experience: 19", 0.6, False, "raised"),
    ("Age: 40", 0.3, True, "raised"),
    ("Debt to income: 0.23", -1.5, False, "lowered"),
    ("All other fields together", -0.9, False, "other"),
]


def test_bars_diverge_from_one_zero_line_on_one_scale() -> None:
    chart = contribution_chart(ROWS)
    raised, age, lowered, other = chart.bars
    assert raised.x == pytest.approx(chart.zero) and age.x == pytest.approx(chart.zero)
    assert lowered.x + lowered.width == pytest.approx(chart.zero)
    assert other.x + other.width == pytest.approx(chart.zero)
    # Lengths are proportional to the contributions, whichever side they are on.
    assert raised.width / lowered.width == pytest.approx(0.6 / 1.5)
    assert age.width / raised.width == pytest.approx(0.5)


def test_the_bars_use_the_whole_width_between_the_label_margins() -> None:
    chart = contribution_chart(ROWS)
    left = min(b.x for b in chart.bars)
    right = max(b.x + b.width for b in chart.bars)
    assert left == pytest.approx(LABEL_ROOM)
    assert right == pytest.approx(100 - LABEL_ROOM)


def test_value_labels_sit_outside_the_bar_ends() -> None:
    chart = contribution_chart(ROWS)
    for bar in chart.bars:
        if bar.contribution > 0:
            assert bar.value_anchor == "start" and bar.value_x > bar.x + bar.width
        else:
            assert bar.value_anchor == "end" and bar.value_x < bar.x


def test_rows_stack_in_the_given_order_and_keep_their_facts() -> None:
    chart = contribution_chart(ROWS)
    assert [b.y for b in chart.bars] == [0, ROW_HEIGHT, 2 * ROW_HEIGHT, 3 * ROW_HEIGHT]
    assert chart.height == 4 * ROW_HEIGHT
    assert [(b.label, b.protected, b.kind) for b in chart.bars] == [(r[0], r[2], r[3]) for r in ROWS]
    assert [b.value_text for b in chart.bars] == ["+0.6", "+0.3", "\u22121.5", "\u22120.9"]


def test_one_sided_and_empty_charts_do_not_divide_by_zero() -> None:
    only_up = contribution_chart([("a", 2.0, False, "raised"), ("b", 1.0, False, "raised")])
    assert only_up.zero == pytest.approx(LABEL_ROOM)
    assert only_up.bars[0].x + only_up.bars[0].width == pytest.approx(100 - LABEL_ROOM)
    only_down = contribution_chart([("a", -2.0, False, "lowered")])
    assert only_down.zero == pytest.approx(100 - LABEL_ROOM)
    empty = contribution_chart([])
    assert empty.bars == () and empty.height > 0
    zeros = contribution_chart([("a", 0.0, False, "other")])
    assert zeros.bars[0].width == 0


def test_signed_uses_a_real_minus_sign() -> None:
    assert signed(1.26) == "+1.3"
    assert signed(-0.04) == "\u22120.0"
    assert signed(0.0) == "+0.0"


BANDS = [
    Band(name="low", lower=None, upper=50.0),
    Band(name="medium", lower=50.0, upper=60.0),
    Band(name="high", lower=60.0, upper=70.0),
    Band(name="very high", lower=70.0, upper=None),
]
PERCENTILES = {50.0: 50.0, 60.0: 80.0, 70.0: 95.0}


def test_strip_bands_are_as_wide_as_their_share_of_applicants() -> None:
    strip = distribution_strip(BANDS, PERCENTILES.__getitem__, 63.0)
    assert [(s.name, s.x, s.width) for s in strip.segments] == [
        ("low", 0.0, 50.0),
        ("medium", 50.0, 30.0),
        ("high", 80.0, 15.0),
        ("very high", 95.0, 5.0),
    ]
    assert [s.tone for s in strip.segments] == [0, 1, 2, 3]
    assert [(t.x, t.label) for t in strip.ticks] == [(50.0, "50"), (80.0, "60"), (95.0, "70")]
    assert [t.above for t in strip.ticks] == [False, False, True]
    assert strip.marker == 63.0


def test_strip_without_a_score_distribution_draws_even_bands_and_no_marker() -> None:
    strip = distribution_strip(BANDS, lambda _: math.nan, math.nan)
    assert [s.width for s in strip.segments] == [25.0] * 4
    assert strip.marker is None


def test_strip_marker_is_kept_on_the_strip() -> None:
    assert distribution_strip(BANDS, PERCENTILES.__getitem__, 130.0).marker == 100.0
    assert distribution_strip([], PERCENTILES.__getitem__, 12.0).segments == ()


@pytest.mark.parametrize(("x", "anchor"), [(3.0, "start"), (50.0, "middle"), (95.0, "end")])
def test_tick_labels_near_an_edge_hang_inwards(x: float, anchor: str) -> None:
    assert Tick(x, "1").anchor == anchor


@pytest.mark.parametrize(("count", "tones"), [(4, [0, 1, 2, 3]), (2, [0, 3]), (1, [0]), (3, [0, 2, 3])])
def test_band_tones_run_from_lowest_to_highest_risk(count: int, tones: list[int]) -> None:
    assert [band_tone(i, count) for i in range(count)] == tones


def test_crowded_tick_labels_alternate_above_and_below_the_strip() -> None:
    ticks = staggered([Tick(x, "9") for x in (10.0, 20.0, 30.0, 60.0, 70.0, 75.0, 98.0)])
    # 20 crowds 10 so goes above; 30 crowds both rows so goes below; 75 likewise.
    assert [t.above for t in ticks] == [False, True, False, False, True, False, False]
    assert [t.above for t in staggered([Tick(x, "9") for x in (20.0, 50.0, 80.0)])] == [False, False, False]
