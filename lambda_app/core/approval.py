"""The approval index: a linear score of the applicant's fields, fitted in training and
fed to the model as one feature.

The public loan data's risk score is a base score multiplied by 0.8 for applicants the
lender approved, and approval follows a near-linear rule in the inputs, which a tree
ensemble can only approximate with many axis-aligned splits. Training fits that rule
with a logistic regression (training/approval.py) and stores its terms in the bundle's
manifest; this module evaluates it from those stored parameters with plain arithmetic,
so serving needs no fitting library and cannot drift from training.

Higher index = more like an approved applicant = lower risk (the model is constrained
to respect that direction).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

INDEX = "ApprovalIndex"


class Term(BaseModel):
    """weight * transform(clip(value of `feature`, lower, upper)); `is` terms are 1 when
    the category equals `level`. Inputs are clipped to the range seen in training, so
    the index never extrapolates a linear rule past the data it was estimated on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str  # an applicant field or a derived feature
    transform: Literal["linear", "log", "is"]
    weight: float
    level: str | None = None
    lower: float | None = None
    upper: float | None = None
    mean: float = 0.0  # mean transformed input on the rows it was fitted on: the reference for reason codes

    @model_validator(mode="after")
    def _well_formed(self) -> Term:
        if self.transform == "is" and self.level is None:
            raise ValueError(f"indicator term on {self.feature} needs a level")
        if self.transform == "log" and (self.lower is None or self.lower <= 0):
            raise ValueError(f"log term on {self.feature} needs a positive lower bound")
        return self


class ApprovalIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intercept: float
    terms: list[Term]
    fit: dict[str, Any] = {}  # how it was fitted: rows, label shares, regularisation, in-sample AUC

    @cached_property
    def _plan(self) -> tuple[tuple[str, str, str | None, float, float, float], ...]:
        # Open bounds as infinities: max(v, -inf) is v, so one expression serves every term.
        return tuple(
            (
                t.feature,
                t.transform,
                t.level,
                -math.inf if t.lower is None else t.lower,
                math.inf if t.upper is None else t.upper,
                t.weight,
            )
            for t in self.terms
        )


def term_input(term: Term, value: Any) -> Any:
    """The transformed input of one term, for a scalar or a pandas column."""
    if term.transform == "is":
        return 1.0 * (value == term.level)
    if isinstance(value, int | float):
        # One applicant: plain float arithmetic; numpy on scalars costs far more than the sum.
        v = float(value)
        if term.lower is not None:
            v = max(v, term.lower)
        if term.upper is not None:
            v = min(v, term.upper)
        return math.log(v) if term.transform == "log" else v
    x = value
    if term.lower is not None:
        x = np.maximum(x, term.lower)
    if term.upper is not None:
        x = np.minimum(x, term.upper)
    return np.log(x) if term.transform == "log" else 1.0 * x


def index_of_one(index: ApprovalIndex, values: Mapping[str, Any]) -> float:
    """index_value for one applicant, the same operations in the same order (so the same
    float), without a call and four attribute lookups per term, since this runs for every
    scored applicant. Whole numbers stay ints until multiplied by a float
    weight, which converts them exactly (inputs are validated to at most 1e9), as float()
    would have."""
    total = index.intercept
    log = math.log
    for feature, transform, level, lower, upper, weight in index._plan:
        value = values[feature]
        if transform == "is":
            x = 1.0 if value == level else 0.0
        elif transform == "log":
            x = log(min(max(value, lower), upper))
        else:
            x = min(max(value, lower), upper)
        total = total + weight * x
    return total


def index_value(index: ApprovalIndex, values: Mapping[str, Any]) -> Any:
    """The index for one applicant's feature values (scalars) or a frame's columns."""
    total: Any = index.intercept
    for term in index.terms:
        total = total + term.weight * term_input(term, values[term.feature])
    return total


def term_effects(index: ApprovalIndex, values: Mapping[str, Any]) -> list[float]:
    """Each term's push on one applicant's index, relative to the average training applicant."""
    return [float(t.weight * (term_input(t, values[t.feature]) - t.mean)) for t in index.terms]
