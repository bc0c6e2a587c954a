"""The fast path for POST /v1/score (lambda_app.middleware.fast_path): the route's answer, byte
for byte, explained or not, and everything else handed to the route."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lambda_app.app import create_app
from lambda_app.core.scoring import Scorer
from lambda_app.middleware.fast_path import Options, query_options
from lambda_app.settings import Settings


@pytest.fixture(scope="module")
def client(scorer: Scorer) -> TestClient:
    return TestClient(create_app(Settings(), scorer))


def test_plain_score_is_answered_by_the_fast_path(client: TestClient, applicant: dict[str, Any]) -> None:
    coalescer = client.app.state.service.coalescer  # type: ignore[attr-defined]
    before = coalescer.calls
    fast = client.post("/v1/score", json=applicant)
    assert coalescer.calls == before + 1
    routed = client.post("/v1/score?explain=False", json=applicant)  # a spelling the route parses
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


@pytest.fixture(scope="module")
def without_route(scorer: Scorer) -> TestClient:
    """The app with its routes taken out: only the fast path can answer."""
    app = create_app(Settings(), scorer)
    app.router.routes.clear()
    return TestClient(app)


@pytest.mark.parametrize(
    ("fast", "routed"),
    [
        ("", "explain=False"),
        ("explain=true", "explain=True"),
        ("explain=true&reasons=2", "reasons=02&explain=on"),
        ("reasons=28", "reasons=+28"),
    ],
)
def test_scores_explained_or_not_take_the_fast_path_with_the_routes_answer(
    client: TestClient, without_route: TestClient, applicant: dict[str, Any], fast: str, routed: str
) -> None:
    quick = without_route.post(f"/v1/score?{fast}", json=applicant)
    assert quick.status_code == 200
    assert without_route.post(f"/v1/score?{routed}", json=applicant).status_code == 404  # not fast: the route's
    assert quick.content == client.post(f"/v1/score?{routed}", json=applicant).content


@pytest.mark.parametrize(
    "query",
    [
        b"explain=1",
        b"explain=true&explain=false",
        b"reasons=0",
        b"reasons=29",
        b"reasons=2.0",
        b"explain",
        b"x=1",
        b"explain=%ZZ",
        b"explain=true;reasons=2",
        "reasons=\u0663".encode(),
    ],
)
def test_other_spellings_are_left_to_the_route(query: bytes) -> None:
    assert query_options(query) is None


def test_plain_spellings_are_read() -> None:
    assert query_options(b"") == Options(explain=False, reasons=None)
    assert query_options(b"explain=false") == Options(explain=False, reasons=None)
    assert query_options(b"reasons=3&explain=true") == Options(explain=True, reasons=3)


@pytest.mark.parametrize("query", ["reasons=0", "reasons=29", "explain=maybe"])
def test_the_route_still_answers_bad_options(client: TestClient, applicant: dict[str, Any], query: str) -> None:
    r = client.post(f"/v1/score?{query}", json=applicant)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
