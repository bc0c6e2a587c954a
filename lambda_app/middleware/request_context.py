"""Per-request context: a correlation id in, a log line and request metrics out."""

from __future__ import annotations

import logging
import os
import re
import time

from aws_lambda_powertools.metrics import MetricUnit
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app import telemetry
from lambda_app.telemetry import count, logger, observe, publish

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_cold = True


def _incoming_id(scope: Scope) -> str:
    """The API Gateway request id on Lambda; otherwise the caller's X-Request-Id if it is
    a sane token (it ends up in logs), else a new one."""
    event = scope.get("aws.event") or {}
    gateway_id = (event.get("requestContext") or {}).get("requestId")
    if gateway_id:
        return str(gateway_id)
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID


class RequestContext:
    """Pure ASGI middleware: correlation id in, metrics and a log line out per request.

    Every request is counted and timed in the metrics. Its log line is written at INFO when
    the request failed (status 400 and up) or was a process's first, and at DEBUG when it
    succeeded (LOG_LEVEL=DEBUG shows every request). A line per success was a visible share
    of the service's time per score, and CloudWatch Logs charges for every one; what it held
    (id, route, status, latency) is in the metrics and, on Lambda, in API Gateway's access
    log (template.yaml, ApiAccessLogGroup)."""

    def __init__(self, app: ASGIApp, publish_each_request: bool) -> None:
        self.app = app
        # On Lambda each invocation is a metrics window; a server publishes on a timer.
        self.publish_each_request = publish_each_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        global _cold
        cold, _cold = _cold, False
        rid = _incoming_id(scope)
        telemetry.set_request_id(rid)  # lambda_app.api.problems puts it in every problem and error log
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            level = logging.INFO if status >= 400 or cold else logging.DEBUG
            if logger.log_level <= level:
                fields = {
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "latency_ms": round(elapsed_ms, 2),
                    "cold_start": cold,
                }
                # As a format argument: Powertools tries a bare message string as JSON first,
                # and a failed parse on every line is wasted work.
                (logger.info if level == logging.INFO else logger.debug)("%s", "request", extra=fields)
            if scope["path"].startswith("/v1/"):
                observe("Latency", elapsed_ms, MetricUnit.Milliseconds)
                if status >= 500:
                    count("ServerErrors")
                elif status >= 400:
                    count("ClientErrors")
            if cold:
                count("ColdStart")
            if self.publish_each_request:
                publish()
