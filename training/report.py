"""The bundle's human-readable report: model card and plots, from out-of-fold results."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from lambda_app.core.bands import band_of
from lambda_app.core.bundle import Manifest
from lambda_app.core.schema import SPECS, TARGET
from training import plots
from training.approval import approval_labels
from training.cv import CVResult
from training.fairness import AGE_BANDS, age_bands, group_figures
from training.importance import field_importance
from training.model_card import MODEL_CARD, CardFacts, render
from training.pipeline import Fitted
from training.residuals import analyse, score_edges


def write_report(
    out: Path, manifest: Manifest, frame: pd.DataFrame, result: CVResult, fitted: Fitted, seconds_so_far: float
) -> Path:
    start = time.perf_counter()
    y = frame[TARGET].to_numpy(dtype=float)
    scores = result.predictions
    labels = approval_labels(y) if result.approval_index is not None else None
    errors = analyse(frame, y, scores, result.approval_index, labels)
    top = manifest.bands[-1].lower if manifest.bands and manifest.bands[-1].lower is not None else float("inf")
    marital_order = SPECS["MaritalStatus"].choices
    age_order = [name for _, name in AGE_BANDS]
    ages = age_bands(frame["Age"])
    fairness = {
        "Marital status": group_figures("MaritalStatus", frame["MaritalStatus"], scores, y, top, marital_order),
        "Age band": group_figures("Age", ages, scores, y, top, age_order),
    }
    importance = field_importance(fitted, frame, seed=int(manifest.params.get("seed", 0)))
    files = {
        "predicted_vs_actual": plots.predicted_vs_actual(
            y, scores, manifest.metrics.holdout, out / plots.PREDICTED_VS_ACTUAL
        ).name,
        "residuals_by_score": plots.residuals_by_score(
            y,
            scores,
            score_edges(y),
            [b.lower for b in manifest.bands if b.lower is not None],
            out / plots.RESIDUALS_BY_SCORE,
        ).name,
        "feature_importance": plots.feature_importance(importance, out / plots.FEATURE_IMPORTANCE).name,
        "score_by_group": plots.score_by_group(
            {"marital status": (frame["MaritalStatus"], marital_order), "age band": (ages, age_order)},
            scores,
            top,
            out / plots.SCORE_BY_GROUP,
        ).name,
    }
    bands = np.array([band_of(float(s), manifest.bands) for s in scores], dtype=object)
    facts = CardFacts(
        manifest=manifest,
        errors=errors,
        fairness=fairness,
        importance=importance,
        band_shares={b.name: float(np.mean(bands == b.name)) for b in manifest.bands},
        target_summary={"min": float(y.min()), "max": float(y.max()), "mean": float(y.mean()), "std": float(y.std())},
        seconds=seconds_so_far + time.perf_counter() - start,
        plots=files,
    )
    path = out / MODEL_CARD
    path.write_text(render(facts))
    return path
