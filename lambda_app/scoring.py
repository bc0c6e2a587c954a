"""Scoring: a loaded, verified model and the pure functions around it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catboost import CatBoostRegressor

from lambda_app.bundle import Band, BundleError, Manifest, read_manifest
from lambda_app.features import model_row


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
        lo, hi = self.manifest.score_range
        raw = self.model.predict(self.rows(applicants))
        return [round(min(max(float(s), lo), hi), 4) for s in raw]


def band_of(score: float, bands: Sequence[Band]) -> str:
    """The name of the band a score falls in (bands sorted, first and last open)."""
    for band in bands[:-1]:
        if band.upper is not None and score < band.upper:
            return band.name
    return bands[-1].name if bands else "unbanded"
