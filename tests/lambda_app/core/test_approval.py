import math

import pytest
from pydantic import ValidationError

from lambda_app.core.approval import ApprovalIndex, Term, index_value, term_effects, term_input


def test_inputs_are_clipped_to_the_training_range() -> None:
    t = Term(feature="AnnualIncome", transform="linear", weight=1.0, lower=15000, upper=400000)
    assert term_input(t, 0) == 15000 and term_input(t, 10**9) == 400000 and term_input(t, 50000) == 50000
    log = Term(feature="AnnualIncome", transform="log", weight=1.0, lower=15000, upper=400000)
    assert term_input(log, 0) == pytest.approx(math.log(15000))  # never log(0)


def test_indicator_terms() -> None:
    t = Term(feature="LoanPurpose", transform="is", weight=2.0, level="Auto")
    assert term_input(t, "Auto") == 1.0 and term_input(t, "Home") == 0.0


@pytest.mark.parametrize(
    "term",
    [
        {"feature": "LoanPurpose", "transform": "is", "weight": 1.0},
        {"feature": "AnnualIncome", "transform": "log", "weight": 1.0, "lower": 0.0},
        {"feature": "AnnualIncome", "transform": "log", "weight": 1.0},
    ],
)
def test_malformed_terms_are_refused(term: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Term.model_validate(term)


def test_effects_are_relative_to_the_training_mean() -> None:
    index = ApprovalIndex(
        intercept=0.5,
        terms=[
            Term(feature="CreditScore", transform="linear", weight=0.1, lower=300, upper=850, mean=600),
            Term(feature="LoanPurpose", transform="is", weight=-1.0, level="Auto", mean=0.25),
        ],
    )
    values = {"CreditScore": 620, "LoanPurpose": "Auto"}
    assert term_effects(index, values) == pytest.approx([2.0, -0.75])
    assert index_value(index, values) == pytest.approx(0.5 + 62.0 - 1.0)


def test_index_parameters_round_trip_through_json() -> None:
    index = ApprovalIndex(
        intercept=-3.0,
        terms=[Term(feature="InterestRate", transform="linear", weight=-50.0, lower=0.1, upper=0.45, mean=0.24)],
        fit={"auc_in_sample": 0.99},
    )
    assert ApprovalIndex.model_validate_json(index.model_dump_json()) == index
