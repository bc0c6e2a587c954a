"""The scheduled monitoring job: another handler of the Lambda image (template.yaml's
MonitoringFunction, on an EventBridge schedule). It makes the stability report of the
last period's decision records, stores it (report.json and report.html under
`dt=<last day>/` and `latest/`) and publishes its figures as CloudWatch metrics:
ScorePSI, FieldPSI per field (dimension Field), Decisions and ShiftedFields. An
insufficient sample publishes only Decisions, so an alarm on ScorePSI never reads a
figure that was too noisy to judge.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lambda_app.core.bundle import read_manifest
from lambda_app.core.model_source import resolve
from lambda_app.monitoring.drift import drift_report
from lambda_app.monitoring.report import write_report
from lambda_app.settings import Settings
from lambda_app.telemetry import logger

# CloudWatch takes up to 1,000 metrics per call; small batches keep each request small.
METRICS_PER_CALL = 20
LATEST = "latest"


class JobConfigError(RuntimeError):
    """The job's settings cannot work; the message names the setting."""


def period(event: dict[str, Any], days: int) -> tuple[date, date]:
    """The days to report on: the `days` before the day the schedule fired (EventBridge's
    `time`), or an explicit `since`/`until` in the event (a backfill run by hand)."""
    if "since" in event or "until" in event:
        try:
            since, until = date.fromisoformat(str(event["since"])), date.fromisoformat(str(event["until"]))
        except (KeyError, ValueError):
            raise JobConfigError("a backfill event needs both `since` and `until` as YYYY-MM-DD") from None
        if since > until:
            raise JobConfigError(f"since {since} is after until {until}")
        return since, until
    fired = str(event.get("time") or datetime.now(UTC).isoformat())
    try:
        today = datetime.fromisoformat(fired.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        raise JobConfigError(f"event time {fired!r} is not an ISO timestamp") from None
    until = today - timedelta(days=1)
    return until - timedelta(days=days - 1), until


def metric_data(report: dict[str, Any]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = [{"MetricName": "Decisions", "Value": float(report["n"]), "Unit": "Count"}]
    if report["status"] == "insufficient":
        return data
    data.append({"MetricName": "ScorePSI", "Value": float(report["score"]["psi"]), "Unit": "None"})
    shifted = 0
    for name, f in report["fields"].items():
        data.append(
            {
                "MetricName": "FieldPSI",
                "Dimensions": [{"Name": "Field", "Value": name}],
                "Value": float(f["psi"]),
                "Unit": "None",
            }
        )
        shifted += f["status"] == "shift"
    data.append({"MetricName": "ShiftedFields", "Value": float(shifted), "Unit": "Count"})
    return data


def publish_metrics(report: dict[str, Any], namespace: str, at: datetime) -> int:
    import boto3

    cloudwatch = boto3.client("cloudwatch")
    data = [{**d, "Timestamp": at} for d in metric_data(report)]
    for i in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + METRICS_PER_CALL])
    return len(data)


def store(report: dict[str, Any], destination: str, day: date) -> list[str]:
    """The report's files under `<destination>/dt=<day>/` and `<destination>/latest/`."""
    folders = [f"dt={day.isoformat()}", LATEST]
    if not destination.startswith("s3://"):
        written = []
        for folder in folders:
            files, _ = write_report(report, Path(destination) / folder)
            written += [str(f) for f in files]
        return written
    import boto3

    parsed = urlparse(destination)
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    s3 = boto3.client("s3")
    uris = []
    with tempfile.TemporaryDirectory() as tmp:
        files, _ = write_report(report, Path(tmp))
        for folder in folders:
            for f in files:
                key = "/".join(p for p in (prefix, folder, f.name) if p)
                content_type = {".json": "application/json", ".html": "text/html; charset=utf-8"}.get(
                    f.suffix, "image/png"
                )
                s3.put_object(Bucket=bucket, Key=key, Body=f.read_bytes(), ContentType=content_type)
                uris.append(f"s3://{bucket}/{key}")
    return uris


def run(event: dict[str, Any], settings: Settings) -> dict[str, Any]:
    if not settings.monitoring_records_uri:
        raise JobConfigError("MONITORING_RECORDS_URI is not set: the job has no decision records to read")
    if not settings.monitoring_report_uri:
        raise JobConfigError("MONITORING_REPORT_URI is not set: the job has nowhere to write its report")
    since, until = period(event, settings.monitoring_period_days)
    manifest = read_manifest(resolve(settings.model_uri, settings.model_cache_dir))
    report = drift_report(manifest, settings.monitoring_records_uri, since, until)
    stored = store(report, settings.monitoring_report_uri, until)
    # Stamped with the run's time, not the period's: an alarm evaluates the latest period, and
    # a figure stamped a day back would arrive after its period had been judged.
    published = publish_metrics(report, settings.monitoring_namespace, datetime.now(UTC))
    summary = {
        "status": report["status"],
        "n": report["n"],
        "since": since.isoformat(),
        "until": until.isoformat(),
        "score_psi": report["score"]["psi"],
        "shifted": sorted(n for n, f in report["fields"].items() if f["status"] == "shift"),
        "report": next((u for u in stored if u.endswith("report.html") and f"dt={until}" in u), None),
        "metrics": published,
    }
    logger.info("stability report", extra=summary)
    return summary


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event or {}, Settings())
