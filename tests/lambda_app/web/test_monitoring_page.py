"""The /monitoring page: the latest stability report, or word that there is none."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app import cli
from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings
from tests.conftest import S3_BUCKET
from tests.lambda_app.monitoring.records import applicants, decision_records, write_jsonl


def client(bundle_dir: Path, scorer: Scorer, report_dir: Path | str) -> TestClient:
    return TestClient(create_app(Settings(model_uri=str(bundle_dir), monitoring_report_dir=str(report_dir)), scorer))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path, scorer: Scorer) -> Path:
    """A report of 1,000 applicants whose incomes were cut by a third."""
    people = [{**p, "AnnualIncome": round(p["AnnualIncome"] * 2 / 3)} for p in applicants(1000, seed=11)]
    records = write_jsonl(decision_records(scorer, people), tmp_path_factory.mktemp("records") / "r.jsonl")
    out = tmp_path_factory.mktemp("monitoring-report")
    assert cli.main(["drift", "--model", str(bundle_dir), "--records", str(records), "--out", str(out)]) == 0
    return out


def test_without_a_report_the_page_says_none_is_available(bundle_dir: Path, scorer: Scorer, tmp_path: Path) -> None:
    for setting in ("", tmp_path / "empty"):
        r = client(bundle_dir, scorer, setting).get("/monitoring")
        assert r.status_code == 200
        assert "No report available" in r.text and "loan-risk drift" in r.text
        assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_page_shows_the_shifted_field_its_chart_and_the_bands(
    bundle_dir: Path, scorer: Scorer, report_dir: Path
) -> None:
    c = client(bundle_dir, scorer, report_dir)
    r = c.get("/monitoring")
    assert r.status_code == 200
    report = json.loads((report_dir / "report.json").read_text())
    assert '<span id="overall" class="status status-shift">shift</span>' in r.text
    assert f"{report['fields']['AnnualIncome']['psi']:.3f}" in r.text
    assert 'aria-current="page">Monitoring</a>' in r.text
    # The PNGs beside the report are served, and nothing else is.
    assert '/monitoring/charts/field-AnnualIncome.png"' in r.text and '/monitoring/charts/score.png"' in r.text
    png = c.get("/monitoring/charts/field-AnnualIncome.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert c.get("/monitoring/charts/report.json").status_code == 404
    assert c.get("/monitoring/charts/..%2Freport.json").status_code == 404
    assert c.get("/monitoring/charts/other.png").status_code == 404
    for band in ("Low", "Medium", "High", "Very high"):
        assert f'<th scope="row">{band}</th>' in r.text


def test_a_report_without_charts_still_shows_its_bars(
    bundle_dir: Path, scorer: Scorer, report_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(report_dir / "report.json", tmp_path / "report.json")
    r = client(bundle_dir, scorer, tmp_path).get("/monitoring")
    assert r.status_code == 200 and "<img" not in r.text.split('id="charts-title"')[1]
    assert 'class="share share-cur" style="width:' in r.text


def test_a_damaged_report_is_said_so(bundle_dir: Path, scorer: Scorer, tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    r = client(bundle_dir, scorer, tmp_path).get("/monitoring")
    assert r.status_code == 200 and "cannot be read" in r.text and "No report available" in r.text


def test_a_report_in_s3_is_shown(bundle_dir: Path, scorer: Scorer, report_dir: Path, s3: Any) -> None:
    """Where the scheduled job writes it on AWS: s3://bucket/stability/latest/."""
    c = client(bundle_dir, scorer, f"s3://{S3_BUCKET}/stability/latest")
    assert "No report available" in c.get("/monitoring").text  # nothing there yet
    for f in report_dir.iterdir():
        s3.put_object(Bucket=S3_BUCKET, Key=f"stability/latest/{f.name}", Body=f.read_bytes())
    r = c.get("/monitoring")
    assert r.status_code == 200 and '<span id="overall" class="status status-shift">shift</span>' in r.text
    png = c.get("/monitoring/charts/field-AnnualIncome.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert c.get("/monitoring/charts/report.json").status_code == 404
    assert c.get("/monitoring/charts/other.png").status_code == 404
