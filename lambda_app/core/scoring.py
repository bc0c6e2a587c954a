"""The scorer: a loaded, verified model bundle that scores, bands and explains applicants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from catboost import CatBoostRegressor, FeaturesData, Pool

from lambda_app.core.approval import INDEX
from lambda_app.core.attribution import field_contributions
from lambda_app.core.bands import band_cuts, band_in, percentile_of
from lambda_app.core.bundle import BundleError, Manifest, read_manifest
from lambda_app.core.columns import CHOICES, complete_columns, feature_columns
from lambda_app.core.explanation import Explanation, explanation
from lambda_app.core.features import categorical_indices, feature_values, model_row
from lambda_app.core.treeshap import LeafShap, leaf_shap


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
        if INDEX in manifest.features and manifest.approval_index is None:
            raise BundleError(f"Model in {directory} uses {INDEX} but its manifest has no index parameters; retrain.")
        _drop_training_params(model)
        return cls(model, manifest)

    @property
    def version(self) -> str:
        return self.manifest.version

    def rows(self, applicants: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        return [model_row(a, self.manifest.features, self.manifest.approval_index) for a in applicants]

    def score(self, applicants: Sequence[Mapping[str, Any]]) -> list[float]:
        """Risk scores, clipped to the range seen in training so that an applicant
        far outside the data cannot get a score no training applicant ever had."""
        if not applicants:
            return []
        # One thread, for building the input too: each server worker has a core of its own.
        lo, hi = self.manifest.score_range
        predictions = np.clip(self.model.predict(self._pool(applicants), thread_count=1), lo, hi)
        return [round(p, 4) for p in predictions.tolist()]  # clip() for a whole batch at once

    def _pool(self, applicants: Sequence[Mapping[str, Any]]) -> Pool:
        """CatBoost's input, built the cheapest way for the size: one applicant as a row
        with the categorical columns named (cheaper than the bare list); from a hundred
        on, column by column into typed arrays (FeaturesData). CatBoost matches features by
        kind and by position within the kind, so both give the same predictions.

        thread_count=1: a Pool's default is a thread per core, and the second one spun on
        the other core while the first built the input, doubling its CPU time and taking it
        from the other server worker."""
        if len(applicants) < 100:
            return Pool(self.rows(applicants), cat_features=self._cat_indices, thread_count=1)
        return self._column_pool(feature_columns(applicants, self.manifest.approval_index), len(applicants))

    def score_columns(self, fields: Mapping[str, np.ndarray]) -> np.ndarray:
        """`score` for applicants already held as columns (float64 numbers; categories as object
        arrays of names or as codes, lambda_app.core.columns): the same model input, so the same
        scores as `score` on the same applicants, without building a dict for each."""
        n = len(next(iter(fields.values()))) if fields else 0
        if not n:
            return np.zeros(0, dtype=np.float64)
        values = complete_columns(fields, self.manifest.approval_index)
        lo, hi = self.manifest.score_range
        predictions = np.clip(self.model.predict(self._column_pool(values, n), thread_count=1), lo, hi)
        return rounded_array(predictions, 4)

    def _column_pool(self, values: Mapping[str, np.ndarray], n: int) -> Pool:
        names = self.manifest.features
        numbers = [c for i, c in enumerate(names) if i not in self._cat_indices]
        categories = [names[i] for i in self._cat_indices]
        text = np.empty((n, len(categories)), dtype=object)  # FeaturesData takes bytes
        for j, c in enumerate(categories):
            text[:, j] = _category_bytes(c, values[c])
        return Pool(
            FeaturesData(
                num_feature_data=_float32_matrix([values[c] for c in numbers], n),
                cat_feature_data=text if categories else None,
                num_feature_names=numbers,
                cat_feature_names=categories or None,
            ),
            thread_count=1,
        )

    @cached_property
    def _cat_indices(self) -> list[int]:
        return categorical_indices(self.manifest.features)

    def band(self, score: float) -> str:
        return band_in(score, *self._band_cuts)

    def bands(self, scores: np.ndarray) -> list[str]:
        """`band` of each score."""
        codes, names = self.band_codes(scores)
        return list(np.array(names, dtype=object)[codes])

    def band_codes(self, scores: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """`band` of each score as a position in the list of band names (that list second), in
        one search (bands are sorted by their upper edge): no string per score."""
        cuts, last = self._band_cuts
        names = [name for _, name in cuts] + [last]
        uppers = np.array([upper for upper, _ in cuts], dtype=np.float64)
        if np.any(np.diff(uppers) < 0):
            return np.array([names.index(self.band(s)) for s in np.asarray(scores).tolist()], dtype=np.intp), names
        return np.searchsorted(uppers, scores, side="right"), names

    @cached_property
    def _band_cuts(self) -> tuple[list[tuple[float, str]], str]:
        return band_cuts(self.manifest.bands)

    def percentile(self, score: float) -> float:
        """Share of training applicants (in %) scored below this score by a model that had
        not seen them (out-of-fold scores: the distribution new applicants get)."""
        return percentile_of(score, *self._percentile_axes)

    def percentiles(self, scores: np.ndarray) -> np.ndarray:
        """`percentile` of each score: one interpolation, each rounded as `percentile` rounds it."""
        if not len(self._percentile_axes[0]):
            return np.full(len(scores), np.nan)
        return rounded_array(np.interp(scores, *self._percentile_axes), 1)

    @cached_property
    def _percentile_axes(self) -> tuple[Any, Any]:
        # As arrays once: np.interp converting the two 101-item lists made up most of a call.
        quantiles = self.manifest.score_quantiles
        steps = max(len(quantiles) - 1, 1)
        return np.asarray(quantiles, dtype=float), np.array([100.0 * i / steps for i in range(len(quantiles))])

    def explain(self, applicants: Sequence[Mapping[str, Any]], top: int = 4) -> list[Explanation]:
        """Reason codes from the model's own SHAP values (CatBoost's TreeSHAP, each applicant
        as if asked alone: lambda_app.core.treeshap), attributed to the applicant's fields
        (lambda_app.core.attribution)."""
        return [
            explanation(applicant, by_field, baseline, top)
            for applicant, (by_field, baseline) in zip(applicants, self.contributions(applicants), strict=True)
        ]

    def contributions(self, applicants: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, float], float]]:
        """Each applicant's SHAP contribution per input field, and the model's baseline: what
        `explanation` turns into reasons, whatever number of them a caller asks for. Each
        applicant's values are those it gets alone, however many are explained together."""
        if not applicants:
            return []
        columns = self.manifest.features
        index = self.manifest.approval_index
        values = [feature_values(a, index) for a in applicants]
        rows = [[v[c] for c in columns] for v in values]
        shap = self._shap_values(rows)
        return [
            (field_contributions(columns, [float(x) for x in contributions], v, index), float(baseline))
            for v, (*contributions, baseline) in zip(values, shap.tolist(), strict=True)
        ]

    def _shap_values(self, rows: list[list[Any]]) -> np.ndarray:
        table = self.leaf_shap
        if table is None:  # a model the table cannot hold: CatBoost itself, one applicant a call
            return np.vstack(
                [
                    self.model.get_feature_importance(data=self._named_pool([r]), type="ShapValues", thread_count=1)
                    for r in rows
                ]
            )
        return table.explain(self.model.calc_leaf_indexes(self._named_pool(rows), thread_count=1))

    def _named_pool(self, rows: list[list[Any]]) -> Pool:
        return Pool(rows, cat_features=self._cat_indices, feature_names=list(self.manifest.features), thread_count=1)

    def prepare_explanations(self) -> None:
        """Build what explanations need now rather than on the first one."""
        _ = self.leaf_shap

    @cached_property
    def leaf_shap(self) -> LeafShap | None:
        """Each leaf's SHAP values (lambda_app.core.treeshap), built on the first explanation;
        None for a model they cannot describe, which CatBoost then explains row by row."""
        try:
            return leaf_shap(self.model)
        except Exception:  # any model the table cannot describe or CatBoost cannot export: explained as before
            return None


