"""A request's correlation id in, its log line and request metrics out, without an ASGI app.

RequestContext (the app's middleware) and the Lambda handler's light path (lambda_app.gateway)
both go through these functions, so a request is logged and counted the same way whichever
answers it, and a process has exactly one cold start between them.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambda_app.telemetry import count, logger, observe, publish

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_cold = True


def incoming_id(event: Mapping[str, Any] | None, headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The API Gateway request id on Lambda; otherwise the caller's X-Request-Id if it is
    a sane token (it ends up in logs), else a new one."""
    gateway_id = ((event or {}).get("requestContext") or {}).get("requestId")
    if gateway_id:
        return str(gateway_id)
    for name, value in headers:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID


def first_request() -> bool:
    """True for the process's first request (its cold start), False ever after."""
    global _cold
    cold, _cold = _cold, False
    return cold


@dataclass(frozen=True, slots=True)
class Seen:
    """A request as it came in: its id, method and (ASGI) path, when it started, whether it was
    the cold start."""

    rid: str
    method: str
    path: str
    started: float  # time.perf_counter()
    cold: bool


def request_done(seen: Seen, status: int, *, publish_now: bool) -> None:
    """The request's log line (INFO when it failed or was the cold start, DEBUG otherwise; see
    RequestContext), its metrics, and on Lambda the invocation's metrics document."""
    elapsed_ms = (time.perf_counter() - seen.started) * 1000
    rid, method, path, cold = seen.rid, seen.method, seen.path, seen.cold
    level = logging.INFO if status >= 400 or cold else logging.DEBUG
    if logger.log_level <= level:
        fields = {
            "request_id": rid,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(elapsed_ms, 2),
            "cold_start": cold,
        }
        # As a format argument: Powertools tries a bare message string as JSON first,
        # and a failed parse on every line is wasted work.
        (logger.info if level == logging.INFO else logger.debug)("%s", "request", extra=fields)
    if path.startswith("/v1/"):
        observe("Latency", elapsed_ms, MetricUnit.Milliseconds)
        if status >= 500:
            count("ServerErrors")
        elif status >= 400:
            count("ClientErrors")
    if cold:
        count("ColdStart")
    if publish_now:
        publish()
