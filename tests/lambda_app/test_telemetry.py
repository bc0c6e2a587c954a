"""Logs and metrics a CloudWatch operator would see; never applicant data."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings
from lambda_app.telemetry import count, logger, observe, publish


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Records formatted by the Powertools JSON formatter, as they reach CloudWatch."""
    return "\n".join(logger.registered_formatter.format(r) for r in caplog.records if r.name == "loan-risk")


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def debug_logs() -> Iterator[None]:
    level = logger.log_level
    logger.setLevel("DEBUG")
    yield
    logger.setLevel(level)


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [line for line in _json_lines(_logged(caplog)) if line.get("message") == "request"]


def test_request_id_is_echoed_and_logged_without_applicant_data(
    client: TestClient, applicant: dict[str, Any], caplog: pytest.LogCaptureFixture, debug_logs: None
) -> None:
    client.get("/health")  # whichever request is this process's first (logged at INFO as the cold start)
    caplog.clear()
    marked = {**applicant, "AnnualIncome": 987_654}
    r = client.post("/v1/score", json=marked, headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    out = _logged(caplog)
    assert "987654" not in out and "987,654" not in out
    [log] = _request_lines(caplog)
    assert log["request_id"] == "abc-123" and log["status"] == 200 and log["path"] == "/v1/score"
    assert log["level"] == "DEBUG" and log["service"] == "loan-risk" and log["latency_ms"] > 0


def test_failures_are_logged_at_info_and_successes_only_at_debug(
    client: TestClient, applicant: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/health")  # whichever request is this process's first (logged as the cold start)
    caplog.clear()
    assert client.post("/v1/score", json=applicant).status_code == 200
    assert client.get("/health").status_code == 200
    assert _request_lines(caplog) == []
    assert client.post("/v1/score", json={**applicant, "Age": 5}).status_code == 422
    assert client.get("/no-such-page").status_code == 404
    assert [(line["level"], line["status"]) for line in _request_lines(caplog)] == [("INFO", 422), ("INFO", 404)]


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    r = client.get("/health", headers={"x-request-id": "bad id\nwith newline"})
    assert r.headers["x-request-id"] != "bad id\nwith newline" and len(r.headers["x-request-id"]) == 32


def test_metrics_are_emitted_as_cloudwatch_emf(
    scorer: Scorer, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    publish()  # what earlier tests left in this process's window (over 100 latencies: two documents)
    capsys.readouterr()
    client = TestClient(create_app(Settings(), scorer, on_lambda=True))  # published per invocation
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


def _emf(text: str) -> list[dict[str, Any]]:
    return [line for line in _json_lines(text) if "_aws" in line]


def test_a_server_publishes_its_metrics_once_per_window_and_at_shutdown(
    scorer: Scorer, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    publish()  # what earlier tests left in this process's window
    capsys.readouterr()
    with TestClient(create_app(Settings(metrics_interval_s=3600), scorer)) as c:
        for _ in range(3):
            assert c.post("/v1/score", json=applicant).status_code == 200
        c.post("/v1/score/batch", json={"applicants": [applicant, {**applicant, "Age": 5}]})
        assert c.post("/v1/score", json={**applicant, "Age": 5}).status_code == 422
        assert _emf(capsys.readouterr().out) == []  # nothing yet: the window is open
    [emf] = _emf(capsys.readouterr().out)  # the server stopped: one document for the window
    assert emf["ScoresServed"] == [4.0] and emf["ValidationFailures"] == [1.0] and emf["ClientErrors"] == [1.0]
    assert emf["BatchSize"] == [2.0] and len(emf["Latency"]) == 5


def test_the_window_is_published_on_a_timer(
    scorer: Scorer, applicant: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    publish()
    capsys.readouterr()
    with TestClient(create_app(Settings(metrics_interval_s=0.05), scorer)) as c:
        c.post("/v1/score", json=applicant)
        deadline = time.monotonic() + 5
        while not (published := _emf(capsys.readouterr().out)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert published and published[0]["ScoresServed"] == [1.0]


def test_more_values_than_emf_allows_are_split_across_documents(capsys: pytest.CaptureFixture[str]) -> None:
    publish()
    capsys.readouterr()
    for i in range(250):
        observe("Latency", i, MetricUnit.Milliseconds)
    count("ScoresServed", 250)
    publish()
    docs = _emf(capsys.readouterr().out)
    assert [len(d["Latency"]) for d in docs] == [100, 100, 50]
    assert [v for d in docs for v in d["Latency"]] == [float(i) for i in range(250)]
    assert [d.get("ScoresServed") for d in docs] == [[250.0], None, None]
    for d in docs:
        assert {m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {k for k in d if k[0].isupper()}
    publish()
    assert _emf(capsys.readouterr().out) == []  # an empty window writes nothing


def test_an_unexpected_error_is_a_500_problem_logged_with_its_request_id(
    scorer: Scorer, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(), scorer)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("something broke")

    r = TestClient(app, raise_server_exceptions=False).get("/boom", headers={"x-request-id": "rid-500"})
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["request_id"] == "rid-500" and "something broke" not in r.text
    [error] = [line for line in _json_lines(_logged(caplog)) if line.get("message") == "unhandled error"]
    assert error["request_id"] == "rid-500" and error["level"] == "ERROR" and "something broke" in error["exception"]
