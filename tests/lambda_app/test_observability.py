"""Logs and metrics a CloudWatch operator would see; never applicant data."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.observability import logger
from lambda_app.scoring import Scorer
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Records formatted by the Powertools JSON formatter, as they reach CloudWatch."""
    return "\n".join(logger.registered_formatter.format(r) for r in caplog.records if r.name == "loan-risk")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_request_id_is_echoed_and_logged_without_applicant_data(
    client: TestClient, applicant: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    marked = {**applicant, "AnnualIncome": 987_654}
    r = client.post("/v1/score", json=marked, headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    out = _logged(caplog)
    assert "987654" not in out and "987,654" not in out
    [log] = [line for line in _json_lines(out) if line.get("message") == "request"]
    assert log["request_id"] == "abc-123" and log["status"] == 200 and log["path"] == "/v1/score"
    assert log["level"] == "INFO" and log["service"] == "loan-risk" and log["latency_ms"] > 0


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    r = client.get("/health", headers={"x-request-id": "bad id\nwith newline"})
    assert r.headers["x-request-id"] != "bad id\nwith newline" and len(r.headers["x-request-id"]) == 32


def test_metrics_are_emitted_as_cloudwatch_emf(
    client: TestClient, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    client.post("/v1/score/batch", json={"applicants": [applicant, {**applicant, "Age": 5}]})
    [emf] = [line for line in _json_lines(capsys.readouterr().out) if "_aws" in line]
    names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"BatchSize", "ScoresServed", "ValidationFailures", "Latency"} <= names
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LoanRisk"
    assert emf["BatchSize"] == [2.0] and emf["ValidationFailures"] == [1.0]


def test_validation_failures_are_logged_as_outcome_not_values(
    client: TestClient, applicant: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    r = client.post("/v1/score", json={**applicant, "CreditScore": 7654321})
    assert r.status_code == 422
    out = _logged(caplog)
    assert "7654321" not in out
    assert any(line.get("status") == 422 for line in _json_lines(out))
