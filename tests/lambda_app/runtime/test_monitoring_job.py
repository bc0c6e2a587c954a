"""The scheduled monitoring job against moto: records in S3 -> handler -> the report in S3
and its figures in CloudWatch."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambda_app.core.bundle import read_manifest
from lambda_app.core.scoring import Scorer
from lambda_app.monitoring.drift import drift_report
from lambda_app.runtime import monitoring_job
from lambda_app.runtime.monitoring_job import JobConfigError, handler, period
from tests.lambda_app.monitoring.records import applicants, decision_records

RECORDS, REPORTS, NAMESPACE = "decision-records", "monitoring-reports", "LoanRisk/Monitoring/test"
EVENT = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-22T06:00:00Z"}


@pytest.fixture()
def job(aws: None, monkeypatch: pytest.MonkeyPatch, bundle_dir: Path) -> Any:
    """The job's settings and its two buckets, in moto's account."""
    for name, value in {
        "MODEL_URI": str(bundle_dir),
        "MONITORING_RECORDS_URI": f"s3://{RECORDS}/records",
        "MONITORING_REPORT_URI": f"s3://{REPORTS}/stability",
        "MONITORING_NAMESPACE": NAMESPACE,
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=RECORDS)
    s3.create_bucket(Bucket=REPORTS)
    return s3


def put_records(s3: Any, records: list[dict[str, Any]], day: str) -> None:
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    s3.put_object(Bucket=RECORDS, Key=f"records/dt={day}/part-0001.jsonl", Body=body)


def metric(name: str, dimensions: list[dict[str, str]] | None = None) -> list[float]:
    now = datetime.now(UTC)
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=dimensions or [],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [p["Maximum"] for p in points]


def test_the_job_reports_yesterdays_records_to_s3_and_cloudwatch(job: Any, scorer: Scorer) -> None:
    people = applicants(1500, seed=21)
    cut = [{**p, "AnnualIncome": round(p["AnnualIncome"] * 2 / 3)} for p in people]
    put_records(job, decision_records(scorer, cut, day="2026-11-21"), "2026-11-21")
    put_records(
        job, decision_records(scorer, people, day="2026-11-20"), "2026-11-20"
    )  # the day before: not in the period

    summary = handler(EVENT, None)

    assert summary["since"] == summary["until"] == "2026-11-21"
    assert summary["n"] == 1500 and summary["status"] == "shift" and summary["shifted"] == ["AnnualIncome"]
    keys = {o["Key"] for o in job.list_objects_v2(Bucket=REPORTS)["Contents"]}
    assert {
        "stability/dt=2026-11-21/report.json",
        "stability/dt=2026-11-21/report.html",
        "stability/latest/report.json",
    } <= keys
    report = json.loads(job.get_object(Bucket=REPORTS, Key="stability/latest/report.json")["Body"].read())
    assert report["since"] == "2026-11-21" and report["fields"]["AnnualIncome"]["status"] == "shift"
    html = job.get_object(Bucket=REPORTS, Key="stability/dt=2026-11-21/report.html")
    assert html["ContentType"].startswith("text/html") and b"AnnualIncome" in html["Body"].read()

    assert metric("Decisions") == [1500.0]
    assert metric("ScorePSI") == [pytest.approx(report["score"]["psi"])]
    assert metric("FieldPSI", [{"Name": "Field", "Value": "AnnualIncome"}]) == [
        pytest.approx(report["fields"]["AnnualIncome"]["psi"])
    ]
    assert metric("FieldPSI", [{"Name": "Field", "Value": "Age"}])[0] < 0.10
    assert metric("ShiftedFields") == [1.0]
    listed = boto3.client("cloudwatch").list_metrics(Namespace=NAMESPACE, MetricName="FieldPSI")["Metrics"]
    assert len(listed) == 28


def test_too_few_records_publish_no_psi(job: Any, scorer: Scorer) -> None:
    put_records(job, decision_records(scorer, applicants(40, seed=22), day="2026-11-21"), "2026-11-21")
    summary = handler(EVENT, None)
    assert summary["status"] == "insufficient" and summary["n"] == 40
    assert metric("Decisions") == [40.0]
    assert metric("ScorePSI") == [] and metric("FieldPSI", [{"Name": "Field", "Value": "Age"}]) == []


def test_period_is_the_days_before_the_schedule_fired_or_a_backfill() -> None:
    assert period(EVENT, 1) == (date(2026, 11, 21), date(2026, 11, 21))
    assert period(EVENT, 7) == (date(2026, 11, 15), date(2026, 11, 21))
    assert period({"since": "2026-10-01", "until": "2026-10-31"}, 1) == (date(2026, 10, 1), date(2026, 10, 31))
    for bad in ({"since": "2026-10-01"}, {"since": "2026-10-31", "until": "2026-10-01"}, {"time": "yesterday"}):
        with pytest.raises(JobConfigError):
            period(bad, 1)


def test_missing_settings_are_named(job: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITORING_RECORDS_URI", "")
    with pytest.raises(JobConfigError, match="MONITORING_RECORDS_URI"):
        handler(EVENT, None)


def test_a_local_destination_gets_the_same_files(tmp_path: Path, bundle_dir: Path, scorer: Scorer) -> None:
    records = tmp_path / "records" / "dt=2026-11-21"
    records.mkdir(parents=True)
    (records / "a.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in decision_records(scorer, applicants(600, seed=23), day="2026-11-21"))
    )
    report = drift_report(read_manifest(bundle_dir), str(tmp_path / "records"))
    written = monitoring_job.store(report, str(tmp_path / "out"), date(2026, 11, 21))
    assert {"report.json", "report.html"} <= {p.name for p in (tmp_path / "out" / "latest").iterdir()}
    assert json.loads((tmp_path / "out" / "dt=2026-11-21" / "report.json").read_text())["n"] == 600
    assert any(w.endswith("dt=2026-11-21/report.html") for w in written)
