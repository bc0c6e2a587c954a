"""Overload over real HTTP: past MAX_IN_FLIGHT a worker answers 503 problems with Retry-After
at once, the accepted requests still succeed, health checks are never shed, and the worker
recovers as soon as the flood ends."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.middleware.load_shed import LoadShed
from lambda_app.settings import Settings
from tests.lambda_app.servers import running

LIMIT = 3
BODY = json.dumps(EXAMPLE_APPLICANT).encode()


@pytest.fixture(scope="module")
def server(bundle_dir: Path) -> Iterator[str]:
    with running(bundle_dir, MAX_IN_FLIGHT=str(LIMIT), REQUEST_TIMEOUT_S="20") as (_proc, url):
        yield url


def _slow_request(url: str) -> socket.socket:
    """A score whose body has not arrived yet: it holds one of the worker's slots until the
    rest of the body is sent."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(
        b"POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        + BODY[:10]
    )
    return s


def _finish(s: socket.socket) -> bytes:
    s.sendall(BODY[10:])
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
        if b"\r\n\r\n" in reply and reply.rstrip().endswith(b"}"):
            break
    return reply


def _score(client: httpx.Client, url: str) -> httpx.Response:
    return client.post(f"{url}/v1/score", content=BODY, headers={"content-type": "application/json"})


def _hold_all_slots(url: str, stack: ExitStack) -> list[socket.socket]:
    held = [stack.enter_context(_slow_request(url)) for _ in range(LIMIT)]
    time.sleep(0.3)  # until the worker has started handling all of them
    return held


def test_excess_requests_get_503_problems_at_once_and_accepted_ones_succeed(server: str) -> None:
    with ExitStack() as stack, httpx.Client(timeout=5) as client:
        held = _hold_all_slots(server, stack)
        with ThreadPoolExecutor(8) as pool:
            started = time.monotonic()
            shed = list(pool.map(lambda _: _score(client, server), range(8)))
            elapsed = time.monotonic() - started
        assert [r.status_code for r in shed] == [503] * 8
        assert elapsed < 1.0  # answered, not queued behind the held requests
        problem = shed[0]
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.headers["retry-after"] == "1"
        doc = problem.json()
        assert doc["status"] == 503 and "capacity" in doc["detail"]
        # The held requests were accepted: completing their bodies gets them scored.
        for s in held:
            reply = _finish(s)
            assert reply.startswith(b"HTTP/1.1 200") and b'"risk_score"' in reply


def test_health_checks_pass_while_the_worker_is_full(server: str) -> None:
    with ExitStack() as stack, httpx.Client(timeout=5) as client:
        _hold_all_slots(server, stack)
        assert _score(client, server).status_code == 503
        assert client.get(f"{server}/health").status_code == 200
        assert client.get(f"{server}/ready").status_code == 200


def test_recovers_once_the_flood_ends(server: str) -> None:
    with httpx.Client(timeout=5) as client:
        with ExitStack() as stack:
            _hold_all_slots(server, stack)
            assert _score(client, server).status_code == 503
        # The held connections closed without their bodies: their slots are free again.
        deadline = time.monotonic() + 5
        while (response := _score(client, server)).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert response.status_code == 200 and "risk_score" in response.json()
        with ThreadPoolExecutor(LIMIT) as pool:
            assert {r.status_code for r in pool.map(lambda _: _score(client, server), range(20))} == {200}


def test_limit_is_derived_from_cpus_and_workers() -> None:
    one_each = Settings(workers=0).in_flight_limit()
    assert one_each >= 8
    assert Settings(workers=0, max_in_flight=5).in_flight_limit() == 5
    assert Settings(workers=64).in_flight_limit() <= one_each


def test_lambda_invocations_are_never_shed() -> None:
    """One request per invocation: a Lambda scope passes even at a limit of zero."""
    import asyncio

    seen: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["path"]))

    shed = LoadShed(app, max_in_flight=0)  # type: ignore[arg-type]
    asyncio.run(shed({"type": "http", "path": "/v1/score", "aws.event": {}}, None, None))  # type: ignore[arg-type]
    assert seen == ["/v1/score"]


def test_shed_requests_are_counted_in_the_requests_shed_metric(capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from lambda_app.telemetry import publish

    async def never(scope: object, receive: object, send: object) -> None:
        raise AssertionError("a shed request reached the app")

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    shed = LoadShed(never, max_in_flight=0)
    scope = {"type": "http", "path": "/v1/score", "root_path": "", "headers": []}
    publish()  # start a clean window
    capsys.readouterr()
    for _ in range(3):
        asyncio.run(shed(scope, None, send))  # type: ignore[arg-type]
    publish()
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(d.get("RequestsShed") == [3.0] for d in documents)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [503] * 3
