"""Overload shedding: past a worker's in-flight limit, requests are refused at once, not queued."""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from lambda_app.api.problems import problem_response
from lambda_app.telemetry import count

# Retry-After takes whole seconds: one is the shortest wait it can ask for, and a burst that
# overloads a worker has usually passed by then.
RETRY_AFTER_S = 1
# A load balancer's health check must pass while the task is merely busy: were it shed, the
# load balancer would mark a loaded but healthy task unhealthy and ECS would replace it,
# taking capacity away exactly when it is short. Both routes are cheap (/ready scores one
# canary applicant), so they are neither counted nor shed.
EXEMPT = frozenset({"/health", "/ready"})


class LoadShed:
    """Pure ASGI middleware: at most `max_in_flight` requests at once in this worker; any
    more are answered 503 with a problem document and Retry-After straight away, without
    reading their bodies, and counted in the RequestsShed metric.

    A queued request is worse than a refused one: behind a load balancer the client can
    retry later or elsewhere, while queueing makes every request slow, the accepted ones
    included, until clients time out. On Lambda each environment gets one request per
    invocation, so there is nothing to shed.

    The refusal is rendered once, here: under overload it is most of what a worker does, so
    it must cost next to nothing. Hence no `instance` and no request id in it (shed requests
    are not logged one by one either, for the same reason; RequestsShed counts them)."""

    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        refusal = problem_response(
            None,
            503,
            f"The service is at capacity ({max_in_flight} requests in progress); retry after {RETRY_AFTER_S} s.",
            headers={"retry-after": str(RETRY_AFTER_S)},
        )
        self._headers = refusal.raw_headers
        self._body = bytes(refusal.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "aws.event" in scope or get_route_path(scope) in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            count("RequestsShed")
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": self._body})
            return
        # One event loop per worker: the counter needs no lock.
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
