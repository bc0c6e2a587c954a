"""X-Ray tracing of Lambda invocations: a `## handler` subsegment per sampled one, sent to the daemon.

What Powertools' Tracer sent for this handler (auto_patch off, no response captured), without
the X-Ray SDK: importing the SDK builds two botocore X-Ray clients for centralized sampling
(reading botocore's endpoint data), the largest single cost of a cold start, and on Lambda
that sampler is never used: Lambda decides which invocations are sampled and says so in
each invocation's trace header. So the handler sends the subsegment itself, as the SDK does:
one UDP datagram to the daemon (the X-Ray daemon protocol), never failing an invocation.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])

_HEADER = b'{"format": "json", "version": 1}\n'
_DEFAULT_DAEMON = "127.0.0.1:2000"


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str
    sampled: bool


def parse_trace_header(header: str) -> TraceHeader | None:
    """`Root=1-...;Parent=...;Sampled=1` (Lambda's _X_AMZN_TRACE_ID), or None without a root."""
    fields = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    if not fields.get("Root"):
        return None
    return TraceHeader(fields["Root"], fields.get("Parent", ""), fields.get("Sampled") == "1")


def daemon_address(value: str) -> tuple[str, int]:
    """AWS_XRAY_DAEMON_ADDRESS: `host:port`, or `tcp:host:port udp:host:port` (segments go by UDP)."""
    parts = value.split()
    chosen = next((p.removeprefix("udp:") for p in parts if p.startswith("udp:")), parts[0] if parts else "")
    host, _, port = (chosen or _DEFAULT_DAEMON).rpartition(":")
    return host, int(port)


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """On Lambda (not in SAM's or Chalice's local emulators) unless POWERTOOLS_TRACE_DISABLED:
    where Powertools' Tracer is on."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on"):
        return False
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not (
        environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    )


def subsegment(
    trace: TraceHeader, name: str, started: float, ended: float, annotations: Mapping[str, Any], error: str | None
) -> dict[str, Any]:
    """The subsegment document. On an error only its type is recorded: a message may quote
    an applicant's fields, which are personal data."""
    doc: dict[str, Any] = {
        "type": "subsegment",
        "id": os.urandom(8).hex(),
        "trace_id": trace.root,
        "parent_id": trace.parent,
        "name": name,
        "start_time": started,
        "end_time": ended,
        "annotations": dict(annotations),
    }
    if error is not None:
        doc["fault"] = True
        doc["cause"] = {"exceptions": [{"id": os.urandom(8).hex(), "type": error}]}
    return doc


class Tracer:
    def __init__(self, service: str, environ: Mapping[str, str] = os.environ) -> None:
        self.service = service
        self.disabled = not tracing_enabled(environ)
        self._environ = environ
        self._cold = True
        self._socket: socket.socket | None = None

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """The handler, timed in a `## <name>` subsegment annotated ColdStart and Service
        whenever the invocation is sampled."""
        if self.disabled:
            return handler
        name = f"## {handler.__name__}"

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            cold, self._cold = self._cold, False
            # Lambda's runtime sets the invocation's header in the environment before each call.
            trace = parse_trace_header(self._environ.get("_X_AMZN_TRACE_ID", ""))
            if trace is None or not trace.sampled:
                return handler(event, context)
            started, error = time.time(), None
            try:
                return handler(event, context)
            except Exception as e:
                error = type(e).__name__
                raise
            finally:
                annotations = {"ColdStart": cold, "Service": self.service}
                self._send(subsegment(trace, name, started, time.time(), annotations, error))

        return traced  # type: ignore[return-value]

    def _send(self, doc: Mapping[str, Any]) -> None:
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            address = daemon_address(self._environ.get("AWS_XRAY_DAEMON_ADDRESS", ""))
            self._socket.sendto(_HEADER + json.dumps(doc, separators=(",", ":")).encode(), address)
        except (OSError, ValueError):
            pass  # tracing must never fail an invocation
