"""Structured logs, CloudWatch EMF metrics and X-Ray hooks (aws-lambda-powertools).

Applicant data is personal data: nothing here logs request bodies or applicant fields,
only a request id, the route, the outcome and timings.
"""

from __future__ import annotations

import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SERVICE = "loan-risk"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="LoanRisk", service=SERVICE)

_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_cold = True


def request_id() -> str:
    return _request_id.get()


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


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
    return uuid.uuid4().hex


class RequestContext:
    """Pure ASGI middleware: correlation id in, one log line and metrics out per request."""

    def __init__(self, app: ASGIApp, flush_metrics: bool = True) -> None:
        self.app = app
        # On Lambda the handler's decorator flushes once per invocation instead.
        self.flush_metrics = flush_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        global _cold
        cold, _cold = _cold, False
        rid = _incoming_id(scope)
        _request_id.set(rid)
        logger.thread_safe_append_keys(request_id=rid)
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
            fields: dict[str, Any] = {
                "request_id": rid,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "latency_ms": round(elapsed_ms, 2),
                "cold_start": cold,
            }
            # As a format argument: Powertools tries a bare message string as JSON first,
            # and the failed parse was a fifth of the cost of the line.
            logger.info("%s", "request", extra=fields)
            if scope["path"].startswith("/v1/"):
                count("Latency", elapsed_ms, MetricUnit.Milliseconds)
                if status >= 500:
                    count("ServerErrors")
                elif status >= 400:
                    count("ClientErrors")
            if cold:
                count("ColdStart")
            if self.flush_metrics and metrics.metric_set:
                metrics.flush_metrics()
