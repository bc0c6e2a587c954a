import numpy as np
import pandas as pd
import pytest

from training.cv import FoldPrediction, cross_validate, folds, paired_difference, summarize


def test_folds_partition_the_rows_reproducibly() -> None:
    parts = folds(103, 5, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert {len(p) for p in parts} <= {20, 21}
    assert all((a == b).all() for a, b in zip(parts, folds(103, 5, seed=1), strict=True))
    assert not all((a == b).all() for a, b in zip(parts, folds(103, 5, seed=2), strict=True))
    with pytest.raises(ValueError, match="folds"):
        folds(10, 1, seed=0)


def test_every_row_is_predicted_once_by_a_model_that_never_saw_it() -> None:
    frame = pd.DataFrame({"id": np.arange(30), "y": np.arange(30, dtype=float)})
    seen: list[set[int]] = []

    def fit_predict(train: pd.DataFrame, validation: pd.DataFrame) -> FoldPrediction:
        assert not set(train["id"]) & set(validation["id"])
        seen.append(set(validation["id"]))
        # "Predict" the mean of the training part: out-of-fold, so never the row's own value.
        return FoldPrediction(np.full(len(validation), train["y"].mean()), None)

    result = cross_validate(frame, "y", 3, seed=0, fit_predict=fit_predict)
    assert set().union(*seen) == set(range(30)) and sum(len(s) for s in seen) == 30
    assert not np.isnan(result.predictions).any() and result.approval_index is None
    assert len(result.fold_metrics) == 3 and sorted(set(result.fold.tolist())) == [0, 1, 2]


def test_summary_and_paired_difference() -> None:
    a = [{"r2": 0.8, "mae": 2.0, "rmse": 3.0}, {"r2": 0.82, "mae": 2.2, "rmse": 3.2}]
    b = [{"r2": 0.81, "mae": 2.0, "rmse": 3.0}, {"r2": 0.82, "mae": 2.1, "rmse": 3.1}]
    s = summarize(a)
    assert s["folds"] == 2 and s["r2"]["mean"] == pytest.approx(0.81)
    assert s["r2"]["std"] == pytest.approx(np.std([0.8, 0.82], ddof=1), abs=1e-5)
    d = paired_difference(a, b)
    assert d["r2"]["mean"] == pytest.approx(0.005) and d["mae"]["mean"] == pytest.approx(-0.05)
