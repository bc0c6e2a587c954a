"""The ECS entry point (`python -m lambda_app`) as a real process on loopback, for the tests
that need real sockets, signals and exits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(model_uri: str | Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    full_env = {
        **os.environ,
        "MODEL_URI": str(model_uri),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    # stdout (JSON request logs, EMF metrics) is not piped: nobody reads it while the server
    # runs, and a full pipe would block the server. Start-up errors go to stderr.
    return subprocess.Popen(
        [sys.executable, "-m", "lambda_app"], env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server at {url} not healthy in {timeout} s")


@contextmanager
def running(model_uri: str | Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = start(model_uri, port, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def accepts(port: int) -> bool:
    """Whether anything accepts connections on this loopback port right now."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
