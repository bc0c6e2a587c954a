"""The model card and plots written next to a bundle (a small, cheap training run)."""

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lambda_app.core.bundle import read_manifest
from tests.conftest import FAST
from training import model_card
from training.dataset import read_applicants
from training.model_card import MODEL_CARD
from training.plots import FEATURE_IMPORTANCE, PREDICTED_VS_ACTUAL, RESIDUALS_BY_SCORE, SCORE_BY_GROUP
from training.train import train_bundle

PLOTS = (PREDICTED_VS_ACTUAL, RESIDUALS_BY_SCORE, FEATURE_IMPORTANCE, SCORE_BY_GROUP)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, synthetic_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("reported")
    train_bundle(read_applicants(synthetic_csv), out, replace(FAST, report=True))
    return out


def test_card_has_every_section_and_the_bundles_figures(reported: Path) -> None:
    card = (reported / MODEL_CARD).read_text()
    m = read_manifest(reported)
    for heading in (
        "## Intended use",
        "## Data",
        "## Model",
        "## Performance on unseen applicants",
        "## Risk bands",
        "## Error analysis",
        "## What drives the score",
        "## Fairness: marital status and age (ECOA)",
        "## Limitations",
        "## Reproducibility",
    ):
        assert heading in card, heading
    cv = m.metrics.cv
    assert f"{cv.r2.mean:.4f} ± {cv.r2.std:.4f}" in card
    assert m.version in card and m.data.sha256 in card and m.code_version in card
    assert "Approval index: a logistic regression" in card and "out of fold" in card
    assert "Cost of excluding Age, MaritalStatus" in card  # the comparison runs by default
    assert "demo data the project generates" in card


def test_card_reports_fairness_per_group(reported: Path) -> None:
    card = (reported / MODEL_CARD).read_text()
    for group in ("Single", "Married", "Divorced", "Widowed", "18-29", "30-39", "40-49", "50-59", "60+"):
        assert f"| {group} |" in card, group
    assert "four-fifths rule" in card and "SMD" in card


def test_plots_are_real_pngs_the_card_shows(reported: Path) -> None:
    card = (reported / MODEL_CARD).read_text()
    for name in PLOTS:
        data = (reported / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000, name
        assert f"]({name})" in card, name


def test_plots_are_reproducible(reported: Path, synthetic_csv: Path, tmp_path: Path) -> None:
    # No timestamps in the files: the same data and settings draw the same bytes.
    train_bundle(read_applicants(synthetic_csv), tmp_path, replace(FAST, report=True, compare_exclusion=False))
    for name in PLOTS:
        assert (tmp_path / name).read_bytes() == (reported / name).read_bytes(), name


def test_card_of_a_model_without_index_or_comparison_says_so(synthetic_csv: Path, tmp_path: Path) -> None:
    # Targets off both grids: no approval structure, so the index stage is skipped.
    frame = pd.read_csv(synthetic_csv)
    frame["RiskScore"] += np.random.default_rng(1).uniform(0.01, 0.3, len(frame))
    frame.to_csv(tmp_path / "noisy.csv", index=False)
    config = replace(FAST, report=True, compare_exclusion=False, exclude=("Age",))
    train_bundle(read_applicants(tmp_path / "noisy.csv"), tmp_path / "b", config)
    card = (tmp_path / "b" / MODEL_CARD).read_text()
    assert "- Approval index: skipped: 100% of targets lie on neither" in card
    assert "and the approval index." not in card and "The monotone guarantee has a price" not in card
    assert "- Fields withheld from the model: Age (the API still accepts them)." in card
    assert "The model uses MaritalStatus. This model was trained with `--no-compare-exclusion`" in card
    assert "By approval probability" not in card and "--seed 42 --cv 2 --exclude Age`" in card


def test_a_wheel_carries_the_card_template() -> None:
    package = Path(model_card.__file__).parent
    package_data = tomllib.loads((package.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    templates = sorted(p.relative_to(package) for p in (package / "templates").iterdir())
    assert templates and all(any(t.match(g) for g in package_data["training"]) for t in templates)
