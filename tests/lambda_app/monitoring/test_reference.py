"""Training writes the reference monitoring compares with into the bundle's manifest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lambda_app.core.bundle import read_manifest
from lambda_app.core.schema import FEATURES


def test_the_manifest_holds_bins_for_the_score_and_every_field(bundle_dir: Path, synthetic_csv: Path) -> None:
    manifest = read_manifest(bundle_dir)
    reference = manifest.reference
    assert reference is not None
    frame = pd.read_csv(synthetic_csv)
    assert reference.n == len(frame) == manifest.data.rows
    assert list(reference.fields) == list(FEATURES)
    # Categories: the share of each choice among the training applicants.
    employment = reference.fields["EmploymentStatus"]
    assert employment.kind == "category" and employment.categories == ["Employed", "Self-Employed", "Unemployed"]
    observed = frame["EmploymentStatus"].value_counts(normalize=True)
    assert employment.shares == pytest.approx([observed.get(c, 0.0) for c in employment.categories], abs=1e-6)
    # Flags are the categories 0 and 1.
    defaults = reference.fields["PreviousLoanDefaults"]
    assert defaults.categories == ["0", "1"] and defaults.shares[1] == pytest.approx(
        frame["PreviousLoanDefaults"].mean()
    )
    # Numbers: open-ended quantile bins whose shares are the training applicants'.
    income = reference.fields["AnnualIncome"]
    assert income.edges[0] is None and income.edges[-1] is None and len(income.shares) == 10
    below_first_cut = float((frame["AnnualIncome"] < income.cuts[0]).mean())
    assert income.shares[0] == pytest.approx(below_first_cut)
    # The score: deciles of the out-of-fold scores, whose bands hold 50/30/15/5 %.
    assert reference.score.shares == pytest.approx([0.1] * 10, abs=0.01)
    assert reference.bands == pytest.approx({"low": 0.5, "medium": 0.3, "high": 0.15, "very high": 0.05}, abs=0.01)
    assert list(reference.bands) == [b.name for b in manifest.bands]
