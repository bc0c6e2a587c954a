"""Faults at start-up and shutdown, with real `python -m lambda_app` processes on loopback.

A bad model bundle (missing, truncated, tampered, for another schema, an S3 location that
does not exist) stops start-up: the process exits non-zero with a clear message on stderr
and never listens. SIGTERM (how ECS stops a task) lets in-flight requests finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from lambda_app.core.bundle import MANIFEST
from lambda_app.core.schema import EXAMPLE_APPLICANT
from lambda_app.settings import get_settings
from tests.lambda_app.servers import accepts, free_port, running, start


def _manifest(b: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((b / MANIFEST).read_text())
    return doc


def _rewrite_manifest(b: Path, **changes: Any) -> None:
    (b / MANIFEST).write_text(json.dumps({**_manifest(b), **changes}))


def _truncate_model(b: Path) -> None:
    model = b / "model.cbm"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


def _truncate_model_keep_checksum_true(b: Path) -> None:
    """Truncated, and the manifest's checksum updated to match: CatBoost itself must refuse it."""
    _truncate_model(b)
    _rewrite_manifest(b, model_sha256=hashlib.sha256((b / "model.cbm").read_bytes()).hexdigest())


def _tamper_model(b: Path) -> None:
    data = bytearray((b / "model.cbm").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (b / "model.cbm").write_bytes(bytes(data))


FAULTS: dict[str, tuple[Callable[[Path], object], str]] = {
    "missing bundle": (lambda b: shutil.rmtree(b), "manifest.json is missing"),
    "missing model file": (lambda b: (b / "model.cbm").unlink(), "has no model.cbm"),
    "truncated model file": (_truncate_model, "does not match the checksum"),
    "truncated model, checksum rewritten": (_truncate_model_keep_checksum_true, "CatBoost cannot read"),
    "tampered model file": (_tamper_model, "does not match the checksum"),
    "truncated manifest": (lambda b: (b / MANIFEST).write_text((b / MANIFEST).read_text()[:200]), "unreadable"),
    "bundle for another schema": (lambda b: _rewrite_manifest(b, schema_sha256="0" * 64), "different applicant schema"),
    "bundle format from the future": (lambda b: _rewrite_manifest(b, format=99), "not supported"),
    "features out of order": (
        lambda b: _rewrite_manifest(b, features=list(reversed(_manifest(b)["features"]))),
        "do not match its manifest",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_bad_bundle_stops_start_up_before_listening(bundle_dir: Path, tmp_path: Path, fault: str) -> None:
    damage, message = FAULTS[fault]
    bundle = Path(shutil.copytree(bundle_dir, tmp_path / "bundle"))
    damage(bundle)
    port = free_port()
    proc = start(bundle, port, WORKERS="2")
    listened = False
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        listened |= accepts(port)
    if proc.poll() is None:
        proc.kill()
        pytest.fail("server kept running on a bad bundle")
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 2, stderr
    assert message in stderr and stderr.startswith("error: "), stderr
    assert "Traceback" not in stderr
    assert not listened and not accepts(port)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://no-such-bucket/loan-risk/v1", "NoSuchBucket"),
        ("s3://risk-models/loan-risk/v404", "manifest.json is missing"),
    ],
)
def test_s3_bundle_that_does_not_exist_stops_start_up(
    s3: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uri: str,
    message: str,
) -> None:
    """In process, because moto's S3 lives in this process: the entry point's main() is what
    `python -m lambda_app` runs, and the server is never started."""
    import lambda_app.__main__ as entry

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn was started on a bundle that does not exist")

    monkeypatch.setattr(uvicorn, "run", no_server)
    monkeypatch.setenv("MODEL_URI", uri)
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    try:
        assert entry.main() == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and uri in err


def _partial_batch(port: int, body: bytes, results: list[str]) -> threading.Event:
    """A request whose headers and first half are sent now, and the rest when the returned
    event is set: it is in flight for as long as the test wants."""
    go_on = threading.Event()
    half = len(body) // 2

    def client() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.sendall(
                    b"POST /v1/score/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body[:half]
                )
                go_on.wait(30)
                s.sendall(body[half:])
                reply = b""
                while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
            status = reply.split(b" ", 2)[1].decode() if reply else "no reply"
            results.append(status if b'"scored":200' in reply or status != "200" else "200 but not all scored")
        except OSError as e:
            results.append(type(e).__name__)

    threading.Thread(target=client, daemon=True).start()
    return go_on


def test_sigterm_lets_in_flight_requests_finish(bundle_dir: Path) -> None:
    """ECS sends SIGTERM and waits before SIGKILL: requests already being received or
    scored must be answered before the process exits."""
    body = json.dumps({"applicants": [EXAMPLE_APPLICANT] * 200}).encode()
    with running(bundle_dir, WORKERS="2") as (proc, url):
        port = int(url.rsplit(":", 1)[1])
        results: list[str] = []
        in_flight = [_partial_batch(port, body, results) for _ in range(8)]
        time.sleep(1.0)  # every request's head has arrived and its body is half read
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert proc.poll() is None, "exited with requests in flight"
        # (Each worker stops listening when the signal reaches it; ECS deregisters a task
        # from its load balancer before SIGTERM, so no new requests are routed to it by then.)
        for go_on in in_flight:
            go_on.set()
        assert proc.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while len(results) < len(in_flight) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert results == ["200"] * len(in_flight), results


def test_sigterm_when_idle_exits_promptly(bundle_dir: Path) -> None:
    with running(bundle_dir, WORKERS="2") as (proc, _url):
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
    assert isinstance(proc, subprocess.Popen)


@pytest.mark.parametrize(
    ("env", "named"), [({"PORT": "eighty"}, "PORT='eighty'"), ({"WORKERS": "-1", "MAX_REASONS": "0"}, "WORKERS='-1'")]
)
def test_an_unusable_setting_stops_start_up_with_one_line(env: dict[str, str], named: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lambda_app"], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unusable setting ") and named in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
