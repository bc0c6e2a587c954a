import pytest

from lambda_app.core.approval import INDEX, ApprovalIndex, Term
from lambda_app.core.attribution import field_contributions, split_index
from lambda_app.core.features import DERIVED_BY_NAME, feature_values
from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES

INDEX_PARAMS = ApprovalIndex(
    intercept=0.0,
    terms=[
        # Effects for the example applicant (CreditScore 580, InterestRate 0.236, LoanToIncome 0.458):
        Term(feature="CreditScore", transform="linear", weight=0.02, lower=300, upper=850, mean=560),  # +0.4
        Term(feature="InterestRate", transform="linear", weight=-50, lower=0.1, upper=0.5, mean=0.216),  # -1.0
        Term(
            feature="LoanToIncome", transform="linear", weight=-2, lower=0.01, upper=5, mean=22000 / 48000 - 0.25
        ),  # -0.5
    ],
)


def _values() -> dict[str, object]:
    return feature_values(EXAMPLE_APPLICANT, INDEX_PARAMS)


def test_a_ratio_is_split_equally_among_its_fields() -> None:
    out = field_contributions(["CreditScore", "LoanToIncome"], [1.0, 3.0], _values(), None)
    assert out["CreditScore"] == 1.0
    assert out["LoanAmount"] == out["AnnualIncome"] == 1.5
    assert set(out) == set(FEATURES) and sum(out.values()) == pytest.approx(4.0)


def test_a_risk_raising_index_is_blamed_on_the_terms_that_lowered_it() -> None:
    parts = split_index(INDEX_PARAMS, _values(), 3.0)
    # InterestRate pushed the index down by 1.0, LoanToIncome by 0.5; CreditScore pushed it up.
    assert parts["InterestRate"] == pytest.approx(2.0)
    assert parts["LoanAmount"] == parts["AnnualIncome"] == pytest.approx(0.5)
    assert "CreditScore" not in parts
    assert sum(parts.values()) == pytest.approx(3.0)


def test_a_risk_lowering_index_is_credited_to_the_terms_that_raised_it() -> None:
    parts = split_index(INDEX_PARAMS, _values(), -2.0)
    assert parts == {"CreditScore": pytest.approx(-2.0)}


def test_with_no_term_pushing_that_way_the_index_is_split_equally() -> None:
    flat = ApprovalIndex(intercept=0, terms=[t.model_copy(update={"mean": 580.0}) for t in INDEX_PARAMS.terms[:1]])
    assert split_index(flat, _values(), 1.0) == {"CreditScore": 1.0}
    assert split_index(INDEX_PARAMS, _values(), 0.0) == {}


def test_contributions_stay_exact_with_the_index() -> None:
    columns = [*FEATURES, *DERIVED_BY_NAME, INDEX]
    shap = [0.1 * (i % 7) - 0.3 for i in range(len(columns))]
    out = field_contributions(columns, shap, _values(), INDEX_PARAMS)
    assert sum(out.values()) == pytest.approx(sum(shap), abs=1e-12)


def test_an_index_column_without_parameters_is_an_error() -> None:
    with pytest.raises(ValueError, match="no index parameters"):
        field_contributions([INDEX], [1.0], _values(), None)


def test_a_count_of_events_is_attributed_to_the_events_that_happened() -> None:
    """'Past bankruptcy: no' must never be a reason the score went up."""
    values = {**EXAMPLE_APPLICANT, "BankruptcyHistory": 0, "PreviousLoanDefaults": 1}
    out = field_contributions(["DerogatoryCount"], [3.0], values, None)
    assert out["PreviousLoanDefaults"] == pytest.approx(3.0) and out["BankruptcyHistory"] == 0.0
    none = {**values, "PreviousLoanDefaults": 0}
    out = field_contributions(["DerogatoryCount"], [-1.0], none, None)
    assert out["PreviousLoanDefaults"] == pytest.approx(-0.5) == out["BankruptcyHistory"]
