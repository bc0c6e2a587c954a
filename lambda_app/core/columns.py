"""A batch's model input computed column by column: the numbers
`features.feature_values` gives one applicant at a time, at a fraction of the cost (the
approval index alone is ~60 terms an applicant).

Exactness: every step but one is the scalar path's IEEE operation in the same order
(numpy's elementwise +, -, *, / and max/min round exactly as Python's floats do; inputs
are validated to at most 1e9, so integers are exact as float64), so those columns are the
scalar values bit for bit. The exception is log: numpy's vectorised log and `math.log`
disagree in the last bit for a few inputs in ten thousand. Taking `math.log` element by
element would make the logs most of the index's cost, and the model cannot tell the
difference: CatBoost reads every feature as float32, and two float64s one ulp apart round
to the same float32 unless they straddle a rounding midpoint. Training's pandas path
takes numpy's log too. tests/lambda_app/core/test_columns.py holds the paths to the same model
input (float32) and the same scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lambda_app.core.approval import INDEX, ApprovalIndex
from lambda_app.core.approval import term_input as index_value_input
from lambda_app.core.features import DERIVED
from lambda_app.core.schema import CATEGORICAL, FEATURES, SPECS

# A category column holds names (an object array), or codes: each value's position in its
# field's choices, in schema order (an integer array), which a column-wise reader produces
# without a Python string per row and the model input encodes with one `take`.
CHOICES: dict[str, np.ndarray] = {c: np.array(SPECS[c].choices, dtype=object) for c in CATEGORICAL}


def category_names(name: str, column: np.ndarray) -> np.ndarray:
    """A category column as names, whether it holds names or codes."""
    return CHOICES[name][column] if column.dtype.kind in "iu" else column


def feature_columns(applicants: Sequence[Mapping[str, Any]], index: ApprovalIndex | None) -> dict[str, np.ndarray]:
    """Every field, derived feature and (when the bundle has one) the approval index, as columns."""
    return complete_columns(
        {f: np.array([a[f] for a in applicants], dtype=object if f in CATEGORICAL else np.float64) for f in FEATURES},
        index,
    )


def complete_columns(fields: Mapping[str, np.ndarray], index: ApprovalIndex | None) -> dict[str, np.ndarray]:
    """The schema's fields as columns (float64 numbers; categories as names or codes) with every
    derived feature and the approval index added: what `feature_columns` builds from dicts."""
    columns = dict(fields)
    for d in DERIVED:
        columns[d.name] = np.asarray(d.compute(columns), dtype=np.float64)
    if index is not None:
        columns[INDEX] = index_column(index, columns)
    return columns


def index_column(index: ApprovalIndex, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """approval.index_value, for columns (see the module's note on exactness): the same
    operations in the same order, each term into one buffer, with category terms compared
    by code when the column holds codes."""
    n = len(next(iter(columns.values()))) if columns else 0
    total = np.full(n, index.intercept, dtype=np.float64)
    x = np.empty(n, dtype=np.float64)
    for term in index.terms:
        value = columns[term.feature]
        if term.transform == "is":
            if value.dtype.kind in "iu":
                level = (
                    SPECS[term.feature].choices.index(term.level) if term.level in SPECS[term.feature].choices else -1
                )
                np.equal(value, level, out=x, casting="unsafe")
            else:
                x[:] = np.asarray(index_value_input(term, value), dtype=np.float64)
        else:
            np.copyto(x, value, casting="unsafe")
            if term.lower is not None:
                np.maximum(x, term.lower, out=x)
            if term.upper is not None:
                np.minimum(x, term.upper, out=x)
            if term.transform == "log":
                np.log(x, out=x)
        np.multiply(x, term.weight, out=x)
        np.add(total, x, out=total)
    return total
