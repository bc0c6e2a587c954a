""".ci/smoke.py, the deploy workflow's smoke test, against the ASGI server with API keys on, as
the ECS service runs: it must pass on a healthy service and fail on a wrong key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.infra import ROOT
from tests.lambda_app.servers import free_port

KEY = "a-test-key"


@pytest.fixture(scope="module")
def keyed_server(bundle_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MODEL_URI": str(bundle_dir), "PORT": str(port), "WORKERS": "1", "API_KEYS": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "lambda_app"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("server did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "smoke.py"), *args], capture_output=True, text=True, timeout=120
    )


def test_smoke_passes_on_a_healthy_service(keyed_server: str) -> None:
    result = smoke("url", keyed_server, "--api-key", KEY, "--unauthorized", "401", "--retry-seconds", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("smoke: 4 passed, 0 failed")
    assert "risk_score" in result.stdout


def test_smoke_fails_on_a_wrong_key(keyed_server: str) -> None:
    result = smoke("url", keyed_server, "--api-key", "wrong", "--unauthorized", "401", "--retry-seconds", "0")
    assert result.returncode == 1
    assert result.stdout.strip().endswith("smoke: 3 passed, 1 failed")
