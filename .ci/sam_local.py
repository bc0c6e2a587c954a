#!/usr/bin/env python3
"""The README's SAM CLI commands, run for real: `sam build`, `sam local invoke` with every event
in tests/events/, and `sam local start-api` driven over HTTP on loopback.

No Docker engine here: the SAM CLI talks to podman's Docker-compatible API (`podman system
service` on a unix socket, with .ci/podman.sh's containers.conf and its local stand-in base
images), through DOCKER_HOST. Everything started here is stopped on the way out, on failure
and on SIGINT/SIGTERM too.

  sam_local.py [--sam PATH] [--port N]

Standard library only. Ends with one line `sam-local: N passed, N failed (T s)`; exit status 1
when anything failed. What SAM local does not emulate (API keys, usage plans, WAF, the
CodeDeploy rollout) is covered elsewhere: README, "SAM local".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
RUNDIR = Path("/dev/shm/loan-risk-podman")  # tmpfs, as .ci/podman.sh's run state
results: list[tuple[str, bool, str]] = []


def check(name: str, fn: Callable[[], str]) -> None:
    start = time.monotonic()
    try:
        detail, ok = fn(), True
    except Exception as e:  # report every failure and carry on
        detail, ok = f"{type(e).__name__}: {e}", False
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'} {name} ({time.monotonic() - start:.1f} s): {detail}", flush=True)


def podman_env() -> dict[str, str]:
    """.ci/podman.sh's configuration (containers.conf, storage.conf), as environment."""
    exports = subprocess.run(
        ["bash", str(ROOT / ".ci/podman.sh"), "env"], check=True, capture_output=True, text=True
    ).stdout
    env = {}
    for word in shlex.split(exports.removeprefix("export ")):
        key, _, value = word.partition("=")
        env[key] = value
    return env


