#!/usr/bin/env python3
"""Smoke tests for the built images and for a deployed stack. Standard library only, so it
runs on a bare CI runner or this machine's system Python.

  smoke.py images [--engine podman|docker] [--ecs-image TAG] [--lambda-image TAG]
      ECS image: starts it read-only as its non-root user, waits for /health, scores one
      applicant with an API key (and is refused without one).
      Lambda image: starts it read-only as an unprivileged user (as Lambda does) under the
      Runtime Interface Emulator, invokes it with the API Gateway events in tests/events/.
  smoke.py url BASE_URL --api-key KEY [--unauthorized 401|403]
      A deployed endpoint: /health, one score with the key, and a refusal without it.

The applicant is the one in tests/events/ (from lambda_app.core.schema.EXAMPLE_APPLICANT).
Ends with one line `smoke: N passed, N failed`; exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
RIE_PORT = 8080  # fixed inside the Lambda image's emulator; with host networking, a host port
SMOKE_KEY = "smoke-test-key"
results: list[tuple[str, bool, str]] = []


def check(name: str, fn: Callable[[], str]) -> None:
    start = time.monotonic()
    try:
        detail = fn()
        ok = True
    except Exception as e:  # a smoke test reports every failure and carries on
        detail, ok = f"{type(e).__name__}: {e}", False
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'} {name} ({time.monotonic() - start:.1f} s): {detail}", flush=True)


def applicant_json() -> bytes:
    event = json.loads((EVENTS / "http_api_v2_score.json").read_text())
    body = event["body"]
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(url: str, seconds: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("container exited")
        try:
            if http("GET", url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not answering 200 after {seconds:.0f} s")


def score_checks(base: str, api_key: str, unauthorized: int, retry_s: float = 0) -> None:
    def health() -> str:
        status, body = http("GET", f"{base}/health")
        assert status == 200, f"status {status}: {body[:200]!r}"
        return body.decode()

    def page() -> str:
        status, body = http("GET", f"{base}/", headers={"Accept": "text/html"})
        assert status == 200 and b"<form" in body, f"status {status}: {body[:200]!r}"
        return "the form page renders"

    def score() -> str:
        headers = {"Content-Type": "application/json", "X-API-Key": api_key}
        status, body = http("POST", f"{base}/v1/score", applicant_json(), headers)
        assert status == 200, f"status {status}: {body[:300]!r}"
        result = json.loads(body)
        assert isinstance(result.get("risk_score"), float), result
        return f"risk_score {result['risk_score']}, band {result['risk_band']}"

    def refused() -> str:
        status, _ = http("POST", f"{base}/v1/score", applicant_json(), {"Content-Type": "application/json"})
        assert status == unauthorized, f"status {status}, expected {unauthorized}"
        return f"{status} without a key"

    for name, fn in (
        (f"{base} /health", health),
        (f"{base} / (web page, no key)", page),
        (f"{base} /v1/score with key", score),
        (f"{base} /v1/score without key", refused),
    ):
        check(name, retrying(fn, retry_s))


def retrying(fn: Callable[[], str], seconds: float) -> Callable[[], str]:
    """A fresh deployment can take a minute to answer everywhere (a new API key reaches API
    Gateway's edge a little after the stack is complete)."""

    def attempt() -> str:
        deadline = time.monotonic() + seconds
        while True:
            try:
                return fn()
            except (AssertionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(5)

    return attempt


class Engine:
    def __init__(self, name: str) -> None:
        self.name = name
        if name == "podman":
            # The machine without a Docker engine: podman as set up by .ci/podman.sh.
            exports = subprocess.run(
                ["bash", str(ROOT / ".ci/podman.sh"), "env"], check=True, capture_output=True, text=True
            ).stdout
            for word in shlex.split(exports.removeprefix("export ")):
                key, _, value = word.partition("=")
                os.environ[key] = value
            subprocess.run(["bash", str(ROOT / ".ci/podman.sh"), "setup"], check=True)
            self.run_cmd = ["podman", "run", "--pull=never", "--network", "host"]
        else:
            self.run_cmd = ["docker", "run", "--network", "host"]

    def start(self, name: str, image: str, *args: str) -> None:
        self.remove(name)
        subprocess.run([*self.run_cmd, "-d", "--name", name, *args, image], check=True, stdout=subprocess.DEVNULL)

    def running(self, name: str) -> bool:
        out = subprocess.run(
            [self.name, "inspect", "--format", "{{.State.Running}}", name], capture_output=True, text=True
        ).stdout
        return out.strip() == "true"

    def logs(self, name: str) -> str:
        out = subprocess.run([self.name, "logs", name], capture_output=True, text=True)
        return out.stdout + out.stderr

    def remove(self, name: str) -> None:
        subprocess.run([self.name, "rm", "-f", name], capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def smoke_ecs(engine: Engine, image: str) -> None:
    name, port = "loan-risk-smoke-ecs", free_port()
    # Read-only root file system and the image's own non-root user, as in the ECS task definition.
    engine.start(name, image, "--read-only", "-e", f"PORT={port}", "-e", f"API_KEYS={SMOKE_KEY}")
    try:
        base = f"http://127.0.0.1:{port}"

        def starts() -> str:
            wait_for(f"{base}/health", 90, lambda: engine.running(name))
            return "healthy"

        check(f"ECS image {image} starts", starts)
        score_checks(base, SMOKE_KEY, unauthorized=401)
    finally:
        if not all(ok for _, ok, _ in results):
            print(engine.logs(name)[-4000:], file=sys.stderr)
        engine.remove(name)


def smoke_lambda(engine: Engine, image: str) -> None:
    name = "loan-risk-smoke-lambda"
    if port_in_use(RIE_PORT):
        results.append(("Lambda emulator port", False, f"port {RIE_PORT} is taken"))
        print(f"FAIL the Lambda emulator needs port {RIE_PORT}, which is taken", flush=True)
        return
    # Lambda runs functions as an unprivileged user on a read-only file system (bar /tmp).
    engine.start(name, image, "--read-only", "--tmpfs", "/tmp", "--user", "993:990")
    invoke = f"http://127.0.0.1:{RIE_PORT}/2015-03-31/functions/function/invocations"
    try:
        for event_file in ("rest_api_v1_score.json", "http_api_v2_score.json"):

            def invoke_event(event_file: str = event_file) -> str:
                deadline = time.monotonic() + 60
                while True:  # the emulator starts in well under a second, the first invoke does the cold start
                    try:
                        status, raw = http("POST", invoke, (EVENTS / event_file).read_bytes())
                        break
                    except OSError:
                        if time.monotonic() > deadline or not engine.running(name):
                            raise
                        time.sleep(0.3)
                assert status == 200, f"emulator status {status}: {raw[:300]!r}"
                response = json.loads(raw)
                assert response.get("statusCode") == 200, response
                body = response["body"]
                result = json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)
                assert isinstance(result.get("risk_score"), float), result
                return f"statusCode 200, risk_score {result['risk_score']}"

            check(f"Lambda image {image} via RIE: {event_file}", invoke_event)
    finally:
        if not all(ok for _, ok, _ in results):
            print(engine.logs(name)[-4000:], file=sys.stderr)
        engine.remove(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    images = sub.add_parser("images")
    images.add_argument("--engine", choices=["podman", "docker"], default="docker")
    images.add_argument("--ecs-image", default="loan-risk-ecs:local")
    images.add_argument("--lambda-image", default="loan-risk-lambda:local")
    url = sub.add_parser("url")
    url.add_argument("base_url")
    url.add_argument("--api-key", required=True)
    url.add_argument("--unauthorized", type=int, default=403, help="status without a key: 403 API Gateway, 401 the app")
    url.add_argument("--retry-seconds", type=float, default=120, help="keep retrying a failing check this long")
    args = parser.parse_args()

    if args.mode == "images":
        if args.engine == "podman":
            print(
                "NOTE: images built FROM local stand-in bases (Debian bookworm + Python 3.11, see .ci/podman.sh);"
                " the real Lambda base is Amazon Linux. GitHub CI repeats this with docker and the real bases.",
                flush=True,
            )
        engine = Engine(args.engine)
        smoke_ecs(engine, args.ecs_image)
        smoke_lambda(engine, args.lambda_image)
    else:
        score_checks(args.base_url.rstrip("/"), args.api_key, args.unauthorized, args.retry_seconds)

    failed = sum(not ok for _, ok, _ in results)
    print(f"smoke: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
