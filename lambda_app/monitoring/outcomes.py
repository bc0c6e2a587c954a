"""The back-test: decision records joined with outcomes observed later, by decision id,
per model (champion and challenger) and month of decision.

A score outcome (the realised RiskScore) gives MAE, RMSE, R2 and calibration by band; a
0/1 default flag gives Gini, KS and the default rate by band. The outcomes are held in
memory (one number per decision id) and so are the matched pairs; the records stream.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Kind = Literal["score", "default"]
SCORE_COLUMN = "RiskScore"
DEFAULT_COLUMN = "default"


class OutcomesError(ValueError):
    """The outcomes file cannot be used; the message names the line and column."""


@dataclass(frozen=True)
class Outcomes:
    kind: Kind
    column: str
    values: dict[str, float]


def read_outcomes(path: Path, column: str | None = None) -> Outcomes:
    """decision_id and one outcome column: `column`, else RiskScore, else `default`."""
    if not path.is_file():
        raise OutcomesError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if "decision_id" not in header:
            raise OutcomesError(f"{path}: no decision_id column (columns: {', '.join(header) or 'none'})")
        chosen = column or next((c for c in (SCORE_COLUMN, DEFAULT_COLUMN) if c in header), None)
        if chosen is None or chosen not in header:
            wanted = column or f"{SCORE_COLUMN} or {DEFAULT_COLUMN}"
            raise OutcomesError(f"{path}: no outcome column {wanted} (columns: {', '.join(header)})")
        values: dict[str, float] = {}
        for line, row in enumerate(reader, 2):
            key, text = (row.get("decision_id") or "").strip(), (row.get(chosen) or "").strip()
            if not key:
                raise OutcomesError(f"{path}, line {line}: empty decision_id")
            try:
                value = float(text)
            except ValueError:
                raise OutcomesError(f"{path}, line {line}, column {chosen}: not a number (got {text!r})") from None
            if not math.isfinite(value):
                raise OutcomesError(f"{path}, line {line}, column {chosen}: not a finite number (got {text!r})")
            if key in values:
                raise OutcomesError(f"{path}, line {line}: decision_id {key} appears more than once")
            values[key] = value
    binary = chosen != SCORE_COLUMN and all(v in (0.0, 1.0) for v in values.values())
    if chosen == DEFAULT_COLUMN and not binary:
        raise OutcomesError(f"{path}: column {DEFAULT_COLUMN} must hold 0 or 1 on every line")
    return Outcomes("default" if binary else "score", chosen, values)


@dataclass
class Pairs:
    predicted: list[float] = field(default_factory=list)
    observed: list[float] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)

    def add(self, predicted: float, observed: float, band: str) -> None:
        self.predicted.append(predicted)
        self.observed.append(observed)
        self.bands.append(band)


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, digits)


def score_metrics(p: Pairs) -> dict[str, Any]:
    pred, obs = np.asarray(p.predicted), np.asarray(p.observed)
    error = pred - obs
    sst = float(np.sum((obs - obs.mean()) ** 2))
    return {
        "n": int(pred.size),
        "mae": _r(float(np.mean(np.abs(error)))),
        "rmse": _r(float(np.sqrt(np.mean(error**2)))),
        "r2": _r(1.0 - float(np.sum(error**2)) / sst) if sst > 0 else None,
        "bias": _r(float(error.mean())),  # predicted minus observed
        "by_band": [
            {
                "band": band,
                "n": int(m.sum()),
                "mean_predicted": _r(float(pred[m].mean())),
                "mean_observed": _r(float(obs[m].mean())),
            }
            for band, m in _band_masks(p)
        ],
    }


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Probability that a defaulter scores higher (riskier) than a non-defaulter; ties count half."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # average rank of each distinct score
    rank_sum = float(mid_rank[inverse][labels == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def ks(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Largest gap between the score distributions of defaulters and non-defaulters."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse = np.unique(scores, return_inverse=True)
    bad = np.cumsum(np.bincount(inverse, weights=labels)) / positives
    good = np.cumsum(np.bincount(inverse, weights=1 - labels)) / negatives
    return float(np.max(np.abs(bad - good)))


def default_metrics(p: Pairs) -> dict[str, Any]:
    pred, obs = np.asarray(p.predicted), np.asarray(p.observed)
    area = auc(pred, obs)
    return {
        "n": int(pred.size),
        "defaults": int(obs.sum()),
        "default_rate": _r(float(obs.mean())),
        "gini": _r(2 * area - 1) if area is not None else None,
        "ks": _r(ks(pred, obs)),
        "by_band": [
            {
                "band": band,
                "n": int(m.sum()),
                "default_rate": _r(float(obs[m].mean())),
                "mean_score": _r(float(pred[m].mean())),
            }
            for band, m in _band_masks(p)
        ],
    }


def _band_masks(p: Pairs) -> list[tuple[str, np.ndarray]]:
    """Each band's rows, bands in order of their mean score (low risk first)."""
    bands = np.asarray(p.bands, dtype=object)
    pred = np.asarray(p.predicted)
    masks = [(str(b), bands == b) for b in set(p.bands)]
    return sorted(masks, key=lambda bm: float(pred[bm[1]].mean()))


def backtest(records: Iterable[Mapping[str, Any]], outcomes: Outcomes) -> dict[str, Any]:
    groups: dict[tuple[str, str], dict[str, Pairs]] = {}
    matched: set[str] = set()
    for record in records:
        key = record.get("decision_id")
        if not isinstance(key, str) or key not in outcomes.values:
            continue
        observed = outcomes.values[key]
        matched.add(key)
        month = str(record.get("decided_at", ""))[:7] or "unknown"
        answers: list[tuple[str, Mapping[str, Any]]] = [("champion", record)]
        challenger = record.get("challenger")
        if isinstance(challenger, Mapping):
            answers.append(("challenger", challenger))
        for role, answer in answers:
            score, band = answer.get("risk_score"), answer.get("risk_band")
            if not isinstance(score, int | float) or isinstance(score, bool):
                continue
            model = answer.get("model")
            version = str(model.get("version")) if isinstance(model, Mapping) else "unknown"
            by_month = groups.setdefault((role, version), {})
            for period in (month, "all"):
                by_month.setdefault(period, Pairs()).add(float(score), observed, str(band))
    metrics = score_metrics if outcomes.kind == "score" else default_metrics
    models: list[dict[str, Any]] = []
    for (role, version), by_month in sorted(groups.items()):
        months = [{"month": m, **metrics(pairs)} for m, pairs in sorted(by_month.items()) if m != "all"]
        models.append({"role": role, "version": version, "all": metrics(by_month["all"]), "months": months})
    return {
        "report": "loan-risk.outcomes/1",
        "outcome": {"kind": outcomes.kind, "column": outcomes.column, "rows": len(outcomes.values)},
        "matched": len(matched),
        "outcomes_without_record": len(outcomes.values) - len(matched),
        "models": models,
    }
