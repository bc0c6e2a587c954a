"""What every benchmark shares: the model bundle, sample applicants, server processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from lambda_app.core.schema import EXAMPLE_APPLICANT, FEATURES

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = Path(os.environ.get("MODEL_URI", ROOT / "models" / "current"))


def lambda_environment(sampled: bool = False) -> dict[str, str]:
    """What Lambda puts in a function's environment that the libraries read: with it the X-Ray
    SDK takes its Lambda path (no sampling rules fetched, a segment per invocation) and
    Powertools' tracer is on, as in production; without it both would skip work they do there.
    `sampled`: the invocation's trace header asks for a trace (by default X-Ray traces the first
    request each second and 5% of the rest, so a typical warm invocation is not sampled)."""
    return {
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "loan-risk",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_REGION": "us-east-1",
        "_X_AMZN_TRACE_ID": f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled={int(sampled)}",
    }


def applicants(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """n valid, varied applicants (the demo data generator, without its target)."""
    from training import synth

    frame = synth.generate(n, seed=seed)[list(FEATURES)]
    # Plain Python numbers (not numpy's), as a client's JSON would carry them.
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def example() -> dict[str, Any]:
    return dict(EXAMPLE_APPLICANT)


def median_us(fn: Callable[[], object], n: int = 2000, warmup: int = 200) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def process_tree(self) -> list[int]:
        """The server's pid and its worker processes' pids."""
        pids = [self.proc.pid]
        for pid in pids:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            pids.extend(int(c) for c in children)
        return pids

    def workers(self) -> list[int]:
        tree = self.process_tree()
        # With WORKERS>1 the supervisor (lambda_app.runtime.server.serve) forks the workers; any
        # child that is not a multiprocessing resource tracker is one.
        return [p for p in tree[1:] if "resource_tracker" not in _cmdline(p)] or tree[:1]

    def wait_listening(self, workers: int, timeout: float = 60) -> None:
        """Until every worker listens: /health answers as soon as the first one does, and
        until the others listen the kernel gives that one every connection."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.workers()
            if len(pids) == workers and all(_listening(pid) for pid in pids):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{workers} workers never listened")


def _listening(pid: int) -> bool:
    """Whether the process holds a listening TCP socket (its inode in /proc/net/tcp, state 0A)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                link = os.readlink(fd)
            except OSError:  # closed while we looked
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        rows = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(cols[3] == "0A" and cols[9] in inodes for cols in (line.split() for line in rows))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def status_kb(pid: int, field: str) -> int:
    """A /proc/PID/status figure in kB (VmRSS, VmHWM, ...); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def serve(
    module: str, env: Mapping[str, str] | None = None, workers: int = 2, log: Path | None = None
) -> Iterator[Server]:
    """`python -m MODULE` on a free loopback port, until the block ends (then SIGTERM)."""
    port = free_port()
    full_env = {
        **os.environ,
        "MODEL_URI": str(MODEL_DIR),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": str(workers),
        **(env or {}),
    }
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", module], env=full_env, cwd=ROOT, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, url)
        yield Server(proc, url)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


def wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not healthy in {timeout} s")


def to_json(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))
