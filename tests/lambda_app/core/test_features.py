import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lambda_app.core.approval import INDEX, ApprovalIndex, Term
from lambda_app.core.features import DERIVED, add_derived, feature_values, model_columns, model_row
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES
from training.synth import generate

MONEY = ("AnnualIncome", "SavingsAccountBalance", "CheckingAccountBalance", "TotalAssets", "TotalLiabilities")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in frame.to_dict("records")]


def test_scalar_and_column_computations_agree() -> None:
    frame = generate(50, seed=5)[list(FEATURES)]
    columns = model_columns()
    whole = add_derived(frame, columns)
    for i, record in enumerate(_records(frame)):
        assert model_row(record, columns) == pytest.approx(whole.iloc[i].tolist())


def test_zero_amounts_give_finite_features() -> None:
    # The schema accepts 0 for every amount: no derived feature may become inf or NaN.
    broke = {**EXAMPLE_APPLICANT, **dict.fromkeys(MONEY, 0), "MonthlyLoanPayment": 0.0, "TotalDebtToIncomeRatio": 0.0}
    values = feature_values(broke)
    assert all(math.isfinite(float(values[d.name])) for d in DERIVED)
    frame = pd.DataFrame([broke, EXAMPLE_APPLICANT])
    derived = add_derived(frame, [d.name for d in DERIVED])
    assert np.isfinite(derived.to_numpy(dtype=float)).all()


def test_other_debt_payments_are_recovered_and_never_negative() -> None:
    a = {**EXAMPLE_APPLICANT, "AnnualIncome": 60000, "TotalDebtToIncomeRatio": 0.3, "MonthlyLoanPayment": 1000.0}
    assert feature_values(a)["MonthlyDebtPayments"] == pytest.approx(0.3 * 5000 - 1000)
    assert feature_values({**a, "TotalDebtToIncomeRatio": 0.01})["MonthlyDebtPayments"] == 0


def test_excluding_a_field_drops_what_is_derived_from_it() -> None:
    columns = model_columns(["AnnualIncome"])
    assert "AnnualIncome" not in columns
    assert not [d for d in DERIVED if d.name in columns and "AnnualIncome" in d.sources]
    assert "NetWorth" in columns and INDEX not in columns
    assert model_columns(approval_index=True)[-1] == INDEX


def test_the_index_is_computed_from_its_stored_terms() -> None:
    index = ApprovalIndex(
        intercept=1.0,
        terms=[
            Term(feature="CreditScore", transform="linear", weight=0.01, lower=300, upper=800),
            Term(feature="LoanToIncome", transform="log", weight=-2.0, lower=0.01, upper=5.0),
            Term(feature="EmploymentStatus", transform="is", weight=-1.5, level="Unemployed"),
        ],
    )
    a = dict(EXAMPLE_APPLICANT)
    expected = 1.0 + 0.01 * 580 - 2.0 * math.log(22000 / 48000) - 0.0
    assert feature_values(a, index)[INDEX] == pytest.approx(expected)
    assert model_row(a, [*FEATURES, INDEX], index)[-1] == pytest.approx(expected)
    frame = pd.DataFrame([a, {**a, "EmploymentStatus": "Unemployed"}])
    column = add_derived(frame, [INDEX], index)[INDEX]
    assert column.tolist() == pytest.approx([expected, expected - 1.5])
