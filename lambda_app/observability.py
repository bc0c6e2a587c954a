"""Structured logs and CloudWatch EMF metrics (aws-lambda-powertools).

Applicant data is personal data: nothing here logs request bodies or applicant fields,
only a request id, the route, the outcome and timings.

Metrics are gathered in memory and written as one EMF document per window rather than
one per request: a server worker writes its window every `metrics_interval_s` (and at
shutdown); on Lambda the window is one invocation, since a frozen environment may never
run again. Counts are summed over the window; latencies and batch sizes keep every
value, so CloudWatch's percentiles are unchanged. Writing per request through
Powertools' add_metric and flush_metrics cost a fifth of a warm score's time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import defaultdict
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


# EMF allows at most 100 values for a metric in one document.
_EMF_VALUES = 100
_counts: defaultdict[str, float] = defaultdict(float)
_values: defaultdict[tuple[str, str], list[float]] = defaultdict(list)


def count(name: str, n: float = 1) -> None:
    """A count, summed over the window (ScoresServed, ClientErrors, ...)."""
    _counts[name] += n


def observe(name: str, value: float, unit: MetricUnit) -> None:
    """A measurement whose distribution matters (Latency, BatchSize): every value is kept."""
    _values[name, unit.value].append(float(value))


def publish() -> None:
    """Write the window's metrics as CloudWatch EMF (on stdout, as Powertools does) and start
    a new window. Counts go in the first document, values 100 to a document."""
    counts = {name: total for name, total in _counts.items() if total}
    pending = {key: observed for key, observed in _values.items() if observed}
    _counts.clear()
    _values.clear()
    while counts or pending:
        metric_set = {name: _metric(MetricUnit.Count.value, [total]) for name, total in counts.items()}
        counts = {}
        for (name, unit), observed in list(pending.items()):
            metric_set[name] = _metric(unit, observed[:_EMF_VALUES])
            if len(observed) > _EMF_VALUES:
                pending[name, unit] = observed[_EMF_VALUES:]
            else:
                del pending[name, unit]
        print(json.dumps(metrics.serialize_metric_set(metrics=metric_set), separators=(",", ":")))


def _metric(unit: str, values: list[float]) -> dict[str, Any]:
    return {"Unit": unit, "StorageResolution": 60, "Value": values}


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
    succeeded (LOG_LEVEL=DEBUG shows every request). A line per success cost a sixth of
    the service's time per score, and CloudWatch Logs charges for every one; what it held
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
        _request_id.set(rid)  # lambda_app.problems puts it in every problem and error log
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
                # and the failed parse was a fifth of the cost of the line.
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
