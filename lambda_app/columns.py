"""A batch's model input computed column by column: the same numbers as
`features.feature_values` gives one applicant at a time, bit for bit, at a fraction of
the cost (the approval index alone is ~60 terms an applicant).

Exactness: every step is the scalar path's IEEE operation in the same order (numpy's
elementwise +, -, *, / and max/min round exactly as Python's floats do; inputs are
validated to at most 1e9, so integers are exact as float64). The one function numpy may
compute differently in the last bit, log, is taken with `math.log` as the scalar path does.
tests/lambda_app/test_columns.py holds the two paths to the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambda_app.approval import INDEX, ApprovalIndex
from lambda_app.features import DERIVED
from lambda_app.schema import CATEGORICAL, FEATURES


def feature_columns(applicants: Sequence[Mapping[str, Any]], index: ApprovalIndex | None) -> dict[str, np.ndarray]:
    """Every field, derived feature and (when the bundle has one) the approval index, as columns."""
    columns: dict[str, np.ndarray] = {
        f: np.array([a[f] for a in applicants], dtype=object if f in CATEGORICAL else np.float64) for f in FEATURES
    }
    for d in DERIVED:
        columns[d.name] = np.asarray(d.compute(columns), dtype=np.float64)
    if index is not None:
        columns[INDEX] = index_column(index, columns)
    return columns


def index_column(index: ApprovalIndex, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """approval.index_value, for columns (see the module's note on exactness)."""
    total: Any = index.intercept
    for term in index.terms:
        value = columns[term.feature]
        if term.transform == "is":
            x = 1.0 * (value == term.level)
        else:
            x = value.astype(np.float64)
            if term.lower is not None:
                x = np.maximum(x, term.lower)
            if term.upper is not None:
                x = np.minimum(x, term.upper)
            if term.transform == "log":
                x = np.array([math.log(v) for v in x.tolist()], dtype=np.float64)
        total = total + term.weight * x
    return np.asarray(total, dtype=np.float64)
