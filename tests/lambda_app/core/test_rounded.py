"""scoring.rounded: numpy's speed, Python's round() to the last bit (scores and percentiles depend on it)."""

from __future__ import annotations

import numpy as np

from lambda_app.core.scoring import rounded


def test_rounded_is_pythons_round_on_every_value() -> None:
    rng = np.random.default_rng(3)
    for digits in (1, 4):
        values = np.concatenate(
            [
                rng.uniform(0, 100, 200_000),
                np.round(rng.uniform(0, 100, 50_000), digits + 1),  # many exact halves, in decimal
                (np.arange(20_000) + 0.5) / 10**digits,
                np.array([0.0, -0.0, 1e300, np.inf, -np.inf, np.nan]),
            ]
        )
        expected = [round(v, digits) for v in values.tolist()]
        got = rounded(values, digits)
        assert [repr(x) for x in got] == [repr(x) for x in expected]