def rounded(values: np.ndarray, digits: int) -> list[float]:
    """[round(v, digits) for v in values], a whole array at a time. Python rounds the exact
    decimal value of v; numpy's v * 10**digits is itself rounded, which can move a value that
    is within an ulp of a half onto the other side. Those few are rounded by Python; for the
    rest rint(v * 10**digits) is Python's choice, and dividing that whole number by 10**digits
    is the nearest double to the decimal, as round() returns."""
    result: list[float] = rounded_array(values, digits).tolist()
    return result


def rounded_array(values: np.ndarray, digits: int) -> np.ndarray:
    """`rounded`, as an array."""
    scale = 10.0**digits
    scaled = np.asarray(values, dtype=np.float64) * scale
    out = np.rint(scaled) / scale
    near_half = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    for i in np.flatnonzero(near_half | ~np.isfinite(scaled)).tolist():
        out[i] = round(float(values[i]), digits)
    return out


def _float32_matrix(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """The columns side by side as float32, as CatBoost reads every number: converted once,
    straight into place (no float64 matrix in between). Column-major: each column is written
    in one run, and CatBoost, which keeps features column by column, takes this layout several
    times faster than rows."""
    out = np.empty((n, len(columns)), dtype=np.float32, order="F")
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _category_bytes(name: str, column: np.ndarray) -> np.ndarray | list[bytes]:
    """A category column as the bytes CatBoost reads, without pandas: the serving entry points
    load CatBoost without it (lambda_app.core.catboost_lean)."""
    if column.dtype.kind in "iu":
        encoded: np.ndarray = _choice_bytes(name)[column]
        return encoded
    # Each distinct name encoded once (a column holds a handful).
    names = {v: _as_bytes(v) for v in set(column.tolist())}
    return [names[v] for v in column.tolist()]


@cache
def _choice_bytes(name: str) -> np.ndarray:
    return np.array([_as_bytes(v) for v in CHOICES[name].tolist()], dtype=object)


@lru_cache(maxsize=64)
def _as_bytes(category: Any) -> bytes:
    # The same few category names a thousand times over: encode each once.
    return str(category).encode()


def _drop_training_params(model: CatBoostRegressor) -> None:
    """CatBoost re-parses the training parameters kept in the model's metadata (a JSON
    document) on every predict call, most of the cost of scoring one applicant.
    Prediction does not need them (they are in the manifest), so the served copy drops them."""
    metadata = model.get_metadata()
    if "params" in metadata:
        del metadata["params"]
