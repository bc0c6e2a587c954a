"""Where the domain fixes the direction of risk, the model is constrained to follow it.

More past defaults or a bankruptcy never lowers the risk score; a higher credit score
never raises it. The guarantee must hold through every path a field takes into the
model: its own column, derived features computed from it and the approval index.
"""

from __future__ import annotations

from collections.abc import Sequence

from lambda_app.core.approval import INDEX
from lambda_app.core.features import DERIVED_BY_NAME

# +1: risk never falls as the field rises; -1: risk never rises.
RISK_DIRECTION: dict[str, int] = {"PreviousLoanDefaults": 1, "BankruptcyHistory": 1, "CreditScore": -1}

# Derived features computed from a constrained field, and their direction: each must be
# monotone in those fields (tests check it) or the guarantee would leak through them.
DERIVED_DIRECTION: dict[str, int] = {"DerogatoryCount": 1}


def column_direction(column: str) -> int:
    """The risk direction a model column is constrained to; 0 for none."""
    if column == INDEX:
        return -1  # a higher index means a more approval-like applicant, hence lower risk
    if column in RISK_DIRECTION:
        return RISK_DIRECTION[column]
    derived = DERIVED_BY_NAME.get(column)
    if derived is not None and set(derived.sources) & set(RISK_DIRECTION):
        if column not in DERIVED_DIRECTION:
            raise ValueError(f"{column} is computed from a constrained field; declare its direction")
        return DERIVED_DIRECTION[column]
    return 0


def catboost_constraints(columns: Sequence[str]) -> dict[str, int]:
    return {c: d for c in columns if (d := column_direction(c)) != 0}


def index_weight_sign(column: str) -> int:
    """Sign an index term on this column must have so that, through the index (whose risk
    direction is -1), the column still moves risk its own way: +1 weight >= 0, -1 <= 0."""
    return -column_direction(column) if column != INDEX else 0
