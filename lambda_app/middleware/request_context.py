"""Per-request context: a correlation id in, a log line and request metrics out."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lambda_app import telemetry
from lambda_app.middleware.request_log import Seen, first_request, incoming_id, request_done


class RequestContext:
    """Pure ASGI middleware: correlation id in, metrics and a log line out per request
    (lambda_app.middleware.request_log, shared with the Lambda light path).

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
        cold = first_request()
        rid = incoming_id(scope.get("aws.event"), scope.get("headers", ()))
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
            seen = Seen(rid, scope["method"], scope["path"], started, cold)
            request_done(seen, status, publish_now=self.publish_each_request)
