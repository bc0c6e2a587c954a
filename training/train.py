"""Fitting, evaluating and writing a model bundle."""

from __future__ import annotations

import platform
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import catboost
import numpy as np
import pandas as pd
from catboost import CatBoostRegressor

from lambda_app.bundle import MODEL_FILE, Band, Manifest, file_sha256, schema_sha256, write_manifest
from lambda_app.features import add_derived, categorical_indices, model_columns
from lambda_app.schema import FIELDS, TARGET, Applicant
from training.dataset import Dataset
from training.metrics import regression_metrics

BAND_NAMES = ("low", "medium", "high", "very high")
BAND_QUANTILES = (0.50, 0.80, 0.95)  # share of training applicants below each cut


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 42
    holdout: float = 0.2
    exclude: tuple[str, ...] = ()
    params: dict[str, Any] = field(
        default_factory=lambda: {
            "iterations": 1500,
            "learning_rate": 0.05,
            "depth": 6,
            "loss_function": "RMSE",
        }
    )

    def catboost_params(self, columns: list[str]) -> dict[str, Any]:
        return {
            **self.params,
            "random_seed": self.seed,
            "cat_features": categorical_indices(columns),
            "thread_count": -1,
            "allow_writing_files": False,
            "verbose": False,
        }


def fit(frame: pd.DataFrame, config: TrainConfig) -> CatBoostRegressor:
    columns = model_columns(config.exclude)
    model = CatBoostRegressor(**config.catboost_params(columns))
    model.fit(add_derived(frame, columns), frame[TARGET].to_numpy())
    return model


def predict(model: CatBoostRegressor, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(add_derived(frame, list(model.feature_names_))))


def split(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    mask = rng.random(len(frame)) < share
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def bands_from(scores: np.ndarray) -> list[Band]:
    cuts = [round(float(np.quantile(scores, q)), 2) for q in BAND_QUANTILES]
    edges: list[float | None] = [None, *cuts, None]
    return [Band(name=n, lower=lo, upper=hi) for n, lo, hi in zip(BAND_NAMES, edges[:-1], edges[1:], strict=True)]


def typical_applicant(frame: pd.DataFrame) -> dict[str, Any]:
    """The median applicant (most common category): the UI's default form values."""
    typical: dict[str, Any] = {}
    for spec in FIELDS:
        column = frame[spec.name]
        if spec.kind == "category":
            typical[spec.name] = str(column.mode().iloc[0])
        elif spec.kind == "int":
            typical[spec.name] = round(float(column.median()))
        else:
            typical[spec.name] = round(float(column.median()), 4)
    return Applicant.model_validate(typical).model_dump()


def code_version() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "lambda_app", "training"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train_bundle(data: Dataset, out: Path, config: TrainConfig = TrainConfig()) -> Manifest:
    """Hold-out metrics come from a model fitted without the hold-out rows; the bundle's
    model is then refitted on every row with the same settings."""
    train_part, holdout_part = split(data.frame, config.holdout, config.seed)
    probe = fit(train_part, config)
    holdout_metrics = regression_metrics(holdout_part[TARGET], predict(probe, holdout_part))

    model = fit(data.frame, config)
    fitted = predict(model, data.frame)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    with tempfile.NamedTemporaryFile(dir=out, suffix=".cbm", delete=False) as tmp:
        model.save_model(tmp.name)
    Path(tmp.name).replace(model_path)
    sha = file_sha256(model_path)
    now = datetime.now(UTC)
    manifest = Manifest(
        version=f"{now:%Y%m%d}-{sha[:10]}",
        created_at=now.isoformat(timespec="seconds"),
        target=TARGET,
        model_sha256=sha,
        schema_sha256=schema_sha256(),
        features=list(model.feature_names_),
        categorical_features=[c for i, c in enumerate(model.feature_names_) if i in model.get_cat_feature_indices()],
        excluded_features=list(config.exclude),
        data=data.info,
        metrics={
            "holdout": holdout_metrics,
            "holdout_share": config.holdout,
            "train_fit": regression_metrics(data.frame[TARGET], fitted),
        },
        params={**config.params, "seed": config.seed},
        bands=bands_from(fitted),
        score_range=(float(data.frame[TARGET].min()), float(data.frame[TARGET].max())),
        score_quantiles=[round(float(q), 3) for q in np.quantile(fitted, np.linspace(0, 1, 101))],
        typical_applicant=typical_applicant(data.frame),
        library_versions={
            "catboost": catboost.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
        code_version=code_version(),
    )
    write_manifest(out, manifest)
    return manifest
