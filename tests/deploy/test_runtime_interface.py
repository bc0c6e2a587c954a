"""The handler under the real Lambda runtime interface, on the host, no container: the Runtime
Interface Emulator (the binary the Lambda images use locally) runs `python -m awslambdaric
lambda_app.handler.handler`, exactly what the image's bootstrap runs, and API Gateway events are
posted to it as `sam local invoke` or the smoke test would."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_app.core.scoring import Scorer
from tests.deploy.infra import ROOT
from tests.lambda_app.servers import free_port

EVENTS = ROOT / "tests" / "events"
RIE = ROOT / ".venv" / "bin" / "aws-lambda-rie"


def rie_binary() -> str:
    found = str(RIE) if RIE.is_file() else shutil.which("aws-lambda-rie")
    if not found:
        pytest.skip(
            "aws-lambda-rie not found: `make test` fetches it from the aws-sam-cli wheel (PyPI); that failed here"
        )
    return found


@pytest.fixture(scope="module")
def emulator(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("awslambdaric", reason="awslambdaric is in the dev extra: make install")
    api_port, runtime_port = free_port(), free_port()
    env = {**os.environ, "MODEL_URI": str(bundle_dir), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}
    log = tmp_path_factory.mktemp("rie") / "emulator.log"  # a file, not a pipe nobody drains
    proc = subprocess.Popen(
        [
            rie_binary(),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{api_port}",
            "--runtime-api-address",
            f"127.0.0.1:{runtime_port}",
            sys.executable,
            "-m",
            "awslambdaric",
            "lambda_app.handler.handler",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{api_port}/2015-03-31/functions/function/invocations"
    deadline = time.monotonic() + 20
    while True:  # the emulator listens within milliseconds; the first invoke waits for init
        try:
            httpx.get(f"http://127.0.0.1:{api_port}/", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    f"emulator did not start: {proc.stdout.read().decode() if proc.stdout else ''}"
                ) from None
            time.sleep(0.05)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def invoke(url: str, event_file: str) -> dict[str, Any]:
    response = httpx.post(url, content=(EVENTS / event_file).read_bytes(), timeout=60)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def body(result: dict[str, Any]) -> dict[str, Any]:
    raw = result["body"]
    decoded: dict[str, Any] = json.loads(base64.b64decode(raw) if result.get("isBase64Encoded") else raw)
    return decoded


@pytest.mark.parametrize("event_file", ["rest_api_v1_score.json", "http_api_v2_score.json"])
def test_emulator_scores_api_gateway_events(
    emulator: str, scorer: Scorer, applicant: dict[str, object], event_file: str
) -> None:
    result = invoke(emulator, event_file)
    assert result["statusCode"] == 200, result
    scored = body(result)
    assert scored["risk_score"] == scorer.score([applicant])[0]
    assert scored["model_version"] == scorer.version


def test_emulator_answers_health_with_the_gateway_request_id(emulator: str) -> None:
    result = invoke(emulator, "http_api_v2_health.json")
    event = json.loads((EVENTS / "http_api_v2_health.json").read_text())
    assert result["statusCode"] == 200 and body(result)["status"] == "ok"
    assert result["headers"]["x-request-id"] == event["requestContext"]["requestId"]
