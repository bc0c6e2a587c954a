from lambda_app.core.approval import INDEX
from lambda_app.core.features import DERIVED, feature_values
from lambda_app.core.schema import EXAMPLE_APPLICANT
from training.monotone import (
    DERIVED_DIRECTION,
    RISK_DIRECTION,
    catboost_constraints,
    column_direction,
    index_weight_sign,
)


def test_every_path_of_a_constrained_field_has_a_direction() -> None:
    for d in DERIVED:
        if set(d.sources) & set(RISK_DIRECTION):
            assert d.name in DERIVED_DIRECTION, d.name


def test_derived_features_move_with_their_constrained_fields_as_declared() -> None:
    for name, direction in DERIVED_DIRECTION.items():
        derived = next(d for d in DERIVED if d.name == name)
        for field in set(derived.sources) & set(RISK_DIRECTION):
            sign = direction * RISK_DIRECTION[field]  # how the derived value must move as the field rises
            low, high = (400, 700) if field == "CreditScore" else (0, 1)
            a = feature_values({**EXAMPLE_APPLICANT, field: low})[name]
            b = feature_values({**EXAMPLE_APPLICANT, field: high})[name]
            assert (b - a) * sign >= 0, (name, field)


def test_constraints_and_index_signs() -> None:
    columns = ["Age", "CreditScore", "PreviousLoanDefaults", "DerogatoryCount", INDEX]
    assert catboost_constraints(columns) == {
        "CreditScore": -1,
        "PreviousLoanDefaults": 1,
        "DerogatoryCount": 1,
        INDEX: -1,
    }
    assert column_direction("Age") == 0
    # Through the index (risk direction -1) a field must push the index the opposite way.
    assert index_weight_sign("CreditScore") == 1 and index_weight_sign("BankruptcyHistory") == -1
    assert index_weight_sign("Age") == 0
