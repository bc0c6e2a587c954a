import numpy as np
import pandas as pd
import pytest

from lambda_app.core.approval import index_value
from lambda_app.core.attribution import sources
from lambda_app.core.features import with_derived
from lambda_app.core.schema import FEATURES, TARGET
from training.approval import (
    approval_labels,
    auc,
    candidates,
    fit_index,
    label_summary,
    logistic_fit,
    skip_reason,
)
from training.synth import generate


def test_labels_are_read_from_the_two_grids() -> None:
    assert approval_labels([49.0, 41.6, 48.0, 45.3, 28.8, 84.0]).tolist() == [0, 1, -1, -1, 1, -1]
    s = label_summary([49.0, 41.6, 48.0, 45.3])
    assert (s["not_approved_rows"], s["approved_rows"], s["ambiguous_rows"], s["off_grid_rows"]) == (1, 1, 1, 1)


def test_a_continuous_target_has_no_approval_structure() -> None:
    y = np.random.default_rng(0).uniform(30, 80, 1000).round(1)
    assert "neither" in (skip_reason(label_summary(y)) or "")
    assert "smaller approval class" in (skip_reason(label_summary(np.arange(1000) % 50 + 31.0)) or "")


def test_the_demo_data_has_the_structure_and_the_index_recovers_it() -> None:
    train, test = generate(3000, seed=1), generate(2000, seed=2)
    fitted = fit_index(train[list(FEATURES)], train[TARGET])
    assert fitted.index is not None and fitted.status.status == "fitted" and fitted.status.converged
    labels = approval_labels(test[TARGET])
    known = labels >= 0
    scores = np.asarray(index_value(fitted.index, with_derived(test[known])), dtype=float)
    assert auc(labels[known], scores) > 0.85  # a rule fitted on other applicants


def test_data_without_the_structure_skips_the_stage() -> None:
    frame = generate(500, seed=3)
    noisy = frame[TARGET] + np.random.default_rng(1).uniform(0.01, 0.09, len(frame))
    fitted = fit_index(frame[list(FEATURES)], noisy)
    assert fitted.index is None and fitted.status.status == "skipped" and fitted.status.reason


def test_excluded_fields_take_no_part_in_the_index() -> None:
    frame = generate(2000, seed=4)
    excluded = ("MaritalStatus", "Age", "AnnualIncome")
    fitted = fit_index(frame[list(FEATURES)], frame[TARGET], exclude=excluded)
    assert fitted.index is not None
    used = {f for t in fitted.index.terms for f in sources(t.feature)}
    assert used and not used & set(excluded)
    assert not {c.feature for c in candidates(excluded)} & {"AnnualIncome", "LoanToIncome", "MaritalStatus"}
    nothing = fit_index(frame[list(FEATURES)], frame[TARGET], exclude=FEATURES)
    assert nothing.index is None and nothing.status.reason is not None and "exclusions" in nothing.status.reason


def test_monotone_fields_keep_their_sign_in_the_index() -> None:
    frame = generate(2000, seed=5)
    # Plant the opposite rule: approval rises with defaults and falls with credit score.
    rng = np.random.default_rng(0)
    z = 2.0 * frame["PreviousLoanDefaults"] - 0.03 * (frame["CreditScore"] - 575)
    approved = rng.random(len(frame)) < 1 / (1 + np.exp(-z))
    target = pd.Series(np.where(approved, 0.8 * 51, 49.0))
    free = fit_index(frame[list(FEATURES)], target, monotone=False).index
    bound = fit_index(frame[list(FEATURES)], target, monotone=True).index
    assert free is not None and bound is not None

    def weight(index: object, feature: str) -> float:
        return sum(t.weight for t in index.terms if t.feature == feature and t.transform == "linear")  # type: ignore[attr-defined]

    assert weight(free, "CreditScore") < 0 and weight(bound, "CreditScore") >= 0
    assert weight(bound, "PreviousLoanDefaults") <= 0 and weight(bound, "DerogatoryCount") <= 0


def test_logistic_fit_finds_a_planted_rule_and_respects_bounds() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 2)) * [1.0, 10.0] + [0.0, 50.0]
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 + 2.0 * x[:, 0] - 0.1 * (x[:, 1] - 50))))).astype(float)
    w, b, converged = logistic_fit(x, y, [0, 0], c=1e6)
    assert converged and w == pytest.approx([2.0, -0.1], rel=0.15) and b == pytest.approx(5.5, rel=0.2)
    w, _, _ = logistic_fit(x, y, [0, 1], c=1e6)
    assert w[1] == 0.0


def test_auc() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.5
