"""Scoring: a loaded, verified model and the pure functions around it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from catboost import CatBoostRegressor, Pool

from lambda_app.bundle import Band, BundleError, Manifest, read_manifest
from lambda_app.features import DERIVED, categorical_indices, model_row
from lambda_app.schema import SPECS


@dataclass(frozen=True)
class Reason:
    feature: str
    label: str
    value: Any
    contribution: float  # score points; positive raised the score
    protected: bool

    @property
    def sentence(self) -> str:
        """'Total debt to income ratio of 0.62 raised the score by 3.1 points'."""
        verb = "raised" if self.contribution > 0 else "lowered"
        return (
            f"{describe(self.feature, self.label, self.value)} {verb} the score by {abs(self.contribution):.1f} points"
        )


@dataclass(frozen=True)
class Explanation:
    """baseline + sum(every contribution) == model_output: `raised` and `lowered` are the
    largest ones each way, `other` the sum of the rest."""

    baseline: float
    model_output: float
    raised: list[Reason]
    lowered: list[Reason]
    other: float


@dataclass(frozen=True)
class Scorer:
    model: CatBoostRegressor
    manifest: Manifest

    @classmethod
    def load(cls, directory: Path) -> Scorer:
        manifest = read_manifest(directory)
        model = CatBoostRegressor()
        try:
            model.load_model(str(directory / manifest.model_file))
        except Exception as e:  # CatBoost raises its own error type for any bad file
            raise BundleError(f"CatBoost cannot read {directory / manifest.model_file}: {e}") from None
        if list(model.feature_names_) != manifest.features:
            raise BundleError(f"Model features in {directory} do not match its manifest; retrain the bundle.")
        return cls(model, manifest)

    @property
    def version(self) -> str:
        return self.manifest.version

    def rows(self, applicants: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        return [model_row(a, self.manifest.features) for a in applicants]

    def score(self, applicants: Sequence[Mapping[str, Any]]) -> list[float]:
        """Risk scores, clipped to the range seen in training so that an applicant
        far outside the data cannot get a score no training applicant ever had."""
        if not applicants:
            return []
        return [self.clip(float(s)) for s in self.model.predict(self.rows(applicants))]

    def clip(self, raw: float) -> float:
        lo, hi = self.manifest.score_range
        return round(min(max(raw, lo), hi), 4)

    def band(self, score: float) -> str:
        return band_of(score, self.manifest.bands)

    def percentile(self, score: float) -> float:
        """Share of training applicants (in %) the model scored below this score."""
        return percentile_of(score, self.manifest.score_quantiles)

    def explain(self, applicants: Sequence[Mapping[str, Any]], top: int = 4) -> list[Explanation]:
        """Reason codes from the model's own SHAP values (CatBoost's exact TreeSHAP)."""
        columns = self.manifest.features
        rows = self.rows(applicants)
        pool = Pool(rows, cat_features=categorical_indices(columns), feature_names=list(columns))
        shap = self.model.get_feature_importance(data=pool, type="ShapValues")
        return [
            explanation(columns, row, [float(v) for v in values], top) for row, values in zip(rows, shap, strict=True)
        ]


_LABELS = {**{n: s.description for n, s in SPECS.items()}, **{d.name: d.label for d in DERIVED}}
_PROTECTED = {n for n, s in SPECS.items() if s.protected} | {
    d.name for d in DERIVED if any(SPECS[s].protected for s in d.sources)
}


def explanation(columns: Sequence[str], row: Sequence[Any], shap_row: Sequence[float], top: int) -> Explanation:
    *contributions, baseline = shap_row
    reasons = [
        Reason(c, _LABELS.get(c, c), v, round(x, 4), c in _PROTECTED)
        for c, v, x in zip(columns, row, contributions, strict=True)
    ]
    ranked = sorted(reasons, key=lambda r: -abs(r.contribution))
    raised = [r for r in ranked if r.contribution > 0][:top]
    lowered = [r for r in ranked if r.contribution < 0][:top]
    shown = {r.feature for r in raised + lowered}
    other = sum(x for c, x in zip(columns, contributions, strict=True) if c not in shown)
    return Explanation(round(baseline, 4), round(baseline + sum(contributions), 4), raised, lowered, round(other, 4))


def describe(feature: str, label: str, value: Any) -> str:
    spec = SPECS.get(feature)
    if spec is not None and spec.unit.startswith("0/1"):
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, str):
        return f"{label}: {value}"
    return f"{label} of {format_value(feature, value)}"


def format_value(feature: str, value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def band_of(score: float, bands: Sequence[Band]) -> str:
    """The name of the band a score falls in (bands sorted, first and last open)."""
    for band in bands[:-1]:
        if band.upper is not None and score < band.upper:
            return band.name
    return bands[-1].name if bands else "unbanded"


def percentile_of(score: float, quantiles: Sequence[float]) -> float:
    """Position of a score among the training scores, from their 101 percentiles."""
    if not quantiles:
        return float("nan")
    steps = len(quantiles) - 1
    return round(float(np.interp(score, quantiles, [100.0 * i / steps for i in range(steps + 1)])), 1)
