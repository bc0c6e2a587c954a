"""Property-based tests of the applicant schema through the API (hypothesis): any valid
applicant scores to a finite number inside the model's range, the same on every path;
any invalid one gets a 4xx naming the field at fault."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_app.app import create_app
from lambda_app.core.schema import FIELDS, FieldSpec
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def valid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "category":
        return st.sampled_from(spec.choices)
    if spec.kind == "int":
        return st.integers(int(spec.minimum or 0), int(spec.maximum or 10**9))
    return st.floats(spec.minimum or 0.0, spec.maximum or 1e9, allow_nan=False, allow_infinity=False)


def applicants() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.name: valid_value(f) for f in FIELDS})


def invalid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    wrong_type: st.SearchStrategy[Any] = st.sampled_from([None, "12", [], {}, True])
    if spec.kind == "category":
        return st.one_of(wrong_type, st.integers(), st.text().filter(lambda s: s not in spec.choices))
    below = st.just(spec.minimum - 1) if spec.minimum is not None else st.nothing()
    above = st.just(spec.maximum + 1) if spec.maximum is not None else st.nothing()
    odd = st.sampled_from([math.inf, -math.inf]) if spec.kind == "float" else st.just(0.5 + (spec.minimum or 0))
    return st.one_of(wrong_type, below, above, odd)


@SETTINGS
@given(applicant=applicants())
def test_any_valid_applicant_scores_in_range(client: TestClient, scorer: Scorer, applicant: dict[str, Any]) -> None:
    r = client.post("/v1/score", json=applicant)
    assert r.status_code == 200, r.text
    body = r.json()
    lo, hi = scorer.manifest.score_range
    assert math.isfinite(body["risk_score"]) and lo <= body["risk_score"] <= hi
    assert 0 <= body["percentile"] <= 100 and body["risk_band"] == scorer.band(body["risk_score"])
    # A query string takes the request off the fast path onto the FastAPI route: same answer.
    assert client.post("/v1/score?explain=false", json=applicant).content == r.content


@SETTINGS
@given(data=st.data())
def test_any_invalid_field_gets_422_naming_it(client: TestClient, data: st.DataObject) -> None:
    applicant = data.draw(applicants())
    spec = data.draw(st.sampled_from(FIELDS))
    change = data.draw(st.sampled_from(["value", "missing"]))
    if change == "missing":
        del applicant[spec.name]
    else:
        applicant[spec.name] = data.draw(invalid_value(spec))
    # Sent as text: JSON's Infinity literal is what a client sends for an infinite float.
    raw = json.dumps(applicant)
    r = client.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, (spec.name, applicant.get(spec.name), r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert spec.name in {e["field"] for e in r.json()["errors"]}


@SETTINGS
@given(rows=st.lists(st.one_of(applicants(), st.just({"Age": "x"})), min_size=1, max_size=8))
def test_batch_scores_valid_rows_like_single_requests(client: TestClient, rows: list[dict[str, Any]]) -> None:
    r = client.post("/v1/score/batch", json={"applicants": rows})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(len(rows)))
    for row, result in zip(rows, results, strict=True):
        if row == {"Age": "x"}:
            assert result["errors"] and "risk_score" not in result
        else:
            assert result["risk_score"] == client.post("/v1/score", json=row).json()["risk_score"]
