import numpy as np
import pytest

from training.fairness import age_bands, findings, group_figures, standardized_mean_difference


def test_age_bands_edges() -> None:
    assert age_bands([18, 29, 30, 49, 50, 59, 60, 80]).tolist() == [
        "18-29",
        "18-29",
        "30-39",
        "40-49",
        "50-59",
        "50-59",
        "60+",
        "60+",
    ]


def test_group_figures_on_a_hand_computed_example() -> None:
    groups = ["a"] * 10 + ["b"] * 10
    scores = [50.0] * 9 + [70.0] + [50.0] * 7 + [70.0] * 3  # a: 1 in 10 in the top band, b: 3 in 10
    actual = [50.0] * 20
    a, b = group_figures("g", groups, scores, actual, top_band_lower=65, order=["a", "b"])
    assert (a.rows, a.top_band_share, b.top_band_share) == (10, 0.1, 0.3)
    assert a.favourable_ratio == 1.0 and b.favourable_ratio == pytest.approx(0.7 / 0.9, abs=1e-4)
    assert a.adverse_ratio == 1.0 and b.adverse_ratio == pytest.approx(3.0)
    assert a.mean_score == 52.0 and b.mean_score == 56.0 and b.gap == 6.0
    assert a.smd == 0.0 and b.smd > 0
    assert "four-fifths" in b.flags and "SMD" in b.flags and "small group" in b.flags and "four-fifths" not in a.flags


def test_standardized_mean_difference() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(1.0, 2.0, 50_000), rng.normal(0.0, 2.0, 50_000)
    assert standardized_mean_difference(x, y) == pytest.approx(0.5, abs=0.02)
    assert standardized_mean_difference([1.0, 1.0], [1.0, 1.0]) == 0.0


def test_findings_say_whether_the_model_adds_to_the_data_gap() -> None:
    groups = ["young"] * 50 + ["old"] * 50
    actual = [55.0] * 50 + [50.0] * 50
    rng = np.random.default_rng(0)
    same_gap = np.array(actual) + rng.normal(0, 1, 100)
    table = group_figures("Age", groups, same_gap, actual, top_band_lower=60, order=["young", "old"])
    text = " ".join(findings("Age", table))
    assert "passes the four-fifths rule" in text and "reproduces the data's difference" in text
    added = np.array([60.0] * 50 + [50.0] * 50) + rng.normal(0, 1, 100)
    table = group_figures("Age", groups, added, actual, top_band_lower=58, order=["young", "old"])
    text = " ".join(findings("Age", table))
    assert "fails the four-fifths rule" in text and "differently from what their actual scores warrant" in text
