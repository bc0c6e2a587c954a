"""Limits over real HTTP: the largest body and batch are settings, answered 413 without
reading a body whole; slow clients (a slow body, a slowloris head) cannot hold a
connection past `request_timeout_s`, nor keep the server from answering others."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_app.core.schema import EXAMPLE_APPLICANT
from tests.lambda_app.servers import running

TIMEOUT_S = 1.5
MAX_BODY = 100_000


@pytest.fixture(scope="module")
def server(bundle_dir: Path) -> Iterator[str]:
    env = {"REQUEST_TIMEOUT_S": str(TIMEOUT_S), "MAX_BODY_BYTES": str(MAX_BODY), "MAX_BATCH_ROWS": "50"}
    with running(bundle_dir, **env) as (_proc, url):
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_reply(s: socket.socket) -> bytes:
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
        if b"\r\n\r\n" in reply and reply.rstrip().endswith(b"}"):
            break
    return reply


def test_declared_oversized_body_is_refused_from_the_headers(server: str) -> None:
    with _connect(server) as s:
        started = time.monotonic()
        s.sendall(
            b"POST /v1/score/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        )
        reply = _read_reply(s)
    assert reply.startswith(b"HTTP/1.1 413") and b"application/problem+json" in reply
    assert time.monotonic() - started < 1.0


def test_streamed_body_is_cut_off_at_the_limit(server: str) -> None:
    """Chunked, no Content-Length: the server counts as it reads and answers 413 once the
    limit is passed, long before the (here 100x larger) body would have been sent."""
    chunk = b"x" * 10_000
    sent = 0
    with _connect(server) as s:
        s.sendall(
            b"POST /v1/score/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        s.settimeout(0.05)
        reply = b""
        for _ in range(1000):
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                reply += s.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # closed after answering
                break
            if reply:
                break
        s.settimeout(5)
        with contextlib.suppress(OSError):  # the server may close once it has answered
            reply += _read_reply(s)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 10 * MAX_BODY


def test_batch_over_the_row_limit_is_413(server: str) -> None:
    r = httpx.post(f"{server}/v1/score/batch", json={"applicants": [EXAMPLE_APPLICANT] * 51})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert httpx.post(f"{server}/v1/score/batch", json={"applicants": [EXAMPLE_APPLICANT] * 50}).status_code == 200


def test_slow_body_gets_408_at_the_deadline(server: str) -> None:
    body = json.dumps(EXAMPLE_APPLICANT).encode()
    with _connect(server) as s:
        started = time.monotonic()
        s.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:50]
        )
        reply = _read_reply(s)  # the rest never comes
        elapsed = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"application/problem+json" in reply and b"connection: close" in reply.lower()
    assert TIMEOUT_S - 0.1 <= elapsed < TIMEOUT_S + 2


def _slowloris(url: str, seconds: float) -> tuple[float, bool]:
    """Trickles a request head a byte at a time; returns when the server closed the
    connection, and whether it did so within `seconds`."""
    with _connect(url) as s:
        started = time.monotonic()
        s.sendall(b"POST /v1/score HTTP/1.1\r\nHost: t\r\n")
        s.settimeout(0.2)
        while time.monotonic() - started < seconds:
            try:
                s.sendall(b"X")
                if s.recv(1024) == b"":
                    return time.monotonic() - started, True
            except TimeoutError:
                continue
            except OSError:  # reset: closed too
                return time.monotonic() - started, True
    return seconds, False


def test_slowloris_head_is_cut_off(server: str) -> None:
    elapsed, closed = _slowloris(server, TIMEOUT_S + 5)
    assert closed, "the server kept a trickling request head open"
    assert TIMEOUT_S - 0.1 <= elapsed < TIMEOUT_S + 2


def test_slow_clients_do_not_starve_others(server: str, applicant: dict[str, Any]) -> None:
    """Fifty connections trickling heads and bodies, and a normal request is still answered at once."""
    hogs = []
    for i in range(50):
        s = _connect(server)
        s.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: t\r\n"
            if i % 2
            else b"POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Length: 900\r\n\r\n{"
        )
        hogs.append(s)
    try:
        started = time.monotonic()
        r = httpx.post(f"{server}/v1/score", json=applicant, timeout=5)
        assert r.status_code == 200 and time.monotonic() - started < 1.0
    finally:
        for s in hogs:
            s.close()
