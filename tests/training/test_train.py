import json
from pathlib import Path

import pytest

from lambda_app.bundle import MANIFEST
from training.__main__ import main
from training.dataset import read_applicants
from training.train import TrainConfig, train_bundle


def test_cli_trains_and_evaluates(synthetic_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bundle"
    assert main(["train", "--data", str(synthetic_csv), "--out", str(out)]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["metrics"]["holdout"]["r2"] > 0.7  # generated data has a strong, learnable signal
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--data", str(synthetic_csv)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["model_version"] == manifest["version"] and metrics["r2"] > 0.8


def test_cli_reports_bad_data_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.csv").write_text("Age,RiskScore\n40,50\n")
    assert main(["train", "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "b")]) == 2
    assert "missing column" in capsys.readouterr().err


@pytest.mark.slow
def test_shared_data_reaches_the_quality_floor(shared_data: Path, tmp_path: Path) -> None:
    manifest = train_bundle(read_applicants(shared_data), tmp_path, TrainConfig())
    assert manifest.metrics["holdout"]["r2"] >= 0.78
