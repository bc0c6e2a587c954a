import numpy as np
import pandas as pd
import pytest

from training.residuals import analyse, ranges, score_edges, slices
from training.synth import generate


def test_ranges_are_named_and_ordered() -> None:
    names, order = ranges([30, 40, 44.9, 45, 90], [40, 45])
    assert order == ["<40", "40-45", ">=45"] and names.tolist() == ["<40", "40-45", "40-45", ">=45", ">=45"]
    assert score_edges(np.linspace(28, 84, 1000), width=5) == [
        30.0,
        35.0,
        40.0,
        45.0,
        50.0,
        55.0,
        60.0,
        65.0,
        70.0,
        75.0,
        80.0,
    ]


def test_slices_count_the_worst_errors() -> None:
    residual = np.array([0.1] * 95 + [10.0] * 5)
    names = np.array(["calm"] * 95 + ["wild"] * 5, dtype=object)
    calm, wild = slices(names, residual, ["calm", "wild"])
    assert wild.worst_share == 1.0 and calm.worst_share == 0.0 and wild.mae == 10.0 and calm.share == 0.95


def test_analysis_finds_the_uncertain_approvals() -> None:
    frame = generate(2000, seed=9)
    rng = np.random.default_rng(0)
    index = rng.normal(0, 4, len(frame))
    uncertain = np.abs(index) < 1.4  # probability between about 0.2 and 0.8
    predicted = frame["RiskScore"] + np.where(uncertain, rng.normal(0, 8, len(frame)), rng.normal(0, 1, len(frame)))
    labels = np.zeros(len(frame), dtype=int)
    a = analyse(frame, frame["RiskScore"], predicted, index, labels)
    middle = next(s for s in a.by_approval_probability if s.name == "0.2-0.8")
    assert middle.worst_share > 0.8 and middle.mae > 3 * a.by_approval_probability[0].mae
    assert any("Uncertain approval" in f for f in a.findings)
    assert sum(s.rows for s in a.by_actual) == sum(s.rows for s in a.by_predicted) == len(frame)
    without = analyse(frame, frame["RiskScore"], predicted, None, None)
    assert without.by_approval_probability == [] and without.findings
    assert isinstance(frame, pd.DataFrame) and a.overall_mae == pytest.approx(
        np.abs(frame["RiskScore"] - predicted).mean(), abs=1e-3
    )
