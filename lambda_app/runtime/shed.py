"""Overload shedding in the HTTP protocol: past a worker's in-flight limit, a request is
refused with a ready-made 503 the moment its head is parsed, instead of being queued.

A queued request is worse than a refused one: behind a load balancer the client can retry
later or elsewhere, while queueing makes every request slow, the accepted ones included,
until clients time out. Refusing in the ASGI app cost a worker about what scoring did (a
task, the middleware stack, the response machinery), so against clients that retry at once
most of a flooded worker went to refusals. Here a refusal is a comparison and one write of
bytes rendered at start-up: no ASGI task, and the body is never handed to anyone.

A client that asks again on the same connection before the Retry-After it was given, while
the worker is still full, is refused again only once that time has come (the request is held,
not read further, and costs nothing meanwhile). Answered at once, clients that retry at once
turned all of a flooded worker's spare time into refusals and the accepted requests starved:
pacing them to the wait the service asked for keeps the worker on the accepted ones. The next
request on that connection is judged afresh. Clients that wait out Retry-After never meet the
hold. Behind a load balancer, whose connections carry many clients'
requests, another client's request may be held in their place: it is answered within
Retry-After, with the 503 it would most likely have had at once.

On Lambda each environment gets one request per invocation and no server runs, so nothing
is shed there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from lambda_app.api.problems import problem_response
from lambda_app.telemetry import count

# Retry-After takes whole seconds: one is the shortest wait it can ask for, and a burst that
# overloads a worker has usually passed by then.
RETRY_AFTER_S = 1
# A load balancer's health check must pass while the task is merely busy: were it shed, the
# load balancer would mark a loaded but healthy task unhealthy and ECS would replace it,
# taking capacity away exactly when it is short. Both routes are cheap (/ready scores one
# canary applicant), so they are neither counted nor shed.
EXEMPT = ("/health", "/ready")
# An explained score takes a place of this many plain ones: it costs a worker more (its reasons
# are worked out field by field), though it is batched on the event loop like a plain score. At
# two, the default limit takes 16 explanations a worker: as many as 16 clients can put on one
# worker when the kernel spreads their connections unevenly, so explanations are not shed at the
# load two workers are sized for.
EXPLAINED_COST = 2
# pydantic's reading of a true boolean query parameter (FastAPI's `explain`).
_TRUE = frozenset({b"1", b"true", b"t", b"on", b"yes", b"y"})

_App = Callable[[Any, Any, Any], Awaitable[None]]


def explained(query: bytes) -> bool:
    """Whether a query string asks for reasons (`explain=true` and FastAPI's other spellings)."""
    if b"explain" not in query:
        return False
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == b"explain":
            return value.lower() in _TRUE
    return False


class Admission:
    """One worker's requests in progress, in plain-score places, against its limit; and the
    refusal it answers with.

    The refusal carries no `instance` and no request id: under overload refusals are most of
    what a worker writes, so they are rendered once (and not logged one by one either; the
    RequestsShed metric counts them)."""

    def __init__(self, limit: int, root_path: str = "") -> None:
        if limit < 1:
            raise ValueError(f"an in-flight limit must be at least 1, not {limit}")
        self.limit = limit
        self.load = 0  # places taken
        prefix = root_path.rstrip("/")
        self.exempt = frozenset(p for path in EXEMPT for p in (path, prefix + path))
        self.exempt_raw = frozenset(p.encode() for p in self.exempt)
        refusal = problem_response(
            None,
            503,
            f"The service is at capacity ({limit} requests in progress); retry after {RETRY_AFTER_S} s.",
            headers={"retry-after": str(RETRY_AFTER_S)},
        )
        head = b"HTTP/1.1 503 Service Unavailable\r\n" + b"".join(
            name + b": " + value + b"\r\n" for name, value in refusal.raw_headers
        )
        body = bytes(refusal.body)
        close = b"connection: close\r\n"
        # (keep the connection open, the request is a HEAD) -> the bytes to write
        self.responses = {
            (True, False): head + b"\r\n" + body,
            (True, True): head + b"\r\n",
            (False, False): head + close + b"\r\n" + body,
            (False, True): head + close + b"\r\n",
        }
        # Stands in for the request/response cycle of a request refused on its head: answered
        # already, so uvicorn's parser callbacks drop the body that follows.
        self.answered = stand_in_cycle(answered=True)

    def admits(self, cost: int) -> bool:
        # A request dearer than the whole limit is still taken on by an idle worker.
        return self.load + cost <= self.limit or self.load == 0


def stand_in_cycle(answered: bool) -> RequestResponseCycle:
    """What uvicorn's parser callbacks and shutdown read of a request's cycle, for a request
    that never reaches the app: refused on its head (answered), or held (not yet)."""
    cycle = RequestResponseCycle.__new__(RequestResponseCycle)
    cycle.response_complete, cycle.disconnected = answered, False
    cycle.keep_alive = True  # uvicorn's graceful shutdown sets it false
    cycle.body, cycle.more_body, cycle.message_event = bytearray(), True, asyncio.Event()
    return cycle


class SheddingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, deciding on each request's head whether to run the app.

    A refused request's body still goes through the parser (so the next request on the
    connection is read from the right place) but is dropped as it arrives, as uvicorn drops
    the rest of any request answered early; the connection stays open. It is closed instead
    when the client asked for that (Connection: close, HTTP/1.0), and when the client sent
    `Expect: 100-continue`: such a client may never send the body it announced, so what
    arrives next could not be told apart from it."""

    admission: Admission  # one per worker process: see server_options
    # Loop time until which this connection's last refusal asked it to wait (0: none pending).
    _retry_at = 0.0
    _hold: asyncio.TimerHandle | None = None

    def on_headers_complete(self) -> None:
        admission = self.admission
        url = self.url
        if (
            admission.load >= admission.limit - EXPLAINED_COST + 1  # else the cost decides
            and (self.cycle is None or self.cycle.response_complete)  # else a pipelined request
            and url[:1] == b"/"  # else an absolute or odd target: uvicorn's scope decides
            and b"%" not in url
            and not self.parser.should_upgrade()
        ):
            path, _, query = url.partition(b"?")
            if path not in admission.exempt_raw and not admission.admits(EXPLAINED_COST if explained(query) else 1):
                # Decided before uvicorn builds the request's scope and cycle: most of a
                # flooded worker's requests end here.
                keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
                keep_alive = keep_alive and not self.expect_100_continue
                head = self.parser.get_method() == b"HEAD"
                if keep_alive and self.loop.time() < self._retry_at:
                    self._hold_refusal(head)
                else:
                    self.cycle = admission.answered
                    self._refuse(keep_alive, head)
                return
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        admission = self.admission
        scope = cycle.scope
        if scope["path"] in admission.exempt:
            super()._start_asgi_task(cycle, app)
            return
        cost = EXPLAINED_COST if explained(scope["query_string"]) else 1
        if admission.admits(cost):
            # One event loop per worker: the bookkeeping needs no lock.
            admission.load += cost
            super()._start_asgi_task(cycle, _counted(app, admission, cost))
        else:  # a pipelined request, or one whose target needed uvicorn's parsing
            cycle.response_started = cycle.response_complete = True
            keep_alive = cycle.keep_alive and not cycle.waiting_for_100_continue
            self._refuse(keep_alive, scope["method"] == "HEAD")

    def _refuse(self, keep_alive: bool, head: bool, held: bool = False) -> None:
        count("RequestsShed")
        self.transport.write(self.admission.responses[keep_alive, head])
        if keep_alive:
            # After a held refusal the next request is judged afresh.
            self._retry_at = 0.0 if held else self.loop.time() + RETRY_AFTER_S
            self.on_response_complete()
        else:
            self.transport.close()

    def _hold_refusal(self, head: bool) -> None:
        """Refuse the request when the connection's Retry-After is up. Meanwhile nothing more
        is read (what arrived of its body is dropped with it), and a request pipelined behind
        it waits in uvicorn's pipeline to be judged once the refusal is written."""
        held = self.cycle = stand_in_cycle(answered=False)
        self.flow.pause_reading()
        count("RetriesHeld")
        self._hold = self.loop.call_at(self._retry_at, self._answer_held, held, head)

    def _answer_held(self, held: RequestResponseCycle, head: bool) -> None:
        self._hold = None
        held.response_complete = True  # the parser drops what is left of its body
        if not self.transport.is_closing():
            self._refuse(held.keep_alive, head, held=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        # The timer below may have been started by the end of a refused request's body that
        # arrived with this request's first bytes: this request is not idle time.
        self._unset_keepalive_if_required()
        super().on_message_begin()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # A request answered before its body ended: the body's arrival stopped the keep-alive
        # timer that the answer started, so it starts again now that the body is over.
        if (
            self.cycle.response_complete
            and not self.pipeline
            and self.timeout_keep_alive_task is None
            and not self.transport.is_closing()
        ):
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )


def _counted(app: _App, admission: Admission, cost: int) -> _App:
    async def run(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            admission.load -= cost

    return run
