"""Model inputs: the applicant's fields plus features derived from them.

Each derived feature is a pure arithmetic function of the applicant's fields, so the
same code runs on one applicant's scalars when serving and on whole pandas columns
when training. The one fitted feature, the approval index, is evaluated from the
parameters stored in the bundle (lambda_app.core.approval).

The API accepts 0 for incomes, balances and liabilities, so every division has its
denominator floored at one currency unit: no inf or NaN ever reaches the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lambda_app.core.approval import INDEX, ApprovalIndex, index_of_one, index_value
from lambda_app.core.schema import CATEGORICAL, FEATURES


@dataclass(frozen=True)
class Derived:
    name: str
    label: str
    sources: tuple[str, ...]  # applicant fields it is computed from: its SHAP value is shared among them
    compute: Callable[[Mapping[str, Any]], Any]
    # How its SHAP value is shared among the sources for one applicant (equally when None or all
    # zero). A count goes to the events that happened: "no bankruptcy" never raised a score.
    weights: Callable[[Mapping[str, Any]], Sequence[float]] | None = None


def _at_least(x: Any, floor: float) -> Any:
    # Plain max for one applicant's numbers (numpy on scalars costs microseconds each).
    return max(x, floor) if isinstance(x, int | float) else np.maximum(x, floor)


def _per(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator with the denominator floored at 1 (scalars or columns)."""
    return numerator / _at_least(denominator, 1.0)


def _monthly_income(a: Mapping[str, Any]) -> Any:
    return a["AnnualIncome"] / 12.0


def _monthly_debt_payments(a: Mapping[str, Any]) -> Any:
    # The original data set had this column; its total debt-to-income ratio counts it together
    # with the loan's payment, so it is recovered exactly. Never negative, whatever is submitted.
    return _at_least(a["TotalDebtToIncomeRatio"] * _monthly_income(a) - a["MonthlyLoanPayment"], 0.0)


_INCOME_DEBT = ("TotalDebtToIncomeRatio", "AnnualIncome", "MonthlyLoanPayment")

DERIVED: tuple[Derived, ...] = (
    Derived("MonthlyDebtPayments", "Other monthly debt payments", _INCOME_DEBT, _monthly_debt_payments),
    Derived(
        "DebtToIncomeRatio",
        "Other debt to income ratio",
        _INCOME_DEBT,
        lambda a: _per(_monthly_debt_payments(a), _monthly_income(a)),
    ),
    Derived(
        "NetWorth", "Net worth", ("TotalAssets", "TotalLiabilities"), lambda a: a["TotalAssets"] - a["TotalLiabilities"]
    ),
    Derived(
        "LoanToIncome",
        "Loan amount to annual income",
        ("LoanAmount", "AnnualIncome"),
        lambda a: _per(a["LoanAmount"], a["AnnualIncome"]),
    ),
    Derived(
        "PaymentToIncome",
        "Loan payment to monthly income",
        ("MonthlyLoanPayment", "AnnualIncome"),
        lambda a: _per(a["MonthlyLoanPayment"], _monthly_income(a)),
    ),
    Derived(
        "AssetsToLiabilities",
        "Assets to liabilities",
        ("TotalAssets", "TotalLiabilities"),
        lambda a: _per(a["TotalAssets"], a["TotalLiabilities"]),
    ),
    Derived(
        "LiabilitiesToIncome",
        "Liabilities to annual income",
        ("TotalLiabilities", "AnnualIncome"),
        lambda a: _per(a["TotalLiabilities"], a["AnnualIncome"]),
    ),
    Derived(
        "NetWorthToIncome",
        "Net worth to annual income",
        ("TotalAssets", "TotalLiabilities", "AnnualIncome"),
        lambda a: _per(a["TotalAssets"] - a["TotalLiabilities"], a["AnnualIncome"]),
    ),
    Derived(
        "DerogatoryCount",
        "Bankruptcies and previous defaults",
        ("BankruptcyHistory", "PreviousLoanDefaults"),
        lambda a: a["BankruptcyHistory"] + a["PreviousLoanDefaults"],
        weights=lambda a: (a["BankruptcyHistory"], a["PreviousLoanDefaults"]),
    ),
)

DERIVED_BY_NAME: dict[str, Derived] = {d.name: d for d in DERIVED}


def derived_columns(exclude: Iterable[str] = ()) -> list[str]:
    """Derived features left when `exclude` fields are dropped: one goes with any of its sources."""
    dropped = set(exclude)
    return [d.name for d in DERIVED if not dropped.intersection(d.sources)]


def model_columns(exclude: Iterable[str] = (), approval_index: bool = False) -> list[str]:
    """Model feature order: schema fields, then derived ones, then the approval index."""
    dropped = set(exclude)
    raw = [f for f in FEATURES if f not in dropped]
    return raw + derived_columns(dropped) + ([INDEX] if approval_index else [])


def categorical_indices(columns: Sequence[str]) -> list[int]:
    return [i for i, c in enumerate(columns) if c in CATEGORICAL]


def feature_values(applicant: Mapping[str, Any], index: ApprovalIndex | None = None) -> dict[str, Any]:
    """One applicant's fields, every derived feature and (when the bundle has one) the approval index."""
    values = dict(applicant)
    for d in DERIVED:
        values[d.name] = d.compute(applicant)
    if index is not None:
        values[INDEX] = index_of_one(index, values)
    return values


def model_row(applicant: Mapping[str, Any], columns: Sequence[str], index: ApprovalIndex | None = None) -> list[Any]:
    """One applicant as the model's input row, in the model's column order."""
    values = feature_values(applicant, index)
    return [values[c] for c in columns]


def with_derived(frame: Any) -> Any:
    """A pandas frame of applicants with every derived feature added."""
    out = frame.copy()
    for d in DERIVED:
        out[d.name] = d.compute(frame)
    return out


def add_derived(frame: Any, columns: Sequence[str], index: ApprovalIndex | None = None) -> Any:
    """A pandas frame of applicants with the model's columns, in order."""
    out = with_derived(frame)
    if index is not None:
        out[INDEX] = index_value(index, out)
    return out[list(columns)]
