"""A score straight from an API Gateway event: the app's answer, without the app.

On Lambda a cold start that went through the app imported FastAPI, Starlette and Mangum and
built the app before its first score, most of the cold start. Most invocations are scores,
and for a plain one the app's answer is already made without FastAPI's machinery: the fast
path (lambda_app.middleware.fast_path) validates the body with pydantic-core and asks the
scoring service. So the handler first offers the event here, which applies the same rules as
the middleware on the way (stage prefix, body limit, the route's dependencies, the request's
id, log line and metrics) and makes the same calls, and returns what Mangum would have
returned; the options the fast path takes (`explain`, `reasons` in their plain spellings) it
takes too. Anything else (another route, another option, an invalid body, a wrong key, an
event it does not read exactly as Mangum does) is None, and the handler gives it to the app, built on that first
request; nothing has been counted or logged for it here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from lambda_app import telemetry
from lambda_app.api.plain import Options, is_score_request, query_options
from lambda_app.api.score_answer import DECISION_HEADER, score_body
from lambda_app.core.schema import RECORD
from lambda_app.gateway.events import GatewayRequest, Headers, lambda_response, read_event
from lambda_app.middleware.content_length import declared_over
from lambda_app.middleware.request_log import Seen, first_request, incoming_id, request_done
from lambda_app.middleware.root_path import route_path, stage_prefix
from lambda_app.records.recorder import RecordsUnavailable
from lambda_app.service import ScoringService
from lambda_app.settings import Settings

_DECISION_HEADER = DECISION_HEADER.lower().encode()
# The line Mangum logs for every response it returns, kept for whoever configured its logger.
_mangum_log = logging.getLogger("mangum.http")


class PlainScores:
    def __init__(self, service: ScoringService, settings: Settings) -> None:
        self.service = service
        self.root_path = settings.root_path.rstrip("/")
        self.keys = settings.api_key_bytes
        self.max_body_bytes = settings.max_body_bytes

    def answer(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the handler returns for this event, or None when the app must answer it."""
        started = time.perf_counter()
        request = read_event(event)
        options = None if request is None else self._options(request)
        if request is None or options is None:
            return None
        try:
            applicant = RECORD.validate_json(request.body)
        except Exception:  # invalid: the route's 422 (or 400)
            return None
        rid = incoming_id(event, request.headers.items())
        telemetry.set_request_id(rid)  # records and problems carry it
        status, headers, body = self._score(applicant, options)
        if status is None:
            return None
        headers = [*headers, (b"x-request-id", rid.encode())]
        _mangum_log.info("%s %s %s", request.method, request.path, status)
        request_done(Seen(rid, request.method, request.path, started, first_request()), status, publish_now=True)
        return lambda_response(request, status, headers, body)

    def _options(self, request: GatewayRequest) -> Options | None:
        """The options of a score request the light path takes: the body limit's rules, then
        the fast path's, on the path below the stage prefix. None for anything else."""
        declared = request.headers.get(b"content-length")
        if declared_over(declared, self.max_body_bytes) or len(request.body) > self.max_body_bytes:
            return None  # the app's 413
        root = self.root_path or stage_prefix(request.event)
        content_type, key = request.headers.get(b"content-type"), request.headers.get(b"x-api-key")
        if not is_score_request(request.method, route_path(request.path, root), content_type, key, self.keys):
            return None
        return query_options(request.query)

    def _score(self, applicant: dict[str, Any], options: Options) -> tuple[int | None, Headers, bytes]:
        """The fast path's answer: a score, or the 503 of a required record that could not be
        stored; a None status for anything unexpected, which the route answers."""
        try:
            decision = self.service.score_now(
                applicant, explain=options.explain, reasons=options.reasons, channel="api"
            )
        except RecordsUnavailable as e:
            # Rare, and an answer FastAPI's response class renders: imported for it alone.
            from lambda_app.api.problems import records_unavailable

            problem = records_unavailable(None, e)
            return problem.status_code, list(problem.raw_headers), bytes(problem.body)
        except Exception:
            return None, [], b""
        body = score_body(decision, self.service.version)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if decision.decision_id is not None:
            headers.append((_DECISION_HEADER, decision.decision_id.encode()))
        return 200, headers, body
