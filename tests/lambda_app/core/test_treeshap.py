"""Each leaf's SHAP values give every applicant what CatBoost gives it asked alone, in any batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from catboost import CatBoostRegressor, Pool

from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.core.treeshap import leaf_shap
from training import synth


def alone(model: CatBoostRegressor, rows: list[list[Any]], cat_features: list[int]) -> np.ndarray:
    """CatBoost's own values, one row per call: what the service has always published."""
    return np.vstack(
        [
            model.get_feature_importance(data=Pool([r], cat_features=cat_features), type="ShapValues", thread_count=1)
            for r in rows
        ]
    )


def toy(
    depth: int, one_hot_max_size: int, *, monotone: bool = False, seed: int = 3
) -> tuple[CatBoostRegressor, list[list[Any]], list[int]]:
    """A model on a few numbers and two categories (3 and 12 values), with repeated splits;
    `monotone` as the service's models train (a monotone constraint), which leaves values in
    leaves no row reached."""
    rng = np.random.default_rng(seed)
    n = 600
    x = rng.normal(size=(n, 3))
    small = rng.choice(["a", "b", "c"], size=n)
    large = rng.choice([f"k{i}" for i in range(12)], size=n)
    y = 3 * x[:, 0] ** 2 + x[:, 1] + (small == "b") * 2 + np.char.str_len(large.astype(str)) + rng.normal(size=n)
    rows = [[*map(float, x[i]), str(small[i]), str(large[i])] for i in range(n)]
    constraints = {"monotone_constraints": {1: 1}} if monotone else {}
    model = CatBoostRegressor(
        iterations=60, depth=depth, one_hot_max_size=one_hot_max_size, verbose=False, random_seed=seed, **constraints
    )
    model.fit(Pool(rows, y, cat_features=[3, 4]))
    return model, rows, [3, 4]


@pytest.mark.parametrize("monotone", [False, True])
@pytest.mark.parametrize("depth", [1, 3, 6])
def test_every_row_of_a_batch_gets_catboosts_value_for_it_alone(depth: int, monotone: bool) -> None:
    model, rows, cats = toy(depth, one_hot_max_size=20, monotone=monotone)
    table = leaf_shap(model)
    batch = table.explain(model.calc_leaf_indexes(Pool(rows[:150], cat_features=cats)))
    np.testing.assert_allclose(batch, alone(model, rows[:150], cats), rtol=0, atol=1e-9)


def test_catboost_itself_shifts_a_rows_values_with_the_rest_of_its_call() -> None:
    """Why the table exists: asked together, CatBoost counts the whole call into the cover."""
    model, rows, cats = toy(3, one_hot_max_size=20, monotone=True)
    weights, values = model.get_leaf_weights(), model.get_leaf_values()
    assert np.any((weights == 0) & (np.abs(values) > 1e-9))  # CatBoost's condition for it
    together = model.get_feature_importance(data=Pool(rows[:50], cat_features=cats), type="ShapValues")
    assert np.abs(together - alone(model, rows[:50], cats)).max() > 1e-6


def test_a_model_with_ctr_features_is_left_to_catboost() -> None:
    model, _, _ = toy(3, one_hot_max_size=2)  # the 3- and 12-value categories become CTRs
    with pytest.raises(ValueError, match="CTR"):
        leaf_shap(model)


def test_the_services_model_explains_a_batch_as_catboost_explains_each_alone(scorer: Scorer) -> None:
    frame = synth.generate(120, seed=11)[list(FEATURES)]
    applicants: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    assert scorer.leaf_shap is not None
    reference = Scorer(scorer.model, scorer.manifest)
    reference.__dict__["leaf_shap"] = None  # CatBoost itself, one applicant a call
    together = scorer.contributions(applicants)
    for applicant, (by_field, baseline) in zip(applicants, together, strict=True):
        [(expected, expected_baseline)] = reference.contributions([applicant])
        assert baseline == pytest.approx(expected_baseline, abs=1e-9)
        assert by_field == pytest.approx(expected, abs=1e-9)


def test_a_model_the_table_cannot_describe_leaves_the_scorer_to_catboost(scorer: Scorer) -> None:
    """No table, and no error: such a scorer explains row by row with CatBoost (the reference
    scorer of the test above takes that path)."""
    model, _, _ = toy(3, one_hot_max_size=2)  # CTR features
    assert Scorer(model, scorer.manifest).leaf_shap is None
