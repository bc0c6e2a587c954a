"""The stability report, accumulated over a stream of decision records: counts per bin of
the score and of every field, so its memory is the same for a thousand records or a billion.

Records are buffered in chunks and each chunk is binned with numpy, a field at a time;
nothing of a record outlives its chunk.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from lambda_app.core.distributions import Bins, Reference
from lambda_app.core.schema import SPECS
from lambda_app.monitoring.psi import MIN_RECORDS, Status, psi, shares, status, worst
from lambda_app.monitoring.reference import is_flag, numeric_index

CHUNK = 8192
OTHER = "(other)"  # a category value the reference does not have (e.g. after a schema change)


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return float("nan")


@dataclass
class NumericCounter:
    """Counts of one numeric variable in its reference bins; missing or non-numeric values apart."""

    bins: Bins
    cuts: np.ndarray = field(init=False)
    counts: np.ndarray = field(init=False)
    missing: int = 0

    def __post_init__(self) -> None:
        self.cuts = np.asarray(self.bins.cuts, dtype=float)
        self.counts = np.zeros(len(self.bins.shares), dtype=np.int64)

    def add(self, values: Sequence[Any]) -> None:
        try:
            x = np.array(values, dtype=float)  # None becomes NaN
        except (TypeError, ValueError):
            x = np.array([_number(v) for v in values], dtype=float)
        known = ~np.isnan(x)
        self.missing += int(x.size - known.sum())
        self.counts += np.bincount(numeric_index(self.cuts, x[known]), minlength=self.counts.size)

    @property
    def expected(self) -> list[float]:
        return list(self.bins.shares)


@dataclass
class CategoryCounter:
    """Counts per category, one more bin for values the reference has not got, and missing
    values (None) apart."""

    bins: Bins
    flag: bool = False
    position: dict[Any, int] = field(init=False)
    counts: np.ndarray = field(init=False)
    missing: int = 0

    def __post_init__(self) -> None:
        self.position = {c: i for i, c in enumerate(self.bins.categories)}
        if self.flag:  # records hold flags as the numbers 0 and 1
            self.position.update({int(c): i for i, c in enumerate(self.bins.categories)})
        self.position[None] = len(self.bins.categories) + 1
        self.counts = np.zeros(len(self.bins.categories) + 1, dtype=np.int64)

    def add(self, values: Sequence[Any]) -> None:
        other = len(self.bins.categories)
        try:
            tally = Counter(values)  # counted in C; then one lookup per distinct value
        except TypeError:  # an unhashable value (a list or object where a category belongs)
            tally = Counter(v if v is None or isinstance(v, str | int | float) else OTHER for v in values)
        for value, count in tally.items():
            i = self.position.get(value, other)
            if i > other:
                self.missing += count
            else:
                self.counts[i] += count

    @property
    def expected(self) -> list[float]:
        return [*self.bins.shares, 0.0]


Counter_ = NumericCounter | CategoryCounter


def counter_for(name: str, bins: Bins) -> Counter_:
    if bins.kind == "numeric":
        return NumericCounter(bins)
    spec = SPECS.get(name)
    return CategoryCounter(bins, flag=spec is not None and is_flag(spec))


@dataclass
class Challenger:
    """Champion against challenger on the records that carry both."""

    score_bins: Bins
    n: int = 0
    sum_difference: float = 0.0
    sum_absolute: float = 0.0
    max_absolute: float = 0.0
    same_band: int = 0
    versions: set[str] = field(default_factory=set)
    champion: NumericCounter = field(init=False)
    challenger: NumericCounter = field(init=False)

    def __post_init__(self) -> None:
        self.champion = NumericCounter(self.score_bins)
        self.challenger = NumericCounter(self.score_bins)

    def add(self, rows: list[tuple[float, Any, Mapping[str, Any]]]) -> None:
        champion = np.array([r[0] for r in rows], dtype=float)
        challenger = np.array([_number(r[2].get("risk_score")) for r in rows], dtype=float)
        both = ~np.isnan(challenger)
        difference = challenger[both] - champion[both]
        self.n += int(both.sum())
        self.sum_difference += float(difference.sum())
        self.sum_absolute += float(np.abs(difference).sum())
        if difference.size:
            self.max_absolute = max(self.max_absolute, float(np.abs(difference).max()))
        self.same_band += sum(1 for r in rows if r[1] == r[2].get("risk_band"))
        for r in rows:
            model = r[2].get("model")
            if isinstance(model, Mapping) and isinstance(model.get("version"), str):
                self.versions.add(model["version"])
        self.champion.add(list(champion[both]))
        self.challenger.add(list(challenger[both]))

    def summary(self) -> dict[str, Any] | None:
        if self.n == 0:
            return None
        current = shares(self.challenger.counts)
        return {
            "n": self.n,
            "versions": sorted(self.versions),
            "mean_difference": round(self.sum_difference / self.n, 4),  # challenger minus champion
            "mean_absolute_difference": round(self.sum_absolute / self.n, 4),
            "max_absolute_difference": round(self.max_absolute, 4),
            "band_agreement": round(self.same_band / self.n, 4),
            "psi_vs_champion": round(psi(shares(self.champion.counts), current), 4),
            "psi_vs_reference": round(psi(self.score_bins.shares, current), 4),
        }


class Stability:
    """Feed records with `add`, read the result with `report`."""

    def __init__(self, reference: Reference, minimum: int = MIN_RECORDS, chunk: int = CHUNK) -> None:
        self.reference = reference
        self.minimum = minimum
        self.chunk = chunk
        self.n = 0
        self.skipped = 0
        self.score = NumericCounter(reference.score)
        self.fields: dict[str, Counter_] = {name: counter_for(name, b) for name, b in reference.fields.items()}
        self.bands: Counter[str] = Counter()
        self.challenger = Challenger(reference.score)
        self._names = list(self.fields)
        # Every field of an applicant in one C call (a tuple, in the order of self.fields).
        self._fields_of: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            itemgetter(*self._names) if len(self._names) > 1 else lambda a: (a[self._names[0]],)
        )
        self._rows: list[tuple[Any, ...]] = []
        self._scores: list[float] = []
        self._bands: list[Any] = []
        self._challengers: list[tuple[float, Any, Mapping[str, Any]]] = []

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        # Parsed JSON holds no reference cycles, so the cyclic collector's passes over the
        # chunk's objects find nothing to free: off while counting, then as it was before.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._add(records)
        finally:
            if collecting:
                gc.enable()

    def _add(self, records: Iterable[Mapping[str, Any]]) -> None:
        rows, scores, bands, challengers = self._rows, self._scores, self._bands, self._challengers
        fields_of, names = self._fields_of, self._names
        for record in records:
            # Exact type checks first: parsed JSON is dicts and floats, and these run per record.
            if type(record) is not dict and not isinstance(record, Mapping):
                self.skipped += 1
                continue
            applicant = record.get("applicant")
            score: Any = record.get("risk_score")
            if (type(applicant) is not dict and not isinstance(applicant, Mapping)) or type(score) not in (float, int):
                self.skipped += 1  # not a decision record (or a damaged one): counted, not judged
                continue
            try:
                rows.append(fields_of(applicant))
            except KeyError:  # a field missing: counted as missing
                rows.append(tuple(applicant.get(n) for n in names))
            scores.append(score)
            band = record.get("risk_band")
            bands.append(band)
            challenger = record.get("challenger")
            if isinstance(challenger, Mapping):
                challengers.append((score, band, challenger))
            if len(rows) >= self.chunk:
                self._flush()
        self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        self.n += len(self._rows)
        self.score.add(self._scores)
        # Columns by transposing the chunk's rows, then each field binned at once.
        for counter, column in zip(self.fields.values(), zip(*self._rows, strict=True), strict=True):
            counter.add(column)
        self.bands.update(self._bands)
        if self._challengers:
            self.challenger.add(self._challengers)
        # Emptied in place: `add` holds these very lists while it runs.
        for buffer in (self._rows, self._scores, self._bands, self._challengers):
            buffer.clear()

    def report(self) -> dict[str, Any]:
        score = self._variable(self.score)
        fields = {name: self._variable(counter) for name, counter in self.fields.items()}
        statuses: list[Status] = [score["status"], *(f["status"] for f in fields.values())]
        total = sum(self.bands.values())
        bands = {
            name: {"reference": share, "current": round(self.bands.get(name, 0) / total, 4) if total else None}
            for name, share in self.reference.bands.items()
        }
        unknown = {str(k): v for k, v in self.bands.items() if k not in self.reference.bands}
        return {
            "n": self.n,
            "minimum_n": self.minimum,
            "skipped": self.skipped,
            "status": worst(statuses),
            "score": score,
            "fields": fields,
            "bands": bands,
            "unknown_bands": unknown,
            "challenger": self.challenger.summary(),
        }

    def _variable(self, counter: Counter_) -> dict[str, Any]:
        counted = int(counter.counts.sum())
        current = shares(counter.counts)
        value = round(psi(counter.expected, current), 4) if counted else None
        out: dict[str, Any] = {
            "psi": value,
            "status": status(value, counted, self.minimum) if value is not None else "insufficient",
            "n": counted,
            "missing": counter.missing,
            "bins": bin_rows(counter.bins, counter.expected, current),
        }
        if isinstance(counter, CategoryCounter):
            out["unexpected"] = int(counter.counts[-1])
        return out


def bin_rows(bins: Bins, expected: list[float], current: np.ndarray) -> list[dict[str, Any]]:
    """Each bin with its reference and current share, for the report's tables and charts."""
    rows: list[dict[str, Any]] = []
    if bins.kind == "numeric":
        for i, (lo, hi) in enumerate(zip(bins.edges[:-1], bins.edges[1:], strict=True)):
            rows.append(
                {"lower": lo, "upper": hi, "reference": round(expected[i], 4), "current": round(float(current[i]), 4)}
            )
    else:
        for i, name in enumerate([*bins.categories, OTHER]):
            if name == OTHER and current[i] == 0:
                continue  # the spare bin, shown only when something landed in it
            rows.append({"category": name, "reference": round(expected[i], 4), "current": round(float(current[i]), 4)})
    return rows
