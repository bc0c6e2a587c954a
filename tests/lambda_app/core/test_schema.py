import pytest
from pydantic import ValidationError

from lambda_app.core.schema import CATEGORICAL, FEATURES, FIELDS, PROTECTED, SPECS, Applicant


def test_schema_has_the_28_documented_inputs() -> None:
    assert len(FEATURES) == 28
    assert "RiskScore" not in FEATURES
    assert set(CATEGORICAL) == {
        "EmploymentStatus",
        "EducationLevel",
        "MaritalStatus",
        "HomeOwnershipStatus",
        "LoanPurpose",
    }
    assert set(PROTECTED) == {"Age", "MaritalStatus"}


def test_specs_carry_ranges_and_choices() -> None:
    assert SPECS["CreditScore"].minimum == 300 and SPECS["CreditScore"].maximum == 850
    assert SPECS["LoanPurpose"].choices == ("Home", "Debt Consolidation", "Education", "Auto", "Other")
    assert all(f.description for f in FIELDS)


def test_example_is_valid(applicant: dict[str, object]) -> None:
    assert Applicant.model_validate(applicant).Age == 45


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Age", 12),
        ("Age", "45"),
        ("Age", 45.5),
        ("CreditScore", 900),
        ("EmploymentStatus", "Retired"),
        ("InterestRate", float("nan")),
        ("TotalDebtToIncomeRatio", float("inf")),
        ("BankruptcyHistory", 2),
    ],
)
def test_bad_values_are_rejected_naming_the_field(applicant: dict[str, object], field: str, value: object) -> None:
    applicant[field] = value
    with pytest.raises(ValidationError) as e:
        Applicant.model_validate(applicant)
    assert e.value.errors()[0]["loc"] == (field,)


def test_missing_and_extra_fields_are_rejected(applicant: dict[str, object]) -> None:
    del applicant["Age"]
    applicant["Nickname"] = "x"
    with pytest.raises(ValidationError) as e:
        Applicant.model_validate(applicant)
    assert {err["loc"][0] for err in e.value.errors()} == {"Age", "Nickname"}
