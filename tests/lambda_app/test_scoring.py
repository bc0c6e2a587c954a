import pytest

from lambda_app.scoring import Scorer


def test_contributions_add_up_with_the_baseline_to_the_score(scorer: Scorer, applicant: dict[str, object]) -> None:
    [e] = scorer.explain([applicant])
    total = e.baseline + sum(r.contribution for r in e.raised + e.lowered) + e.other
    assert total == pytest.approx(e.model_output, abs=1e-3)
    assert scorer.clip(e.model_output) == pytest.approx(scorer.score([applicant])[0], abs=1e-3)


def test_at_most_four_reasons_each_way_largest_first(scorer: Scorer, applicant: dict[str, object]) -> None:
    risky = {**applicant, "PreviousLoanDefaults": 1, "TotalDebtToIncomeRatio": 1.5, "CreditScore": 360}
    [e] = scorer.explain([risky])
    assert 0 < len(e.raised) <= 4 and len(e.lowered) <= 4
    sizes = [abs(r.contribution) for r in e.raised]
    assert sizes == sorted(sizes, reverse=True)
    assert {"PreviousLoanDefaults", "TotalDebtToIncomeRatio"} & {r.feature for r in e.raised}
    top = e.raised[0]
    assert top.sentence.startswith(top.label) and f"raised the score by {top.contribution:.1f} points" in top.sentence


def test_protected_characteristics_are_marked_not_dropped(scorer: Scorer, applicant: dict[str, object]) -> None:
    [e] = scorer.explain([applicant], top=28)
    by_feature = {r.feature: r for r in e.raised + e.lowered}
    assert by_feature["Age"].protected and by_feature["MaritalStatus"].protected
    assert not by_feature["CreditScore"].protected
