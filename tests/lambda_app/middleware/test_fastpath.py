"""The fast path for plain POST /v1/score (lambda_app.middleware.fast_path): the route's answer, byte
for byte, and everything else handed to the route."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def test_plain_score_is_answered_by_the_fast_path(client: TestClient, applicant: dict[str, Any]) -> None:
    coalescer = client.app.state.service.coalescer  # type: ignore[attr-defined]
    before = coalescer.calls
    fast = client.post("/v1/score", json=applicant)
    assert coalescer.calls == before + 1
    routed = client.post("/v1/score?explain=false", json=applicant)  # a query string: the route
    assert fast.content == routed.content
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == routed.headers["content-length"]
    assert fast.headers["x-request-id"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.loan+json"])
def test_json_media_types_take_the_fast_path(client: TestClient, applicant: dict[str, Any], content_type: str) -> None:
    r = client.post("/v1/score", content=json.dumps(applicant), headers={"content-type": content_type})
    assert r.status_code == 200 and r.json()["risk_score"]


def test_api_keys_are_checked_on_the_fast_path(scorer: Scorer, applicant: dict[str, Any]) -> None:
    guarded = TestClient(create_app(Settings(api_keys="k1,k2"), scorer))
    assert guarded.post("/v1/score", json=applicant).status_code == 401
    assert guarded.post("/v1/score", json=applicant, headers={"x-api-key": "k3"}).status_code == 401
    assert guarded.post("/v1/score", json=applicant, headers={"x-api-key": "k2"}).status_code == 200


def test_body_limit_still_applies(scorer: Scorer) -> None:
    small = TestClient(create_app(Settings(max_body_bytes=2048), scorer))
    chunks = (b"x" * 1024 for _ in range(4))  # streamed: the limit trips inside the fast path's read
    r = small.post("/v1/score", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


def test_stage_prefix_is_honoured(scorer: Scorer, applicant: dict[str, Any]) -> None:
    staged = TestClient(create_app(Settings(root_path="/prod"), scorer), root_path="/prod")
    assert staged.post("/v1/score", json=applicant).status_code == 200
