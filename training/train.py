"""Fitting, evaluating and writing a model bundle.

The pipeline (training/pipeline.py) has two fitted stages, both fitted on training rows
only: the approval index (training/approval.py), then CatBoost on the applicant fields,
the derived ratios and the index. Cross-validation refits both inside every fold; its out-of-fold scores
give the hold-out metrics, the bands and the report, and one final fit on every row
gives the served model.
"""

from __future__ import annotations

import platform
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import catboost
import numpy as np
import pandas as pd
from catboost import CatBoostRegressor

from lambda_app.core import canary
from lambda_app.core.bundle import MODEL_FILE, Band, Manifest, file_sha256, schema_sha256, write_manifest
from lambda_app.core.model_metrics import CrossValidation, ExclusionComparison, Holdout, Metrics, Regression
from lambda_app.core.schema import FEATURES, FIELDS, PROTECTED, TARGET, Applicant
from lambda_app.core.scoring import Scorer
from lambda_app.monitoring.reference import build_reference
from training.approval import approval_labels, auc
from training.cv import CVResult, FoldPrediction, cross_validate, paired_difference
from training.dataset import Dataset
from training.metrics import regression_metrics
from training.monotone import catboost_constraints
from training.pipeline import TrainConfig, fit, index_of, predict

BAND_NAMES = ("low", "medium", "high", "very high")
BAND_QUANTILES = (0.50, 0.80, 0.95)  # share of applicants below each cut


def cross_validated(frame: pd.DataFrame, config: TrainConfig) -> CVResult:
    def fit_predict(train: pd.DataFrame, validation: pd.DataFrame) -> FoldPrediction:
        fitted = fit(train, config)
        return FoldPrediction(predict(fitted, validation), index_of(fitted, validation))

    return cross_validate(frame, TARGET, config.cv, config.seed, fit_predict)


def index_out_of_fold(frame: pd.DataFrame, result: CVResult) -> dict[str, Any]:
    """How well the out-of-fold index separates the rows whose approval the target shows."""
    if result.approval_index is None:
        return {}
    labels = approval_labels(frame[TARGET])
    known = labels >= 0
    return {"auc_out_of_fold": round(auc(labels[known], result.approval_index[known]), 5)}


def exclusion_comparison(frame: pd.DataFrame, config: TrainConfig, result: CVResult) -> ExclusionComparison:
    """What leaving out the protected fields costs, on the same folds: a model trained
    with exclusions is compared with the full recipe, a full one with the recipe
    without the protected fields."""
    if config.exclude:
        other = replace(config, exclude=())
        full, excluded = cross_validated(frame, other), result
        fields = list(config.exclude)
    else:
        fields = list(PROTECTED)
        other = replace(config, exclude=tuple(fields))
        full, excluded = result, cross_validated(frame, other)
    fold_cost = paired_difference(full.fold_metrics, excluded.fold_metrics)  # without minus with, fold by fold
    with_them, without = full.summary(), excluded.summary()
    out: dict[str, Any] = {"excluded": fields, "folds": with_them["folds"]}
    for name in ("r2", "mae", "rmse"):
        out[f"{name}_with"] = {k: with_them[name][k] for k in ("mean", "std")}
        out[f"{name}_without"] = {k: without[name][k] for k in ("mean", "std")}
        out[f"{name}_difference"] = fold_cost[name]
    return ExclusionComparison.model_validate(out)


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


def save_model(model: CatBoostRegressor, out: Path) -> str:
    """The model file, byte for byte the same for the same data and settings: CatBoost's
    random model id and finish time are dropped (the manifest says when and what)."""
    metadata = model.get_metadata()
    for volatile in ("model_guid", "train_finish_time"):
        if volatile in metadata:
            del metadata[volatile]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, suffix=".cbm", delete=False) as tmp:
        model.save_model(tmp.name)
    # A temporary file is owner-only; the bundle is read by other users (the images' runtime user).
    Path(tmp.name).chmod(0o644)
    Path(tmp.name).replace(out / MODEL_FILE)
    return file_sha256(out / MODEL_FILE)


def train_bundle(data: Dataset, out: Path, config: TrainConfig = TrainConfig()) -> Manifest:
    """Cross-validate, fit on every row, write model, manifest and (optionally) the report."""
    config.check()
    start = time.perf_counter()
    frame = data.frame
    result = cross_validated(frame, config)
    comparison = exclusion_comparison(frame, config, result) if config.compare_exclusion else None
    fitted = fit(frame, config)
    model = fitted.model
    sha = save_model(model, out)
    out_of_fold = result.predictions
    now = datetime.now(UTC)
    metrics = Metrics(
        cv=CrossValidation.model_validate(result.summary()),
        # Every row scored by a model that never saw it: the hold-out estimate.
        holdout=Holdout(**regression_metrics(frame[TARGET], out_of_fold), method=f"{config.cv}-fold out-of-fold"),
        train_fit=Regression(**regression_metrics(frame[TARGET], predict(fitted, frame))),
        approval_index=fitted.index.status.model_copy(update=index_out_of_fold(frame, result)),
        exclusion_comparison=comparison,
    )
    bands = bands_from(out_of_fold)
    manifest = Manifest(
        version=f"{now:%Y%m%d}-{sha[:10]}",
        created_at=now.isoformat(timespec="seconds"),
        target=TARGET,
        model_sha256=sha,
        schema_sha256=schema_sha256(),
        features=list(model.feature_names_),
        categorical_features=[c for i, c in enumerate(model.feature_names_) if i in model.get_cat_feature_indices()],
        excluded_features=list(config.exclude),
        approval_index=fitted.index.index,
        data=data.info,
        metrics=metrics,
        params={
            **config.params,
            "seed": config.seed,
            "cv_folds": config.cv,
            "monotone_constraints": catboost_constraints(list(model.feature_names_)) if config.monotone else {},
        },
        # Bands and percentiles from out-of-fold scores: the distribution new applicants
        # will get, not the tighter one of rows the model was fitted on.
        bands=bands,
        score_range=(float(frame[TARGET].min()), float(frame[TARGET].max())),
        score_quantiles=[round(float(q), 3) for q in np.quantile(out_of_fold, np.linspace(0, 1, 101))],
        typical_applicant=typical_applicant(frame),
        # What monitoring compares new applicants with: these applicants' fields, and the
        # out-of-fold scores (the distribution unseen applicants get, as for the bands).
        reference=build_reference({f: frame[f].to_numpy() for f in FEATURES}, out_of_fold, bands),
        library_versions={
            "catboost": catboost.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
        code_version=code_version(),
    )
    if config.report:
        from training.report import write_report  # matplotlib: only when a report is wanted

        write_report(out, manifest, frame, result, fitted, seconds_so_far=time.perf_counter() - start)
    write_manifest(out, manifest)
    # Answered through the serving code from the bundle as written, as a deployment will be asked.
    manifest = manifest.model_copy(update={"canary": canary.record(Scorer.load(out))})
    write_manifest(out, manifest)
    return manifest
