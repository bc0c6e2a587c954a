"""The ECS entry point's worker processes: connections spread across them, one server per
port, and a worker that dies is replaced (lambda_app.runtime.server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import httpx

from tests.lambda_app.servers import running, start


def _workers(proc: subprocess.Popen[bytes]) -> list[int]:
    """The server's worker processes: its Python children that serve (not multiprocessing's
    resource tracker)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [
        int(c)
        for c in children
        if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
    ]


def _sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        with suppress(OSError):  # closed while we looked
            count += os.readlink(fd).startswith("socket:")
    return count


def _listening(pid: int) -> bool:
    """Whether the process holds a listening TCP socket (its inode in /proc/net/tcp, state 0A)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    return any(cols[3] == "0A" and cols[9] in inodes for cols in (line.split() for line in table))


def _all_listening(proc: subprocess.Popen[bytes], n: int) -> list[int]:
    """The workers, once n of them listen (/health answers as soon as the first one does)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _workers(proc)
        if len(workers) == n and all(_listening(pid) for pid in workers):
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{n} workers never listened")


def _connections_per_worker(proc: subprocess.Popen[bytes], port: int, n: int = 16) -> dict[int, int]:
    """Open n keep-alive connections at once, as wrk or a load balancer does, and count
    how many each worker took."""
    workers = _workers(proc)
    before = {pid: _sockets(pid) for pid in workers}
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    try:
        for c in connections:
            c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in connections:
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        return {pid: _sockets(pid) - before[pid] for pid in workers}
    finally:
        for c in connections:
            c.close()


def test_connections_are_spread_across_the_workers(bundle_dir: Path) -> None:
    """With one shared socket (uvicorn's workers), the first worker awake took them all."""
    with running(bundle_dir, WORKERS="2") as (proc, url):
        _all_listening(proc, 2)
        taken = _connections_per_worker(proc, int(url.rsplit(":", 1)[1]))
        assert len(taken) == 2 and sum(taken.values()) == 16 and min(taken.values()) >= 1, taken


def test_a_second_server_on_the_same_port_is_refused(bundle_dir: Path) -> None:
    with running(bundle_dir, WORKERS="2") as (_proc, url):
        port = int(url.rsplit(":", 1)[1])
        second = start(bundle_dir, port, WORKERS="2")
        assert second.wait(timeout=60) == 2
        stderr = second.stderr.read().decode() if second.stderr else ""
        assert stderr.startswith("error: cannot listen on") and "Address already in use" in stderr
        assert httpx.get(f"{url}/health").status_code == 200  # the first one is untouched


def test_a_worker_that_dies_is_replaced(bundle_dir: Path) -> None:
    with running(bundle_dir, WORKERS="2") as (proc, url):
        victim, survivor = _all_listening(proc, 2)
        time.sleep(10.5)  # past start-up: a worker dying sooner stops the server instead
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = _workers(proc)
            if len(workers) == 2 and victim not in workers:
                break
            time.sleep(0.2)
        assert survivor in workers and victim not in workers and len(workers) == 2
        [replacement] = set(workers) - {survivor}
        _all_listening(proc, 2)  # it listens once it has loaded the model
        taken = _connections_per_worker(proc, int(url.rsplit(":", 1)[1]))
        assert taken[replacement] >= 1 and taken[survivor] >= 1, taken
        assert proc.poll() is None
