"""Overload over real HTTP: past its in-flight limit a worker answers 503 problems with
Retry-After the moment a request's head arrives, the accepted requests still succeed, health
checks are never shed, the connection stays usable, and the worker recovers as soon as the
flood ends (lambda_app.runtime.shed)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import ValidationError

from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.runtime.shed import EXPLAINED_COST, Admission, SheddingProtocol, explained
from lambda_app.settings import Settings
from lambda_app.telemetry import publish
from tests.lambda_app.servers import ROOT, free_port, running

LIMIT = 3
BODY = json.dumps(EXAMPLE_APPLICANT).encode()


# --- the service as it runs: python -m lambda_app, one worker, MAX_IN_FLIGHT=3 ---


@pytest.fixture(scope="module")
def server(bundle_dir: Path) -> Iterator[str]:
    with running(bundle_dir, MAX_IN_FLIGHT=str(LIMIT), REQUEST_TIMEOUT_S="20") as (_proc, url):
        yield url


def _slow_request(url: str) -> socket.socket:
    """A score whose body has not arrived yet: it holds one of the worker's places until the
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
    head, body = _read_response(s)
    return head + body


def _score(client: httpx.Client, url: str) -> httpx.Response:
    return client.post(f"{url}/v1/score", content=BODY, headers={"content-type": "application/json"})


def _hold_all_places(url: str, stack: ExitStack) -> list[socket.socket]:
    held = [stack.enter_context(_slow_request(url)) for _ in range(LIMIT)]
    time.sleep(0.3)  # until the worker has started handling all of them
    return held


def test_excess_requests_get_503_problems_at_once_and_accepted_ones_succeed(server: str) -> None:
    def new_client_scores(_: int) -> httpx.Response:
        # A connection each: a second request on a refused connection would be held (below).
        with httpx.Client(timeout=5) as client:
            return _score(client, server)

    with ExitStack() as stack:
        held = _hold_all_places(server, stack)
        with ThreadPoolExecutor(8) as pool:
            started = time.monotonic()
            shed = list(pool.map(new_client_scores, range(8)))
            elapsed = time.monotonic() - started
        assert [r.status_code for r in shed] == [503] * 8
        assert elapsed < 1.0  # answered, not queued behind the held requests
        problem = shed[0]
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.headers["retry-after"] == "1"
        doc = problem.json()
        assert doc["status"] == 503 and doc["title"] == "Service Unavailable" and "capacity" in doc["detail"]
        # The held requests were accepted: completing their bodies gets them scored.
        for s in held:
            reply = _finish(s)
            assert reply.startswith(b"HTTP/1.1 200") and b'"risk_score"' in reply


def test_health_checks_pass_while_the_worker_is_full(server: str) -> None:
    with ExitStack() as stack, httpx.Client(timeout=5) as client:
        _hold_all_places(server, stack)
        assert _score(client, server).status_code == 503
        assert client.get(f"{server}/health").status_code == 200
        assert client.get(f"{server}/ready").status_code == 200


def test_the_connection_of_a_refused_request_scores_once_there_is_room(server: str) -> None:
    with httpx.Client(timeout=5) as client:
        with ExitStack() as stack:
            _hold_all_places(server, stack)
            refused = _score(client, server)
            assert refused.status_code == 503 and "connection" not in refused.headers
        # The held connections closed without their bodies: their places are free again.
        deadline = time.monotonic() + 5
        while (response := _score(client, server)).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert response.status_code == 200 and "risk_score" in response.json()
        with ThreadPoolExecutor(LIMIT) as pool:
            assert {r.status_code for r in pool.map(lambda _: _score(client, server), range(20))} == {200}


