"""The ECS entry point (`python -m lambda_app`) over real HTTP on loopback."""

import socket
from typing import Any

import httpx
import pytest

from lambda_app.core.schema import FEATURES
from lambda_app.core.scoring import Scorer
from lambda_app.settings import Settings


def test_score_with_explanation(live_server: str, scorer: Scorer, applicant: dict[str, Any]) -> None:
    r = httpx.post(f"{live_server}/v1/score?explain=true", json=applicant, headers={"x-request-id": "live-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "live-1"
    body = r.json()
    assert body["risk_score"] == scorer.score([applicant])[0] and body["explanation"]["raised"]


def test_batch_json_and_csv(live_server: str, scorer: Scorer, applicant: dict[str, Any]) -> None:
    r = httpx.post(f"{live_server}/v1/score/batch", json={"applicants": [applicant, {**applicant, "Age": 3}]})
    assert r.json()["scored"] == 1 and r.json()["results"][1]["errors"][0]["field"] == "Age"
    csv_body = ",".join(FEATURES) + "\n" + ",".join(str(applicant[f]) for f in FEATURES) + "\n"
    r = httpx.post(
        f"{live_server}/v1/score/batch", content=csv_body, headers={"content-type": "text/csv", "accept": "text/csv"}
    )
    assert r.headers["content-type"].startswith("text/csv") and r.text.splitlines()[1].startswith("0,")


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b'{"Age": NaN}', "headers": {"content-type": "application/json"}}, 422),
        ({"content": b"Age=1", "headers": {"content-type": "text/plain"}}, 415),
        ({"json": {"Age": 40}}, 422),
    ],
)
def test_bad_requests_are_problems(live_server: str, kwargs: dict[str, Any], status: int) -> None:
    r = httpx.post(f"{live_server}/v1/score", **kwargs)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"


def test_oversized_body_is_refused_before_it_is_sent(live_server: str) -> None:
    """The server answers 413 from the Content-Length alone: we send headers only."""
    limit = Settings().max_body_bytes
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            f"POST /v1/score/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {limit + 1}\r\n\r\n".encode()
        )
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413") and "application/problem+json" in reply


def test_ready_and_model(live_server: str, scorer: Scorer) -> None:
    assert httpx.get(f"{live_server}/ready").json()["status"] == "ready"
    assert httpx.get(f"{live_server}/v1/model").json()["version"] == scorer.version
