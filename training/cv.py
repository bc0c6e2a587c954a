"""K-fold cross-validation whose out-of-fold predictions double as the hold-out estimate.

Every row is predicted once, by a model (approval index included) fitted on the other
folds only, so the out-of-fold scores describe applicants the model has never seen:
they give the hold-out metrics, the error analysis, the fairness figures and the risk
bands, without a separate hold-out fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.metrics import regression_metrics


def folds(rows: int, k: int, seed: int) -> list[np.ndarray]:
    """Validation row positions of each of k folds: a seeded shuffle cut into k parts."""
    if not 2 <= k <= rows:
        raise ValueError(f"cross-validation needs 2 to {rows} folds (got {k})")
    order = np.random.default_rng(seed).permutation(rows)
    return [np.sort(part) for part in np.array_split(order, k)]


@dataclass(frozen=True)
class FoldPrediction:
    scores: np.ndarray
    index: np.ndarray | None  # the approval index of the validation rows, when fitted


@dataclass(frozen=True)
class CVResult:
    predictions: np.ndarray  # out-of-fold score of every row
    approval_index: np.ndarray | None  # out-of-fold approval index of every row (None if any fold had none)
    fold: np.ndarray  # the fold each row was predicted in
    fold_metrics: list[dict[str, float]]

    def summary(self) -> dict[str, Any]:
        return summarize(self.fold_metrics)


# Fit on the training part, predict the validation part: (train, validation) -> prediction.
FitPredict = Callable[[pd.DataFrame, pd.DataFrame], FoldPrediction]


def cross_validate(frame: pd.DataFrame, target: str, k: int, seed: int, fit_predict: FitPredict) -> CVResult:
    parts = folds(len(frame), k, seed)
    predictions = np.full(len(frame), np.nan)
    index = np.full(len(frame), np.nan)
    has_index = True
    fold_of = np.zeros(len(frame), dtype=int)
    metrics = []
    for i, validation in enumerate(parts):
        train = np.setdiff1d(np.arange(len(frame)), validation)
        prediction = fit_predict(
            frame.iloc[train].reset_index(drop=True), frame.iloc[validation].reset_index(drop=True)
        )
        predictions[validation] = prediction.scores
        if prediction.index is None:
            has_index = False
        else:
            index[validation] = prediction.index
        fold_of[validation] = i
        metrics.append(regression_metrics(frame[target].to_numpy()[validation], prediction.scores))
    return CVResult(predictions, index if has_index else None, fold_of, metrics)


def summarize(fold_metrics: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of each metric across folds."""
    out: dict[str, Any] = {"folds": len(fold_metrics)}
    for name in ("r2", "mae", "rmse"):
        values = np.array([m[name] for m in fold_metrics], dtype=float)
        out[name] = {
            "mean": round(float(values.mean()), 5),
            "std": round(float(values.std(ddof=1)), 5) if values.size > 1 else 0.0,
            "per_fold": [round(float(v), 5) for v in values],
        }
    return out


def paired_difference(a: Sequence[dict[str, float]], b: Sequence[dict[str, float]]) -> dict[str, Any]:
    """b minus a, fold by fold (same folds): mean and spread of the differences."""
    out: dict[str, Any] = {}
    for name in ("r2", "mae", "rmse"):
        d = np.array([y[name] - x[name] for x, y in zip(a, b, strict=True)], dtype=float)
        out[name] = {"mean": round(float(d.mean()), 5), "std": round(float(d.std(ddof=1)), 5) if d.size > 1 else 0.0}
    return out
