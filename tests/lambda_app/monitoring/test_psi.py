"""PSI and the reference bins, on figures small enough to check by hand."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from lambda_app.core.bundle import Band, read_manifest
from lambda_app.core.distributions import Bins
from lambda_app.core.scoring import Scorer
from lambda_app.monitoring.psi import EPSILON, psi, status, worst
from lambda_app.monitoring.reference import band_shares, category_bins, numeric_bins
from lambda_app.monitoring.stability import Stability
from tests.lambda_app.monitoring.records import decision_records


def test_psi_by_hand() -> None:
    expected, actual = [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.4 - 0.3) * math.log(0.4 / 0.3)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, expected) == 0.0


def test_empty_bins_are_floored_at_epsilon() -> None:
    # Empty on both sides adds nothing; empty on one side adds a large but finite term.
    assert psi([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]) == 0.0
    value = psi([0.5, 0.5, 0.0], [0.45, 0.45, 0.10])
    by_hand = 2 * (0.45 - 0.5) * math.log(0.45 / 0.5) + (0.10 - EPSILON) * math.log(0.10 / EPSILON)
    assert value == pytest.approx(by_hand) and math.isfinite(value)


def test_status_bands_and_the_minimum() -> None:
    assert [status(v, 1000) for v in (0.0, 0.099, 0.10, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "shift",
    ]
    assert status(0.9, 499) == "insufficient"
    assert worst(["stable", "shift", "watch"]) == "shift" and worst(["shift", "insufficient"]) == "insufficient"


def test_numeric_bins_are_deciles_with_open_ends() -> None:
    bins = numeric_bins(np.arange(1000, dtype=float))
    assert bins.edges[0] is None and bins.edges[-1] is None and len(bins.shares) == 10
    assert bins.shares == pytest.approx([0.1] * 10, abs=0.002)


def test_few_distinct_values_get_a_bin_each() -> None:
    bins = numeric_bins(np.array([0] * 50 + [1] * 30 + [2] * 20, dtype=float))
    assert bins.cuts == [0.0, 1.0, 2.0]
    assert bins.shares == pytest.approx([0.0, 0.5, 0.3, 0.2])


def test_category_and_band_shares() -> None:
    assert category_bins(["a", "b", "b", "b"], ["a", "b", "c"]).shares == [0.25, 0.75, 0.0]
    with pytest.raises(ValueError, match="outside the categories"):
        category_bins(["z"], ["a"])
    bands = [Band(name="low", lower=None, upper=10), Band(name="high", lower=10, upper=None)]
    assert band_shares(np.array([1.0, 9.9, 10.0, 50.0]), bands) == {"low": 0.5, "high": 0.5}


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "numeric", "edges": [None, 1.0, None], "shares": [1.0]},
        {"kind": "numeric", "edges": [0.0, 1.0, None], "shares": [0.5, 0.5]},
        {"kind": "numeric", "edges": [None, 2.0, 1.0, None], "shares": [0.3, 0.3, 0.4]},
        {"kind": "category", "categories": ["a"], "shares": [0.5, 0.5]},
        {"kind": "category", "categories": ["a", "b"], "shares": [0.5, 0.6]},
    ],
)
def test_inconsistent_bins_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Bins.model_validate(bad)


def test_chunks_add_up_to_the_whole(bundle_dir: Path, scorer: Scorer, people: list[dict[str, Any]]) -> None:
    """Counting in chunks of 7 gives the report counting all at once gives: nothing dropped between chunks."""
    manifest = read_manifest(bundle_dir)
    assert manifest.reference is not None
    records = decision_records(scorer, people[:1000], challenger=scorer)
    whole, chunked = Stability(manifest.reference), Stability(manifest.reference, chunk=7)
    whole.add(iter(records))
    chunked.add(iter(records))
    assert chunked.n == whole.n == 1000 and chunked.challenger.n == 1000
    assert chunked.report() == whole.report()
