"""The column-wise batch path (lambda_app.core.columns) against the one-applicant path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from lambda_app.core.approval import INDEX
from lambda_app.core.columns import CHOICES, feature_columns
from lambda_app.core.features import feature_values
from lambda_app.core.schema import CATEGORICAL, FEATURES, SPECS
from lambda_app.core.scoring import Scorer
from training import synth


@pytest.fixture(scope="module")
def people() -> list[dict[str, Any]]:
    frame = synth.generate(400, seed=3)
    rows = [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in frame.to_dict("records")]
    # and the edges: zero incomes and balances (floored denominators), the extremes of every range
    edge = dict(rows[0], AnnualIncome=0, TotalLiabilities=0, TotalAssets=0, MonthlyLoanPayment=0.0)
    top = dict(rows[1], AnnualIncome=1_000_000_000, LoanAmount=1_000_000_000, TotalDebtToIncomeRatio=100.0)
    return [edge, top, *rows]


def test_columns_are_the_model_input_of_one_applicant_at_a_time(scorer: Scorer, people: list[dict[str, Any]]) -> None:
    index = scorer.manifest.approval_index
    assert index is not None and index.terms, "the test bundle should have an approval index to check"
    columns = feature_columns(people, index)
    for i, person in enumerate(people):
        one = feature_values(person, index)
        for name in scorer.manifest.features:
            expected, got = one[name], columns[name][i]
            if isinstance(expected, str):
                assert got == expected, name
            else:
                # Exact, not approx, as CatBoost reads them (see lambda_app.core.columns on log).
                assert np.float32(got) == np.float32(expected), (name, i, got, expected)
    assert INDEX in columns


def test_a_batch_scores_as_its_applicants_do_one_by_one(scorer: Scorer, people: list[dict[str, Any]]) -> None:
    together = scorer.score(people)  # the column-wise path (100 or more)
    alone = [scorer.score([p])[0] for p in people]
    assert together == alone
    assert np.isfinite(together).all()


def test_categories_as_codes_score_as_names_do(scorer: Scorer, people: list[dict[str, Any]]) -> None:
    named = {f: np.array([p[f] for p in people], dtype=object if f in CATEGORICAL else np.float64) for f in FEATURES}
    coded = {**named, **{c: np.array([SPECS[c].choices.index(p[c]) for p in people]) for c in CATEGORICAL}}
    assert scorer.score_columns(coded).tolist() == scorer.score_columns(named).tolist() == scorer.score(people)
    # every choice's code, not only the common ones
    assert {c: set(coded[c].tolist()) for c in CATEGORICAL} == {c: set(range(len(CHOICES[c]))) for c in CATEGORICAL}
