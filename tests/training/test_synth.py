import numpy as np

from lambda_app.core.schema import FEATURES, TARGET, Applicant
from training.approval import label_summary, skip_reason
from training.synth import generate


def test_is_reproducible_and_schema_valid() -> None:
    a, b = generate(300, seed=3), generate(300, seed=3)
    assert a.equals(b) and not a.equals(generate(300, seed=4))
    assert list(a.columns) == [*FEATURES, TARGET]
    for record in a[list(FEATURES)].to_dict("records")[:50]:
        Applicant.model_validate({k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()})


def test_risk_depends_on_the_fields_in_a_credible_direction() -> None:
    d = generate(5000, seed=1)
    assert d[TARGET].between(28, 84).all()
    assert np.corrcoef(d["TotalDebtToIncomeRatio"], d[TARGET])[0, 1] > 0.2
    assert np.corrcoef(d["CreditScore"], d[TARGET])[0, 1] < -0.2
    assert d.loc[d.PreviousLoanDefaults == 1, TARGET].mean() > d.loc[d.PreviousLoanDefaults == 0, TARGET].mean() + 4


def test_the_target_has_the_public_data_approval_structure() -> None:
    # So that the demo trains through the same approval-index stage as the real data.
    y = generate(3000, seed=2)[TARGET]
    summary = label_summary(y)
    assert skip_reason(summary) is None and summary["off_grid_rows"] == 0
    assert 0.1 < summary["approved_rows"] / len(y) < 0.4