def stop(proc: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM to the process group (the SAM CLI starts containers, podman conmon), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
    print(f"sam-local: stopped {name} (pid {proc.pid})", flush=True)


@contextmanager
def podman_service(env: dict[str, str]) -> Iterator[str]:
    RUNDIR.mkdir(parents=True, exist_ok=True)
    sock = RUNDIR / f"sam-{os.getpid()}.sock"
    log = open(RUNDIR / f"sam-{os.getpid()}.log", "wb")  # noqa: SIM115  # closed below
    proc = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{sock}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ping(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not answer on {sock}: {log.name}")
            time.sleep(0.2)
        print(f"sam-local: podman's Docker API on unix://{sock} (pid {proc.pid})", flush=True)
        yield f"unix://{sock}"
    finally:
        stop(proc, "podman system service")
        log.close()
        sock.unlink(missing_ok=True)
        if all(ok for _, ok, _ in results):  # kept when something failed: the service's own account
            Path(log.name).unlink(missing_ok=True)


def ping(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return b" 200 " in s.recv(200)
    except OSError:
        return False


def run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    print("sam-local: $ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")
    return proc


def lambda_response(stdout: str) -> dict[str, Any]:
    """`sam local invoke` prints the function's response as the last JSON line of stdout."""
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            value: dict[str, Any] = json.loads(line)
            return value
    raise ValueError(f"no response on stdout: {stdout[-500:]!r}")


def body_of(response: dict[str, Any]) -> str:
    raw = str(response.get("body", ""))
    return base64.b64decode(raw).decode() if response.get("isBase64Encoded") else raw


def invoke(sam: str, env: dict[str, str], event: Path) -> dict[str, Any]:
    proc = run([sam, "local", "invoke", "ScoreFunction", "-e", str(event)], env, timeout=300)
    response = lambda_response(proc.stdout)
    assert response.get("statusCode") == 200, f"statusCode {response.get('statusCode')}: {body_of(response)[:300]}"
    return response


def invoke_check(sam: str, env: dict[str, str], event: Path) -> Callable[[], str]:
    def fn() -> str:
        body = json.loads(body_of(invoke(sam, env, event)))
        if "score" in event.name:
            assert isinstance(body.get("risk_score"), float), body
            return f"200, risk_score {body['risk_score']}, model {body['model_version']}"
        assert body.get("status") == "ok" and body.get("model_version"), body
        return f"200, {body}"

    return fn


def docs_behind_the_stage(sam: str, env: dict[str, str], tmp: Path) -> Callable[[], str]:
    """GET /prod/docs as API Gateway's default endpoint sends it: the page must fetch
    /prod/openapi.json (start-api serves at the root, so only an event shows the stage)."""

    def fn() -> str:
        event = json.loads((EVENTS / "rest_api_v1_score.json").read_text())
        event.update(httpMethod="GET", path="/docs", resource="/docs", body=None, isBase64Encoded=False)
        event["pathParameters"] = None
        event["requestContext"].update(httpMethod="GET", path="/prod/docs", resourcePath="/docs", stage="prod")
        path = tmp / "rest_api_v1_docs.json"
        path.write_text(json.dumps(event))
        html = body_of(invoke(sam, env, path))
        assert "'/prod/openapi.json'" in html, html[:500]
        return "200, the docs page fetches /prod/openapi.json"

    return fn


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def applicant() -> dict[str, Any]:
    event = json.loads((EVENTS / "rest_api_v1_score.json").read_text())
    value: dict[str, Any] = json.loads(body_of(event))
    return value


def api_checks(base: str) -> list[tuple[str, Callable[[], str]]]:
    json_headers = {"Content-Type": "application/json"}

    def health() -> str:
        status, _, body = http("GET", f"{base}/health")
        assert status == 200 and json.loads(body)["status"] == "ok", (status, body[:200])
        return body.decode()

    def score() -> str:
        # No X-API-Key: SAM local does not enforce API keys (the deployed API answers 403).
        status, _, body = http("POST", f"{base}/v1/score", json.dumps(applicant()).encode(), json_headers)
        assert status == 200, (status, body[:300])
        result = json.loads(body)
        assert isinstance(result["risk_score"], float), result
        return f"200 without a key (not enforced locally), risk_score {result['risk_score']}"

    def batch() -> str:
        good, bad = applicant(), {**applicant(), "Age": -3}
        payload = json.dumps({"applicants": [good, bad]}).encode()
        status, _, body = http("POST", f"{base}/v1/score/batch", payload, json_headers)
        assert status == 200, (status, body[:300])
        result = json.loads(body)
        assert (result["scored"], result["failed"]) == (1, 1), result
        assert result["results"][1]["errors"][0]["field"] == "Age", result
        return "200, 1 scored and 1 refused with its field"

    def error() -> str:
        payload = json.dumps({**applicant(), "LoanPurpose": "Yacht"}).encode()
        status, kind, body = http("POST", f"{base}/v1/score", payload, json_headers)
        assert status == 422 and kind.startswith("application/problem+json"), (status, kind, body[:300])
        return f"422 {kind}: {json.loads(body)['detail'][:80]}"

    def page() -> str:
        status, kind, body = http("GET", f"{base}/", headers={"Accept": "text/html"})
        assert status == 200 and kind.startswith("text/html") and b"<form" in body, (status, kind, body[:200])
        return "200, the form page renders"

    def docs() -> str:
        status, _, body = http("GET", f"{base}/docs")
        assert status == 200, (status, body[:200])
        match = re.search(r"url: '([^']+)'", body.decode())
        assert match, body[:500]
        status, kind, spec = http("GET", base + match[1])
        assert status == 200 and "openapi" in json.loads(spec), (status, kind, spec[:200])
        return f"200, and the spec it names ({match[1]}) loads"

    def unrouted() -> str:
        status, _, _ = http("GET", f"{base}/wp-login.php")
        assert status == 403, status  # API Gateway's answer for a path the template does not route
        return "403, the function is never invoked"

    return [
        ("start-api GET /health", health),
        ("start-api POST /v1/score", score),
        ("start-api POST /v1/score/batch", batch),
        ("start-api POST /v1/score bad field", error),
        ("start-api GET / (page)", page),
        ("start-api GET /docs and its spec", docs),
        ("start-api GET /wp-login.php", unrouted),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def start_api(sam: str, env: dict[str, str], port: int) -> Iterator[str]:
    cmd = [sam, "local", "start-api", "--host", "127.0.0.1", "--port", str(port)]
    print("sam-local: $ " + " ".join(cmd), flush=True)
    log = tempfile.TemporaryFile()  # noqa: SIM115  # closed below
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"sam local start-api exited {proc.returncode}: {log.read()[-1500:].decode()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("sam local start-api not listening after 120 s") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc, "sam local start-api")
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sam", default=str(ROOT / ".venv-tools/bin/sam"), help="the SAM CLI (make tools)")
    parser.add_argument("--port", type=int, default=0, help="start-api port (default: a free one)")
    args = parser.parse_args()
    if not Path(args.sam).is_file():
        print(f"sam-local: no SAM CLI at {args.sam}; run `make tools`", file=sys.stderr)
        return 2
    if not (ROOT / "models/current/manifest.json").is_file():
        print("sam-local: no model bundle in models/current; run `make model`", file=sys.stderr)
        return 2
    # SIGTERM (a CI runner cancelling the job) unwinds like Ctrl-C: every `finally` stops its part.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    subprocess.run(["bash", str(ROOT / ".ci/podman.sh"), "bases"], check=True, stdout=subprocess.DEVNULL)
    env = {**os.environ, **podman_env(), "SAM_CLI_TELEMETRY": "0"}
    env["PATH"] = f"{Path(args.sam).parent}:{env['PATH']}"
    with ExitStack() as stack:
        env["DOCKER_HOST"] = stack.enter_context(podman_service(env))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        check("sam build", lambda: f"{len(run([args.sam, 'build'], env, timeout=1200).stdout)} bytes of output")
        if not results[-1][1]:
            return summary(started)
        for event in sorted(EVENTS.glob("*.json")):
            check(f"sam local invoke ScoreFunction -e tests/events/{event.name}", invoke_check(args.sam, env, event))
        check("sam local invoke ScoreFunction: /prod/docs", docs_behind_the_stage(args.sam, env, tmp))
        base = stack.enter_context(start_api(args.sam, env, args.port or free_port()))
        for name, fn in api_checks(base):
            check(name, fn)
    return summary(started)


def summary(started: float) -> int:
    failed = sum(1 for _, ok, _ in results if not ok)
    print(
        f"sam-local: {len(results) - failed} passed, {failed} failed ({time.monotonic() - started:.0f} s)", flush=True
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
