import itertools
import math

import pytest

from lambda_app.core.approval import INDEX
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from training.synth import generate


def test_contributions_add_up_with_the_baseline_to_the_score(scorer: Scorer, applicant: dict[str, object]) -> None:
    [e] = scorer.explain([applicant])
    total = e.baseline + sum(r.contribution for r in e.raised + e.lowered) + e.other
    assert total == pytest.approx(e.model_output, abs=1e-3)
    lo, hi = scorer.manifest.score_range
    assert min(max(e.model_output, lo), hi) == pytest.approx(scorer.score([applicant])[0], abs=1e-3)


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


def test_reasons_name_application_fields_only(scorer: Scorer, applicant: dict[str, object]) -> None:
    # The demo model uses derived ratios and the approval index, yet every reason is a field.
    assert INDEX in scorer.manifest.features and "LoanToIncome" in scorer.manifest.features
    [e] = scorer.explain([applicant], top=28)
    shown = e.raised + e.lowered
    assert shown and {r.feature for r in shown} <= set(FEATURES)
    assert all(r.value == applicant[r.feature] for r in shown)


def test_an_applicant_with_nothing_scores_and_explains(scorer: Scorer, applicant: dict[str, object]) -> None:
    broke = {**applicant, "AnnualIncome": 0, "TotalAssets": 0, "TotalLiabilities": 0, "SavingsAccountBalance": 0}
    [score] = scorer.score([broke])
    [e] = scorer.explain([broke])
    lo, hi = scorer.manifest.score_range
    assert math.isfinite(score) and lo <= score <= hi
    assert e.baseline + sum(r.contribution for r in e.raised + e.lowered) + e.other == pytest.approx(e.model_output)


def _varied(applicant: dict[str, object], n: int) -> list[dict[str, object]]:
    frame = generate(n, seed=11)
    return [
        {**applicant, **{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}}
        for r in frame[list(FEATURES)].to_dict("records")
    ]


def test_defaults_and_bankruptcy_never_lower_the_score(scorer: Scorer, applicant: dict[str, object]) -> None:
    people = _varied(applicant, 200)
    for flag in ("PreviousLoanDefaults", "BankruptcyHistory"):
        without = scorer.score([{**p, flag: 0} for p in people])
        with_flag = scorer.score([{**p, flag: 1} for p in people])
        assert all(b >= a - 1e-9 for a, b in zip(without, with_flag, strict=True)), flag


def test_a_higher_credit_score_never_raises_the_score(scorer: Scorer, applicant: dict[str, object]) -> None:
    people = _varied(applicant, 60)
    grid = range(300, 851, 25)
    curves = [scorer.score([{**p, "CreditScore": c} for c in grid]) for p in people]
    assert all(b <= a + 1e-9 for curve in curves for a, b in itertools.pairwise(curve))
