"""How the ECS entry point runs uvicorn: the server options and the worker processes, in
one place shared by `python -m lambda_app` and the benchmarks' framework floor so both run
alike."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lambda_app.runtime.shed import Admission, SheddingProtocol
from lambda_app.settings import Settings, get_settings
from lambda_app.startup import pause_collector


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for each request's head.

    uvicorn has no header timeout, and any byte resets its keep-alive timer, so a client
    trickling a header a byte at a time (slowloris) would hold its connection forever.
    Here the request line and headers must be complete within `request_timeout_s` of
    the connection opening or the previous response ending; the body has its own
    deadline in the app (lambda_app.middleware.deadlines)."""

    head_timeout_s: float = 30.0  # the settings' request_timeout_s: see server_options
    # The deadline is a time the timer checks, not a timer per request: a timer made and
    # cancelled for every request was a large part of what a refused request cost.
    _head_deadline_at: float | None = None
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._head_deadline_at = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline_at = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._head_deadline_at = self.loop.time() + self.head_timeout_s
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline_at, self._check_head)

    def _check_head(self) -> None:
        self._head_timer = None
        deadline = self._head_deadline_at
        if deadline is None or self.transport.is_closing():
            return  # a request is being answered: the deadline is armed again after it
        if self.loop.time() < deadline:
            self._head_timer = self.loop.call_at(deadline, self._check_head)
        else:
            self.transport.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments, less the app and the worker count."""
    return dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # ECS stops a task with SIGTERM and waits (stopTimeout, 30 s by default) before
        # SIGKILL: finish what is in flight within that.
        timeout_graceful_shutdown=30,
        # The C parser (with the head deadline above and overload shedding,
        # lambda_app.runtime.shed) and event loop; "auto" would quietly fall back to the slow
        # pure-Python ones if they were missing. uvloop, with asyncio's accept loop
        # (lambda_app.runtime.accept). Each worker process calls this: an Admission each.
        http=type(
            "ServiceProtocol",
            (HeadTimeoutProtocol, SheddingProtocol),
            {
                "head_timeout_s": settings.request_timeout_s,
                "admission": Admission(settings.in_flight_limit(), settings.root_path),
            },
        ),
        loop="lambda_app.runtime.accept:GreedyAcceptLoop",
        # RequestContext logs one structured line per request already.
        access_log=False,
        timeout_keep_alive=5,
        backlog=2048,
    )


# A worker that dies sooner than this after starting is broken, not unlucky: restarting it
# would only loop, so the server stops and lets ECS replace the task.
_STEADY_S = 10.0


def serve(app: str, settings: Settings, workers: int, factory: bool = True) -> int:
    """Serve `app` (an import string) in `workers` processes, each with a listening socket
    of its own on the same port (SO_REUSEPORT), so the kernel spreads connections across
    them. uvicorn's own workers share one socket, and the first to wake accepts every
    connection waiting: a client with a few keep-alive connections (a load balancer, a
    connection pool) could keep one worker busy and leave the rest idle.

    Workers are forked from this process, which has imported the app already (the entry
    point verified the bundle with it), so a worker is ready in tens of milliseconds rather
    than repeating a second of imports: uvicorn's spawned workers made a two-worker task's
    cold start twice a one-worker one's. No event loop exists here yet and CatBoost has
    predicted nothing; the one other thread is the idle pool OpenBLAS starts when numpy is
    imported, which OpenBLAS stops before a fork and restarts when it is next needed.

    SIGTERM or SIGINT is passed on to every worker, which finishes what it has in flight
    (uvicorn's graceful shutdown); a worker that dies is replaced."""
    try:
        _check_port_free(settings)
    except OSError as e:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    fork = multiprocessing.get_context("fork")
    gc.freeze()  # what the workers share stays shared: the collector never writes to its pages

    def start() -> tuple[Any, float]:
        process = fork.Process(target=_worker, args=(app, factory), daemon=False)
        process.start()
        return process, time.monotonic()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    running = [start() for _ in range(workers)]
    status = _supervise(running, start, stop)
    for process, _ in running:
        if process.exitcode is None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + server_options(settings)["timeout_graceful_shutdown"] + 5
    for process, _ in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            process.kill()
    return status


def _supervise(running: list[tuple[Any, float]], start: Callable[[], tuple[Any, float]], stop: threading.Event) -> int:
    """Replace workers that die, until told to stop (0) or one dies at start-up (1)."""
    while not stop.wait(0.2):
        for i, (process, started) in enumerate(running):
            if process.exitcode is None:
                continue
            if time.monotonic() - started < _STEADY_S:
                print(f"error: a worker exited with code {process.exitcode} at start-up; stopping", file=sys.stderr)
                return 1
            print(f"a worker exited with code {process.exitcode}; starting another", file=sys.stderr)
            running[i] = start()
    return 0


def _check_port_free(settings: Settings) -> None:
    """Bind once without SO_REUSEPORT: fails if anything holds the port, including another
    copy of this server, which SO_REUSEPORT would otherwise let share it unnoticed."""
    with _socket(settings, reuse_port=False):
        pass


def _socket(settings: Settings, reuse_port: bool) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _worker(app: str, factory: bool) -> None:
    # The supervisor's handlers came with the fork: until uvicorn installs its own, a signal
    # should stop a worker that has nothing in flight yet.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pause_collector()  # until the app is built: lambda_app.startup says why
    settings = get_settings()
    # Bound now, listening once uvicorn has loaded the app: until then the kernel sends this
    # worker no connections (a restarted worker would otherwise queue them behind its start-up).
    sock = _socket(settings, reuse_port=True)
    uvicorn.Server(uvicorn.Config(app, factory=factory, **server_options(settings))).run(sockets=[sock])
