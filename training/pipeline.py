"""The fitted pipeline: its settings, fitting both stages on a set of rows, and predicting.

Two stages, both fitted on the given rows only: the approval index (training/approval.py),
then CatBoost on the applicant fields, the derived ratios and the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostRegressor
from threadpoolctl import threadpool_limits

from lambda_app.core.approval import INDEX
from lambda_app.core.features import add_derived, categorical_indices, model_columns
from lambda_app.core.schema import FEATURES, TARGET
from training.approval import IndexFit, fit_index
from training.monotone import catboost_constraints


class ConfigError(ValueError):
    """Training settings that cannot work; the message says which."""


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 42
    cv: int = 5  # folds; their out-of-fold predictions are the hold-out estimate
    exclude: tuple[str, ...] = ()  # fields the model (index included) must not use
    monotone: bool = True  # the domain's monotone constraints (training/monotone.py)
    # Also cross-validate with/without the protected fields on the same folds, so every card says
    # what excluding them costs; it doubles the cross-validation time, which the budget allows.
    compare_exclusion: bool = True
    report: bool = True  # model card and plots next to the bundle
    params: dict[str, Any] = field(
        default_factory=lambda: {
            # Shallow trees: under the monotone constraints depth 3 cross-validated best
            # (depth 3/4/5/6: R2 0.823/0.821/0.820/0.820) and trains fastest.
            "iterations": 1000,
            "learning_rate": 0.15,
            "depth": 3,
            "loss_function": "RMSE",
            # Every categorical field has at most 5 levels: one-hot splits are as accurate
            # here as CatBoost's target statistics and faster to train.
            "one_hot_max_size": 5,
        }
    )

    def catboost_params(self, columns: list[str]) -> dict[str, Any]:
        params = {
            **self.params,
            "random_seed": self.seed,
            "cat_features": categorical_indices(columns),
            "thread_count": -1,
            "allow_writing_files": False,
            "verbose": False,
        }
        if self.monotone:
            params["monotone_constraints"] = catboost_constraints(columns)
        return params

    def check(self) -> None:
        unknown = sorted(set(self.exclude) - set(FEATURES))
        if unknown:
            raise ConfigError(f"cannot exclude unknown field(s) {', '.join(unknown)}; fields: {', '.join(FEATURES)}")
        if self.cv < 2:
            raise ConfigError(f"--cv needs at least 2 folds (got {self.cv})")


@dataclass(frozen=True)
class Fitted:
    model: CatBoostRegressor
    index: IndexFit


def fit(frame: pd.DataFrame, config: TrainConfig) -> Fitted:
    """Both stages on these rows only."""
    # One BLAS thread: the regression is small, and threads fighting CatBoost's (and other
    # jobs') for the cores made it far slower; it also keeps its sums in a fixed order.
    with threadpool_limits(limits=1, user_api="blas"):
        index = fit_index(frame[list(FEATURES)], frame[TARGET], config.exclude, config.monotone)
    columns = model_columns(config.exclude, approval_index=index.index is not None)
    model = CatBoostRegressor(**config.catboost_params(columns))
    inputs = add_derived(frame, columns, index.index)
    target = frame[TARGET].to_numpy(dtype=float)
    model.fit(inputs, target)
    # Under monotone constraints CatBoost's fit comes out biased (about 0.4 points too low on
    # its own training rows on the shared data); shifting the model's bias by the mean residual
    # fixes it, keeps every constraint (a constant) and keeps SHAP additive (it is the baseline).
    scale, bias = model.get_scale_and_bias()
    model.set_scale_and_bias(scale, bias + float(np.mean(target - model.predict(inputs))))
    return Fitted(model, index)


def predict(fitted: Fitted, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(fitted.model.predict(add_derived(frame, list(fitted.model.feature_names_), fitted.index.index)))


def index_of(fitted: Fitted, frame: pd.DataFrame) -> np.ndarray | None:
    if fitted.index.index is None:
        return None
    return np.asarray(add_derived(frame, [INDEX], fitted.index.index)[INDEX], dtype=float)
