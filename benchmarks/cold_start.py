"""Cold start: a new process to its first successful score, for both entry points, with
the development venv or (python=) the trimmed serving environment of deps_size."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.common import MODEL_DIR, ROOT, example, free_port, lambda_environment

_LAMBDA = """
import json, os, sys
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
from lambda_app.handler import handler
class C: function_name = "f"; memory_limit_in_mb = 1024; aws_request_id = "r"; invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
ok = handler(json.load(open(sys.argv[1])), C())["statusCode"] == 200
os._exit(0 if ok else 1)  # skip interpreter teardown: Lambda freezes, it does not exit
"""


def lambda_seconds(runs: int = 5, python: str = sys.executable, cwd: Path = ROOT) -> float:
    event = ROOT / "tests" / "events" / "http_api_v2_score.json"
    # A new environment's first invocation; sampled, as X-Ray traces the first request each second.
    env = {**os.environ, **lambda_environment(sampled=True), "MODEL_URI": str(MODEL_DIR.resolve())}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", _LAMBDA, str(event)], env=env, cwd=cwd, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bare_python_seconds(runs: int = 5, python: str = sys.executable, cwd: Path = ROOT) -> float:
    """The floor: a new interpreter that runs nothing (`python -c pass`), site packages loaded."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], cwd=cwd, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ecs_seconds(runs: int = 5, python: str = sys.executable, cwd: Path = ROOT) -> float:
    """`python -m lambda_app` as the ECS image runs it (WORKERS=0: a worker per CPU), polled
    with a score until one succeeds."""
    body = json.dumps(example())
    times = []
    for _ in range(runs):
        port = free_port()
        env = {
            **os.environ,
            "MODEL_URI": str(MODEL_DIR.resolve()),
            "PORT": str(port),
            "WORKERS": "0",
            "HOST": "127.0.0.1",
        }
        started = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "lambda_app"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(timeout=1, headers={"content-type": "application/json"}) as client:
                while True:
                    try:
                        if client.post(f"http://127.0.0.1:{port}/v1/score", content=body).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if proc.poll() is not None or time.perf_counter() - started > 60:
                        raise RuntimeError("server did not score within 60 s")
                    time.sleep(0.005)
            times.append(time.perf_counter() - started)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return statistics.median(times)