def test_an_unusable_limit_stops_the_server_at_start(bundle_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lambda_app"],
        env={"MODEL_URI": str(bundle_dir), "MAX_IN_FLIGHT": "-1", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "MAX_IN_FLIGHT" in done.stderr


# --- the protocol alone, in front of an app whose requests wait until told to finish ---


class Gate:
    """Answers every request with its path and how many body bytes it read; requests to
    /hold first wait until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        read = 0
        while True:
            message = await receive()
            read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        while scope["path"] == "/hold" and not self.release.is_set():
            await asyncio.sleep(0.01)
        payload = json.dumps({"path": scope["path"], "read": read}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@contextmanager
def gate_server(limit: int, keep_alive_s: int = 5) -> Iterator[tuple[int, Gate]]:
    gate, port = Gate(), free_port()
    protocol = type("Shedding", (SheddingProtocol,), {"admission": Admission(limit)})
    config = uvicorn.Config(
        gate,
        host="127.0.0.1",
        port=port,
        http=protocol,
        loop="uvloop",
        lifespan="off",
        log_level="warning",
        timeout_keep_alive=keep_alive_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield port, gate
    finally:
        gate.release.set()
        server.should_exit = True
        thread.join(10)
        _UNREAD.clear()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _request(path: str, body: bytes = b"", method: str = "POST", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


_UNREAD: dict[int, bytes] = {}  # bytes read past an answer, per socket, for the next one


def _read_response(s: socket.socket, head_only: bool = False) -> tuple[bytes, bytes]:
    data = _UNREAD.pop(s.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"connection closed mid-answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0 if head_only else int(_header(head, b"content-length") or 0)
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    if body[length:]:
        _UNREAD[s.fileno()] = body[length:]
    return head, body[:length]


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _hold(port: int, stack: ExitStack, n: int = 1, path: str = "/hold") -> None:
    for _ in range(n):
        s = stack.enter_context(_connect(port))
        s.sendall(_request(path))
    time.sleep(0.2)  # until the worker has admitted them


def _open_and_quiet(s: socket.socket) -> bool:
    """Nothing more to read, and the connection still open."""
    if _UNREAD.pop(s.fileno(), b""):
        return False
    s.settimeout(0.3)
    try:
        s.recv(65536)
    except TimeoutError:
        return True
    finally:
        s.settimeout(5)
    return False


def test_refused_on_its_head_before_the_body_is_sent_and_the_body_is_dropped_in_step() -> None:
    """The 503 comes before a byte of the body has been sent. The body, when it comes, is
    skipped as a body even when it looks like a request, and the next request on the same
    keep-alive connection is read from the right place and admitted once there is room."""
    disguised = _request("/smuggled", method="GET")
    with gate_server(limit=1) as (port, gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        s.sendall(f"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: {len(disguised)}\r\n\r\n".encode())
        head, body = _read_response(s)
        assert head.startswith(b"HTTP/1.1 503") and _header(head, b"retry-after") == b"1"
        assert _header(head, b"connection") is None  # kept open
        assert json.loads(body)["status"] == 503
        s.sendall(disguised)
        gate.release.set()
        time.sleep(0.2)  # the held request finishes: its place is free
        s.sendall(_request("/next", b"abc"))
        head, body = _read_response(s)
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(body) == {"path": "/next", "read": 3}
        assert _open_and_quiet(s)


def test_an_idle_connection_is_closed_after_keep_alive_once_a_refused_body_has_arrived() -> None:
    """The body's bytes stop the keep-alive timer the refusal started; it starts again when
    the body ends, so a connection left idle after it is closed as any other would be."""
    with gate_server(limit=1, keep_alive_s=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        s.sendall(b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n")
        assert _read_response(s)[0].startswith(b"HTTP/1.1 503")
        time.sleep(0.3)
        s.sendall(b"body")
        started = time.monotonic()
        s.settimeout(5)
        assert s.recv(65536) == b""
        assert 0.5 < time.monotonic() - started < 3


def test_a_refused_head_request_gets_no_body_and_the_connection_goes_on() -> None:
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        s.sendall(_request("/score", method="HEAD"))
        head, body = _read_response(s, head_only=True)
        assert head.startswith(b"HTTP/1.1 503") and body == b""
        s.sendall(_request("/score"))
        head, _ = _read_response(s)
        assert head.startswith(b"HTTP/1.1 503")


@pytest.mark.parametrize(
    "extra",
    ["Connection: close\r\n", "Expect: 100-continue\r\n"],
    ids=["client asks to close", "client waits for 100 Continue"],
)
def test_the_connection_is_closed_after_a_refusal_when_the_body_may_not_follow(extra: str) -> None:
    """After Expect: 100-continue a client may skip the body it announced once refused, so
    the rest of the connection could not be read in step: it is closed, and says so."""
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        s.sendall(f"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n{extra}\r\n".encode())
        head, _ = _read_response(s)
        assert head.startswith(b"HTTP/1.1 503") and _header(head, b"connection") == b"close"
        s.settimeout(2)
        assert s.recv(65536) == b""


def _timed(s: socket.socket, request: bytes) -> tuple[bytes, float]:
    started = time.monotonic()
    s.sendall(request)
    head, _ = _read_response(s)
    return head, time.monotonic() - started


def test_a_retry_before_retry_after_is_refused_when_that_time_comes_then_judged_afresh() -> None:
    """A client that asks again at once is answered no sooner than it was told to come back;
    its next request is refused at once again while the worker is full."""
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        first, at_once = _timed(s, _request("/score", b"{}"))
        early, held = _timed(s, _request("/score", b"{}"))
        fresh, again = _timed(s, _request("/score", b"{}"))
        assert first.startswith(b"HTTP/1.1 503") and at_once < 0.5
        assert early.startswith(b"HTTP/1.1 503") and _header(early, b"retry-after") == b"1"
        assert 0.8 < held + at_once < 2.0  # about Retry-After after the first refusal
        assert fresh.startswith(b"HTTP/1.1 503") and again < 0.5
        assert _open_and_quiet(s)


def test_a_client_that_waits_out_retry_after_is_answered_at_once() -> None:
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        assert _timed(s, _request("/score"))[0].startswith(b"HTTP/1.1 503")
        time.sleep(1.05)
        head, took = _timed(s, _request("/score"))
        assert head.startswith(b"HTTP/1.1 503") and took < 0.5


def test_a_retry_before_retry_after_is_taken_at_once_when_there_is_room() -> None:
    with gate_server(limit=1) as (port, gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        assert _timed(s, _request("/score"))[0].startswith(b"HTTP/1.1 503")
        gate.release.set()
        time.sleep(0.2)  # the held request finishes: its place is free
        head, took = _timed(s, _request("/score", b"abc"))
        assert head.startswith(b"HTTP/1.1 200") and took < 0.5


def test_requests_pipelined_behind_a_held_refusal_are_answered_after_it_in_order() -> None:
    """The held request's body is dropped, and what follows it on the connection is read in
    step once it is answered: a health check passes, a score is judged afresh."""
    with gate_server(limit=1) as (port, gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        assert _timed(s, _request("/score"))[0].startswith(b"HTTP/1.1 503")
        disguised = _request("/smuggled", method="GET")
        s.sendall(_request("/score", disguised) + _request("/health", method="GET") + _request("/next", b"xy"))
        gate.release.set()  # room by the time the held refusal is written
        answers = [_read_response(s) for _ in range(3)]
        assert [head[:12] for head, _ in answers] == [b"HTTP/1.1 503", b"HTTP/1.1 200", b"HTTP/1.1 200"]
        assert json.loads(answers[1][1]) == {"path": "/health", "read": 0}
        assert json.loads(answers[2][1]) == {"path": "/next", "read": 2}
        assert _open_and_quiet(s)


def test_a_held_connection_that_closes_costs_the_worker_nothing_more() -> None:
    with gate_server(limit=1) as (port, gate), ExitStack() as stack:
        _hold(port, stack)
        with _connect(port) as gone:
            assert _timed(gone, _request("/score"))[0].startswith(b"HTTP/1.1 503")
            gone.sendall(_request("/score"))  # held, then the client leaves
        time.sleep(1.2)  # past the hold: its timer found the connection gone
        gate.release.set()
        time.sleep(0.2)
        with _connect(port) as s:
            assert _timed(s, _request("/score"))[0].startswith(b"HTTP/1.1 200")


def test_held_retries_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        publish()
        capsys.readouterr()
        s = stack.enter_context(_connect(port))
        for _ in range(2):
            assert _timed(s, _request("/score"))[0].startswith(b"HTTP/1.1 503")
        publish()
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(d.get("RetriesHeld") == [1.0] and d.get("RequestsShed") == [2.0] for d in documents)


def test_health_is_answered_by_a_full_worker() -> None:
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        s = stack.enter_context(_connect(port))
        for path in ("/health", "/ready", "/score"):
            s.sendall(_request(path, method="GET"))
        assert [_read_response(s)[0][:12] for _ in range(3)] == [b"HTTP/1.1 200", b"HTTP/1.1 200", b"HTTP/1.1 503"]


def test_an_explained_score_takes_more_places_than_a_plain_one() -> None:
    assert EXPLAINED_COST > 1
    with gate_server(limit=EXPLAINED_COST) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)  # one place taken: an explanation no longer fits, a plain score does
        s = stack.enter_context(_connect(port))
        s.sendall(_request("/score?explain=true"))
        assert _read_response(s)[0].startswith(b"HTTP/1.1 503")
        s.sendall(_request("/score?explain=false"))
        assert _read_response(s)[0].startswith(b"HTTP/1.1 200")


def test_an_idle_worker_takes_a_request_dearer_than_its_limit() -> None:
    with gate_server(limit=1) as (port, _gate), _connect(port) as s:
        s.sendall(_request("/score?explain=true"))
        assert _read_response(s)[0].startswith(b"HTTP/1.1 200")


def test_shed_requests_are_counted_in_the_requests_shed_metric(capsys: pytest.CaptureFixture[str]) -> None:
    with gate_server(limit=1) as (port, _gate), ExitStack() as stack:
        _hold(port, stack)
        publish()  # start a clean window
        capsys.readouterr()
        s = stack.enter_context(_connect(port))
        for _ in range(3):
            s.sendall(_request("/score"))
            assert _read_response(s)[0].startswith(b"HTTP/1.1 503")
        publish()
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(d.get("RequestsShed") == [3.0] for d in documents)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"explain=true", True),
        (b"reasons=3&explain=1", True),
        (b"explain=YES", True),
        (b"explain=on", True),
        (b"explain=t", True),
        (b"explain=false", False),
        (b"explain=", False),
        (b"explained=true", False),
        (b"", False),
    ],
)
def test_which_requests_are_explained(query: bytes, expected: bool) -> None:
    assert explained(query) is expected


# --- the setting ---


def test_limit_is_derived_from_cpus_and_workers() -> None:
    one_each = Settings(workers=0).in_flight_limit()
    assert one_each >= 8
    assert Settings(workers=0, max_in_flight=5).in_flight_limit() == 5
    assert Settings(workers=64).in_flight_limit() <= one_each
    assert Settings(workers=64).in_flight_limit() >= 1


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_an_unusable_limit_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MAX_IN_FLIGHT", value)
    with pytest.raises(ValidationError, match="max_in_flight"):
        Settings()


def test_an_admission_needs_room_for_one_request() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(0)
