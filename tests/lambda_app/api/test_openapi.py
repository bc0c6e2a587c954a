"""The OpenAPI document: every route documented, every example valid."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return doc


def test_every_api_route_is_documented(spec: dict[str, Any]) -> None:
    assert {"/v1/score", "/v1/score/batch", "/v1/model", "/health", "/ready"} <= set(spec["paths"])
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op.get("summary"), path


def test_applicant_example_scores(client: TestClient, spec: dict[str, Any]) -> None:
    [example] = spec["components"]["schemas"]["Applicant"]["examples"]
    assert client.post("/v1/score", json=example).status_code == 200


def test_batch_examples_score(client: TestClient, spec: dict[str, Any]) -> None:
    content = spec["paths"]["/v1/score/batch"]["post"]["requestBody"]["content"]
    r = client.post("/v1/score/batch", json=content["application/json"]["schema"]["example"])
    assert r.status_code == 200 and r.json()["failed"] == 0
    r = client.post("/v1/score/batch", content=content["text/csv"]["example"], headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json()["scored"] == 1


def test_api_key_scheme_is_documented(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_docs_behind_a_stage_prefix_fetch_the_prefixed_spec(scorer: Scorer) -> None:
    client = TestClient(create_app(Settings(root_path="/prod"), scorer))
    assert "'/prod/openapi.json'" in client.get("/docs").text
    assert client.get("/openapi.json").json()["servers"] == [{"url": "/prod"}]
