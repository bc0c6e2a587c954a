"""Regression tests for what the fuzzer (test_fuzz.py) found."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def test_whole_number_floats_are_integers(client: TestClient, applicant: dict[str, Any]) -> None:
    """JSON Schema's "integer" includes 51.0; the strict model used to refuse it."""
    as_float = {**applicant, "Age": 45.0, "AnnualIncome": 48000.0, "BankruptcyHistory": 0.0}
    r = client.post("/v1/score", json=as_float)
    assert r.status_code == 200, r.text
    assert r.json() == client.post("/v1/score", json=applicant).json()
    batch = client.post("/v1/score/batch", json={"applicants": [as_float]}).json()
    assert batch["scored"] == 1


@pytest.mark.parametrize(("field", "value"), [("Age", 45.5), ("Age", "45"), ("BankruptcyHistory", True), ("Age", 17.0)])
def test_other_non_integers_are_still_refused(
    client: TestClient, applicant: dict[str, Any], field: str, value: Any
) -> None:
    r = client.post("/v1/score", json={**applicant, field: value})
    assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}


def test_csv_integers_parse_as_before(client: TestClient, applicant: dict[str, Any]) -> None:
    header = ",".join(FEATURES)
    good = ",".join(str(applicant[f]) for f in FEATURES)
    bad = good.replace(",580,", ",5x0,", 1)
    r = client.post("/v1/score/batch", content=f"{header}\n{good}\n{bad}\n", headers={"content-type": "text/csv"})
    results = r.json()["results"]
    assert results[0]["risk_score"] and results[1]["errors"] == [
        {"field": "CreditScore", "message": "Input should be a valid integer, unable to parse string as an integer"}
    ]


def test_error_statuses_are_documented_as_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    score = spec["paths"]["/v1/score"]["post"]["responses"]
    for status in ("400", "401", "408", "413", "415", "422"):
        assert "application/problem+json" in score[status]["content"], status
    assert "401" in spec["paths"]["/v1/model"]["get"]["responses"]
    assert "503" in spec["paths"]["/ready"]["get"]["responses"]
    problem = score["422"]["content"]["application/problem+json"]["schema"]
    assert {"type", "title", "status", "detail", "request_id"} <= set(problem["required"])


def test_batch_items_are_documented_as_reported_not_refused(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/score/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/Applicant"} in body["properties"]["applicants"]["items"]["anyOf"]


def test_invalid_json_is_named_body_not_an_offset(client: TestClient) -> None:
    r = client.post("/v1/score", content=b"\x11{", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "(body)"
    assert json.loads(r.text)["detail"] == "1 invalid field(s): (body)"
