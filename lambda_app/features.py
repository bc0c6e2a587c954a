"""Model inputs: the applicant's fields plus features derived from them.

Each derived feature is a pure arithmetic function of the applicant's columns, so the
same code runs on one applicant's scalars when serving and on whole pandas columns
when training; there is no fitted state to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambda_app.schema import CATEGORICAL, FEATURES


@dataclass(frozen=True)
class Derived:
    name: str
    label: str
    sources: tuple[str, ...]
    compute: Callable[[Mapping[str, Any]], Any]


DERIVED: tuple[Derived, ...] = ()


def model_columns(exclude: Iterable[str] = ()) -> list[str]:
    """Model feature order: schema fields, then derived ones; a derived feature goes
    when any field it is computed from is excluded."""
    dropped = set(exclude)
    raw = [f for f in FEATURES if f not in dropped]
    return raw + [d.name for d in DERIVED if not dropped.intersection(d.sources)]


def categorical_indices(columns: Sequence[str]) -> list[int]:
    return [i for i, c in enumerate(columns) if c in CATEGORICAL]


_BY_NAME = {d.name: d for d in DERIVED}


def model_row(applicant: Mapping[str, Any], columns: Sequence[str]) -> list[Any]:
    """One applicant as the model's input row, in the model's column order."""
    return [_BY_NAME[c].compute(applicant) if c in _BY_NAME else applicant[c] for c in columns]


def add_derived(frame: Any, columns: Sequence[str]) -> Any:
    """A pandas frame of applicants with the model's columns, in order."""
    out = frame.copy()
    for c in columns:
        if c in _BY_NAME:
            out[c] = _BY_NAME[c].compute(frame)
    return out[list(columns)]
